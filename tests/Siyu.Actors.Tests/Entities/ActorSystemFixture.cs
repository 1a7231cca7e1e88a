using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Hosting;
using Siyu.Actors.Identity;
using Siyu.Actors.Ingestion;
using Siyu.Actors.Operations;

namespace Siyu.Actors.Tests.Entities;

/// <summary>
/// A real single-node cluster with sharding and the SQLite journal, configured by the same
/// extension methods the product uses. Restart() stops the system and starts a new one on the
/// same database, as a process restart would.
/// </summary>
public sealed class ActorSystemFixture : IAsyncDisposable
{
    private IHost? _host;
    public string DatabasePath { get; } = Path.Combine(Path.GetTempPath(), $"siyu-actors-{Guid.NewGuid():N}.db");
    public CustomerEntityOptions Options { get; }

    private readonly JournalOptions _journal;
    private readonly ShardingOptions _sharding;

    /// <summary>The due index, as the node runs it (its clock is the customers' clock).</summary>
    public WakeIndexOptions Wakes { get; }

    public ActorSystemFixture(TimeSpan? flushInterval = null, JournalOptions? journal = null, CustomerEntityOptions? options = null,
        TimeSpan? passivateIdleAfter = null)
    {
        Options = (options ?? new CustomerEntityOptions()) with { FlushInterval = flushInterval ?? TimeSpan.FromMilliseconds(50) };
        _journal = journal ?? JournalOptions.Sqlite(DatabasePath);
        _sharding = new ShardingOptions { MaxShards = 10, PassivateIdleAfter = passivateIdleAfter ?? TimeSpan.FromMinutes(2) };
        // Snapshots every two changes, so restarts also recover the index from a snapshot.
        Wakes = new WakeIndexOptions { Buckets = Options.WakeBuckets, CheckInterval = TimeSpan.FromMilliseconds(100), Clock = Options.Clock, SnapshotEvery = 2 };
    }

    public IActorRef WakeIndex => _host!.Services.GetRequiredService<ActorRegistry>().Get<WakeRegion>();

    public ActorSystem System => _host!.Services.GetRequiredService<ActorSystem>();
    public IActorRef Customers => _host!.Services.GetRequiredService<ActorRegistry>().Get<CustomerRegion>();
    public IActorRef Identities => _host!.Services.GetRequiredService<ActorRegistry>().Get<IdentityRegion>();

    public static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(20);

    public IdentityResolver Resolver => new(Identities, Customers, Options.Rules, AskTimeout);

    public CustomerEventHandler Handler(TimeSpan? refundGrace = null) =>
        new(Resolver, Customers, AskTimeout, refundGrace ?? TimeSpan.FromMilliseconds(200));

    /// <summary>The customer that owns an id now, following merge pointers to the survivor.</summary>
    public async Task<CustomerState> CustomerOf(Contracts.Events.IdType type, string value)
    {
        var owner = await Identities.Ask<IdOwner>(new LookupId(IdKey.Of(type, value)), AskTimeout);
        Assert.NotNull(owner.Owner);
        var state = await Customers.Ask<CustomerState>(new GetCustomer(owner.Owner!), AskTimeout);
        while (state.MergedInto is { } next)
        {
            state = await Customers.Ask<CustomerState>(new GetCustomer(next), AskTimeout);
        }
        return state;
    }

    public async Task<ActorSystemFixture> StartAsync()
    {
        _host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(SiyuAkkaConfiguration.SystemName, builder => builder
                .WithSiyuCluster(new ClusterNodeOptions())
                .WithSiyuPersistence(_journal)
                .WithCustomerSharding(Options, _sharding)
                .WithWakeIndex(Wakes, _sharding.MaxShards)))
            .Build();
        await _host.StartAsync();
        // Sharding needs the node to be Up before regions hand out shards.
        var cluster = Akka.Cluster.Cluster.Get(System);
        var up = new TaskCompletionSource();
        cluster.RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30));
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
        await _host.StopAsync();
        _host.Dispose();
        _host = null;
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
