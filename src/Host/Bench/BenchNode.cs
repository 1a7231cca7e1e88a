using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Siyu.Actors.Customers;
using Siyu.Actors.Hosting;

namespace Siyu.Host.Bench;

/// <summary>
/// A single-node cluster on the embedded stack, built by the product's own extension methods
/// (WithSiyuCluster, WithSiyuPersistence, WithCustomerSharding) as the actor tests do, plus
/// the journal baseline's region when asked. Stop and start it again on the same file to
/// restart the process.
/// </summary>
public sealed class BenchNode : IAsyncDisposable
{
    private readonly IHost _host;

    private BenchNode(IHost host) => _host = host;

    public ActorSystem System => _host.Services.GetRequiredService<ActorSystem>();
    private ActorRegistry Registry => _host.Services.GetRequiredService<ActorRegistry>();
    public IActorRef Customers => Registry.Get<CustomerRegion>();
    public IActorRef Identities => Registry.Get<IdentityRegion>();
    public IActorRef Baseline => Registry.Get<JournalBaselineRegion>();

    public static async Task<BenchNode> StartAsync(JournalOptions journal, CustomerEntityOptions entity, ShardingOptions sharding, bool withBaseline, string? extraHocon = null)
    {
        var host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(SiyuAkkaConfiguration.SystemName, builder =>
            {
                builder
                    .WithSiyuCluster(new ClusterNodeOptions())
                    .ConfigureLoggers(loggers => loggers.LogLevel = Akka.Event.LogLevel.WarningLevel)
                    .WithSiyuPersistence(journal)
                    .AddHocon(PersistenceCounters.Hocon, HoconAddMode.Prepend)
                    // Only GroupCommitSnapshotStore (a what-if) reads it.
                    .AddHocon($"akka.persistence.snapshot-store.sql.bench-connection-string = \"{journal.ConnectionString}\"", HoconAddMode.Prepend)
                    .WithCustomerSharding(entity, sharding);
                if (!string.IsNullOrWhiteSpace(extraHocon))
                {
                    builder.AddHocon(extraHocon, HoconAddMode.Prepend);
                }
                if (withBaseline)
                {
                    builder.WithShardRegion<JournalBaselineRegion>("bench-journal",
                        JournalBaselineActor.PropsFor,
                        new JournalBaselineExtractor(sharding.MaxShards),
                        new ShardOptions
                        {
                            StateStoreMode = Akka.Cluster.Sharding.StateStoreMode.DData,
                            RememberEntities = false,
                            PassivateIdleEntityAfter = sharding.PassivateIdleAfter,
                        });
                }
            }))
            .Build();
        await host.StartAsync();
        var node = new BenchNode(host);
        // Sharding hands out shards only once the node is Up.
        var up = new TaskCompletionSource();
        Akka.Cluster.Cluster.Get(node.System).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(30));
        return node;
    }

    public async ValueTask DisposeAsync()
    {
        await _host.StopAsync();
        _host.Dispose();
    }
}
