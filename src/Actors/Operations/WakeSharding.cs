using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Siyu.Actors.Hosting;

namespace Siyu.Actors.Operations;

/// <summary>Registry key of the due index shard region.</summary>
public sealed class WakeRegion;

public sealed class WakeMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => message switch
    {
        IWakeMessage m => m.Bucket.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };
}

public static class WakeSharding
{
    /// <summary>
    /// The due index (<see cref="WakeIndexEntity"/>), one entity per bucket, sharded like the
    /// customers, and on every node a keeper that pokes one bucket every 100 ms in turn so that
    /// buckets run again soon after a restart or a rebalance (they are never passivated).
    /// Customers find the region through the registry (<see cref="CustomerEntityOptions.Wakes"/>).
    /// </summary>
    public static AkkaConfigurationBuilder WithWakeIndex(this AkkaConfigurationBuilder builder, WakeIndexOptions options, int maxShards)
    {
        builder.WithShardRegion<WakeRegion>("wake-index",
            (_, registry, _) => bucket => WakeIndexEntity.PropsFor(int.Parse(bucket, System.Globalization.CultureInfo.InvariantCulture), options, registry.Get<CustomerRegion>()),
            new WakeMessageExtractor(maxShards),
            new ShardOptions
            {
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
                PassivateIdleEntityAfter = null,
            });
        builder.WithActors((system, registry) =>
            system.ActorOf(Props.Create(() => new WakeKeeper(registry.Get<WakeRegion>(), options.Buckets)), "wake-keeper"));
        return builder;
    }

    private sealed class WakeKeeper : ReceiveActor, IWithTimers
    {
        public ITimerScheduler Timers { get; set; } = null!;

        public WakeKeeper(IActorRef wakes, int buckets)
        {
            // One bucket per tick (each recovers from the journal when it starts), so a node start
            // does not put every bucket's recovery on the journal at once.
            var next = 0;
            Receive<string>(_ =>
            {
                wakes.Tell(new PokeWakeBucket(next));
                next = (next + 1) % buckets;
            });
        }

        protected override void PreStart()
        {
            // Not at once: the node's start (journal tables, the first customers) comes first.
            Timers.StartPeriodicTimer("poke", "poke", TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(100));
        }
    }
}
