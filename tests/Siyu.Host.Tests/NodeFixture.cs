using System.Text;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Host.Configuration;
using Siyu.Host.Node;
using Siyu.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Siyu.Ingest.Handlers;
using Siyu.Sinks;

namespace Siyu.Host.Tests;

/// <summary>
/// One Siyu node in-process on an embedded broker, reached over real HTTP, with its journal in
/// <c>dir</c>. Every node of the test process shares the one chDB engine (chDB allows one per
/// process), so they all pass the same <c>chDbPath</c>.
/// </summary>
public sealed class TestNode : IAsyncDisposable
{
    private TestNode(WebApplication app, HttpClient http)
    {
        App = app;
        Http = http;
    }

    public WebApplication App { get; }
    /// <summary>A client sending the admin key (every endpoint); <see cref="Client"/> for another key or none.</summary>
    public HttpClient Http { get; }

    public HttpClient Client(string? key) => Siyu.Tests.Shared.TestApiKeys.Client(Http.BaseAddress!, key);

    /// <summary>Events the customers accepted (durably handled, rows in ClickHouse).</summary>
    public TallyingEventHandler Tally => App.Services.GetRequiredService<TallyingEventHandler>();

    public Task<SiyuSinks> Sinks => App.Services.GetRequiredService<SinkService>().Ready;

    /// <param name="overrides">Settings over the test defaults (keys as in siyu.json, e.g. <c>Kafka:MaxInFlight</c>).</param>
    /// <param name="wrapClickHouse">Wraps the node's ClickHouse engine (fault injection, <see cref="SiyuNode.Options"/>).</param>
    /// <param name="clock">The node's "now"; the real clock when null (tests whose events are placed relative to it).</param>
    public static async Task<TestNode> StartAsync(string bootstrapServers, string dir, string chDbPath,
        IReadOnlyDictionary<string, string?>? overrides = null, Func<Siyu.Sinks.ClickHouse.IClickHouse, Siyu.Sinks.ClickHouse.IClickHouse>? wrapClickHouse = null,
        TimeProvider? clock = null)
    {
        var port = Siyu.Tests.Shared.FreePort.Next();
        var values = new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = bootstrapServers,
            ["Kafka:SessionTimeoutMs"] = "6000",
            ["Privacy:PhoneHashKey"] = NodeFixture.PhoneKey,
            ["Api:Urls"] = $"http://127.0.0.1:{port}",
            ["Journal:ConnectionString"] = $"Data Source={Path.Combine(dir, "journal.db")}",
            ["ClickHouse:DataPath"] = chDbPath,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in Siyu.Tests.Shared.TestApiKeys.Settings())
        {
            values[key] = value;
        }
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }
        var configuration = SettingsLoader.Build(null, values);
        var settings = SettingsLoader.Load(configuration, embedded: false);
        var app = SiyuNode.Build(settings, configuration,
            new SiyuNode.Options(bootstrapServers, JsonLogs: false, MinimumLogLevel: LogLevel.Warning, WrapClickHouse: wrapClickHouse, Clock: clock));
        await app.StartAsync();
        return new TestNode(app, Siyu.Tests.Shared.TestApiKeys.Client(new Uri($"http://127.0.0.1:{port}")));
    }

    /// <summary>A graceful stop: ingest drains, commits and leaves the group; the sinks flush.</summary>
    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await App.StopAsync();
        await App.DisposeAsync();
    }
}

/// <summary>
/// A whole Siyu node in-process on the embedded stack, reached over real HTTP and Kafka. Its
/// clock starts at <see cref="Start"/> whatever today is: tests may give their events fixed dates
/// before it, or place them relative to <see cref="Clock"/>, never relative to the real clock.
/// </summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public const string PhoneKey = "node-tests-key-0123456789";

    /// <summary>The node's "now" when the fixture starts: Tuesday 2026-11-24 10:00 in Shanghai.</summary>
    public static readonly DateTimeOffset Start = new(2026, 11, 24, 10, 0, 0, TimeSpan.FromHours(8));

    public TimeProvider Clock { get; } = new Siyu.Tests.Shared.ShiftedClock(Start);
    private TestNode? _node;
    private readonly string _dir = Directory.CreateTempSubdirectory("siyu-node-").FullName;

    public EmbeddedKafka Broker { get; } = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 4 });
    public Topics Topics { get; } = new();
    public HttpClient Http => _node!.Http;

    /// <summary>The node itself (its services, its mapped endpoints).</summary>
    public TestNode Node => _node!;
    public IProducer<byte[]?, byte[]> Producer { get; private set; } = null!;

    /// <summary>The process's chDB data directory: other nodes of this process must use it too.</summary>
    public string ChDbPath => Path.Combine(_dir, "chdb");

    public async Task InitializeAsync()
    {
        foreach (var t in Topics.All)
        {
            Broker.CreateTopic(t);
        }
        _node = await TestNode.StartAsync(Broker.BootstrapServers, _dir, ChDbPath, clock: Clock);
        Producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = Broker.BootstrapServers }).Build();
    }

    public string JournalPath => Path.Combine(_dir, "journal.db");

    public async Task SendAsync(InputEvent evt) =>
        await Producer.ProduceAsync(Topics.Input(evt.Channel), new Message<byte[]?, byte[]>
        {
            Key = Encoding.UTF8.GetBytes(evt.Ids.All().First().Value),
            Value = EventWriter.ToUtf8Json(evt),
        });

    /// <summary>Polls until <paramref name="probe"/> holds; ingest and the actors are asynchronous.</summary>
    public static async Task<T> Eventually<T>(Func<Task<T>> probe, Func<T, bool> done, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        T last = await probe();
        while (!done(last) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(100);
            last = await probe();
        }
        return last;
    }

    public async Task DisposeAsync()
    {
        Producer.Dispose();
        if (_node is not null)
        {
            await _node.DisposeAsync();
        }
        Broker.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

/// <summary>chDB runs one engine per process, so every test class that needs a node shares this one.</summary>
[CollectionDefinition(Name)]
public sealed class NodeCollection : ICollectionFixture<NodeFixture>
{
    public const string Name = "node";
}
