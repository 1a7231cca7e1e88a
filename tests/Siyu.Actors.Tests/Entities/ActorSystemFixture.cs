using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Hosting;
using Siyu.Actors.Identity;
using Siyu.Actors.Ingestion;
using Siyu.Actors.Lookups;
using Siyu.Actors.Publishing;
using Siyu.Actors.Storage;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Entities;

/// <summary>
/// A real single-node cluster with sharding and the SQLite store (or PostgreSQL), configured by
/// the same extension methods the product uses. RestartAsync() stops the system and starts a new
/// one on the same database, as a process restart would.
/// </summary>
public sealed class ActorSystemFixture : IAsyncDisposable
{
    private IHost? _host;
    private CustomerStore? _store;
    private Committer? _committer;
    private CustomerEventHandler? _handler;
    private readonly JournalOptions _journal;
    private readonly ISalesWriter _sales;
    private readonly TimeSpan _passivateIdleAfter;
    private readonly CustomerEntityOptions _options;

    public string DatabasePath { get; } = Path.Combine(Path.GetTempPath(), $"siyu-actors-{Guid.NewGuid():N}.db");

    public ActorSystemFixture(JournalOptions? journal = null, CustomerEntityOptions? options = null, TimeSpan? passivateIdleAfter = null, ISalesWriter? sales = null)
    {
        _journal = journal ?? JournalOptions.Sqlite(DatabasePath);
        _options = options ?? new CustomerEntityOptions();
        _sales = sales ?? NoSalesWriter.Instance;
        _passivateIdleAfter = passivateIdleAfter ?? TimeSpan.FromMinutes(2);
    }

    public const int MaxShards = 10;

    /// <summary>The options the customers run with (rules, clock, where they publish), as of the last start.</summary>
    public CustomerEntityOptions Options { get; private set; } = new();

    public ActorSystem System => _host!.Services.GetRequiredService<ActorSystem>();
    public IActorRef Customers => _host!.Services.GetRequiredService<ActorRegistry>().Get<CustomerRegion>();
    public IActorRef Identities => _host!.Services.GetRequiredService<ActorRegistry>().Get<IdentityRegion>();
    public CustomerStore Store => _store!;
    public Committer Committer => _committer!;

    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(20);

    public IdentityResolver Resolver { get; private set; } = null!;

    public CustomerLookup Lookup { get; private set; } = null!;

    /// <summary>The handler ingest uses, on this system.</summary>
    public CustomerEventHandler Handler(TimeSpan? refundGrace = null) =>
        refundGrace is null && _handler is not null
            ? _handler
            : new CustomerEventHandler(Resolver, Customers, System, MaxShards, AskTimeout, refundGrace ?? TimeSpan.FromMilliseconds(200));

    /// <summary>The customer that owns an id now (durably), following merge pointers to the survivor.</summary>
    public async Task<CustomerState> CustomerOf(IdType type, string value)
    {
        var state = await Lookup.ByIdAsync(type, value, default);
        Assert.NotNull(state);
        return state!;
    }

    /// <summary>The customer region routes a single event like ingest's batches do; the outcome goes to <paramref name="replyTo"/>.</summary>
    public void Observe(string customerId, InputEvent evt, IActorRef replyTo, long ticket = 1, bool maybeSeen = false) =>
        Customers.Tell(new CustomerBatch(CustomerShards.Of(customerId, MaxShards), replyTo, [new BatchItem(ticket, customerId, evt, maybeSeen)]));

    /// <summary>The next wake saved with the customer's state (SQLite only), null when none.</summary>
    public async Task<DateTimeOffset?> NextWakeAsync(string customerId)
    {
        await using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={DatabasePath}");
        await db.OpenAsync();
        var query = new Microsoft.Data.Sqlite.SqliteCommand("SELECT next_wake FROM siyu_customers WHERE customer_id = $id", db);
        query.Parameters.AddWithValue("$id", customerId);
        return await query.ExecuteScalarAsync() is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : null;
    }

    public async Task<ActorSystemFixture> StartAsync()
    {
        // A database locked by a spec fails a save after 10 s, not the product's 30 s, which SQLite's busy
        // wait and Microsoft.Data.Sqlite's retry can double; on a loaded CI machine that outlived the specs' waits.
        _store = await CustomerStore.OpenAsync(_journal.ToStoreOptions() with { CommandTimeout = TimeSpan.FromSeconds(10) }, NullLogger.Instance, default);
        _committer = new Committer(_store, _sales, NullLogger.Instance);
        Options = _options with
        {
            MaxShards = MaxShards,
            PassivateIdleAfter = _passivateIdleAfter,
            WakeCheckInterval = TimeSpan.FromMilliseconds(100),
            Committer = () => _committer!,
            Resident = new ResidentProfiles(),
            ResidentIndex = new ResidentIndex(),
        };
        _host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(SiyuAkkaConfiguration.SystemName, builder => builder
                .WithSiyuCluster(new ClusterNodeOptions())
                .WithCustomerSharding(Options)))
            .Build();
        await _host.StartAsync();
        // Sharding needs the node to be Up before regions hand out shards.
        var cluster = Akka.Cluster.Cluster.Get(System);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30));
        Resolver = new IdentityResolver(Identities, Customers, Options.Rules, MaxShards, AskTimeout, Options.Clock);
        Lookup = new CustomerLookup(Options.ResidentIndex, Options.Resident, () => _store!, MaxShards);
        _handler = new CustomerEventHandler(Resolver, Customers, System, MaxShards, AskTimeout, TimeSpan.FromMilliseconds(200));
        return this;
    }

    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAsync();
    }

    private async Task StopAsync()
    {
        if (_host is null)
        {
            return;
        }
        _handler?.Dispose();
        await _host.StopAsync();
        _host.Dispose();
        _host = null;
        await _committer!.DisposeAsync();
        await _store!.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        foreach (var f in new[] { DatabasePath, DatabasePath + "-wal", DatabasePath + "-shm" })
        {
            File.Delete(f);
        }
    }
}
