using System.Text;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Host.Configuration;
using Siyu.Host.Node;
using Siyu.Kafka;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Logging;

namespace Siyu.Host.Tests;

/// <summary>A whole Siyu node in-process on the embedded stack, reached over real HTTP and Kafka.</summary>
public sealed class NodeFixture : IAsyncLifetime
{
    public const string PhoneKey = "node-tests-key-0123456789";
    private WebApplication? _app;
    private readonly string _dir = Directory.CreateTempSubdirectory("siyu-node-").FullName;

    public EmbeddedKafka Broker { get; } = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 4 });
    public Topics Topics { get; } = new();
    public HttpClient Http { get; private set; } = null!;
    public IProducer<byte[]?, byte[]> Producer { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        foreach (var t in Topics.All)
        {
            Broker.CreateTopic(t);
        }
        var port = Siyu.Tests.Shared.FreePort.Next();
        var configuration = SettingsLoader.Build(null, new Dictionary<string, string?>
        {
            ["Kafka:BootstrapServers"] = Broker.BootstrapServers,
            ["Kafka:SessionTimeoutMs"] = "6000",
            ["Privacy:PhoneHashKey"] = PhoneKey,
            ["Api:Urls"] = $"http://127.0.0.1:{port}",
            ["Journal:ConnectionString"] = $"Data Source={Path.Combine(_dir, "journal.db")}",
            ["Customers:FlushIntervalMs"] = "20",
            ["ClickHouse:DataPath"] = Path.Combine(_dir, "chdb"),
            ["Logging:LogLevel:Default"] = "Warning",
        });
        var settings = SettingsLoader.Load(configuration, embedded: false);
        _app = SiyuNode.Build(settings, configuration, new SiyuNode.Options(Broker.BootstrapServers, JsonLogs: false, MinimumLogLevel: LogLevel.Warning));
        await _app.StartAsync();
        Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
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
        Http.Dispose();
        Producer.Dispose();
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
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
