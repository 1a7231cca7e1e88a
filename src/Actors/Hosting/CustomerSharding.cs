using System.Globalization;
using Akka.Actor;
using Akka.Cluster.Hosting;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Identity;

namespace Siyu.Actors.Hosting;

/// <summary>Registry key of the customer shard region.</summary>
public sealed class CustomerRegion;

/// <summary>Registry key of the identity index shard region.</summary>
public sealed class IdentityRegion;

/// <summary>
/// One entity per shard: the entity id is the shard number, so an Akka shard holds exactly one
/// <see cref="CustomerShard"/> (or <see cref="IdentityShard"/>) and a batch for a shard is one message.
/// </summary>
public abstract class ShardPerEntityExtractor : IMessageExtractor
{
    protected abstract int? ShardOf(object message);

    public string? EntityId(object message) =>
        ShardOf(message) is { } shard ? shard.ToString(CultureInfo.InvariantCulture) : null;

    public object? EntityMessage(object message) => message;

    public string? ShardId(object message) => EntityId(message);

    public string ShardId(string entityId, object? messageHint = null) => entityId;
}

public sealed class CustomerMessageExtractor(int maxShards) : ShardPerEntityExtractor
{
    protected override int? ShardOf(object message) => message switch
    {
        ICustomerShardMessage m => m.Shard,
        ICustomerMessage m => CustomerShards.Of(m.CustomerId, maxShards),
        _ => null,
    };
}

public sealed class IdentityMessageExtractor : ShardPerEntityExtractor
{
    protected override int? ShardOf(object message) => message is IIdentityShardMessage m ? m.Shard : null;
}

public static class CustomerSharding
{
    /// <summary>
    /// The customer shards (a light actor per resident customer inside each) and the identity
    /// index shards, sharded across the cluster, and on every node a keeper that starts each
    /// customer shard now and then, so its due wakes are scanned after a restart or a rebalance.
    /// <paramref name="entity"/> must carry the node's <see cref="CustomerEntityOptions.Committer"/>.
    /// </summary>
    public static AkkaConfigurationBuilder WithCustomerSharding(this AkkaConfigurationBuilder builder, CustomerEntityOptions entity)
    {
        builder.WithShardRegion<IdentityRegion>("identity",
            (_, _, _) => id => IdentityShard.PropsFor(int.Parse(id, CultureInfo.InvariantCulture), entity.RequireCommitter(), entity.ResidentIndex),
            new IdentityMessageExtractor(),
            new ShardOptions
            {
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
                PassivateIdleEntityAfter = null,
                HandOffStopMessage = StopIdentityShard.Instance,
            });
        builder.WithShardRegion<CustomerRegion>("customer",
            (_, registry, _) => id => CustomerShard.PropsFor(int.Parse(id, CultureInfo.InvariantCulture), entity,
                new CustomerRegions(registry.Get<CustomerRegion>(), registry.Get<IdentityRegion>())),
            new CustomerMessageExtractor(entity.MaxShards),
            new ShardOptions
            {
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
                // Customer shards are never passivated as a whole; their customers are, one by one.
                PassivateIdleEntityAfter = null,
                // Rebalancing and shutdown stop a shard only after its customers' last saves.
                HandOffStopMessage = StopCustomerShard.Instance,
            });
        builder.WithActors((system, registry) =>
            system.ActorOf(Props.Create(() => new ShardKeeper(registry.Get<CustomerRegion>(), entity.MaxShards)), "shard-keeper"));
        return builder;
    }

    /// <summary>Pokes one customer shard every 50 ms in turn (100 shards: each every 5 s).</summary>
    private sealed class ShardKeeper : ReceiveActor, IWithTimers
    {
        public ITimerScheduler Timers { get; set; } = null!;

        public ShardKeeper(IActorRef customers, int shards)
        {
            var next = 0;
            Receive<string>(m => m == "stop", _ => Timers.CancelAll());
            Receive<string>(_ =>
            {
                customers.Tell(new PokeCustomerShard(next));
                next = (next + 1) % shards;
            });
            var self = Self;
            // A node that is leaving must not start shards (they would be handed off at once, or
            // buffered by a region that is stopping).
            CoordinatedShutdown.Get(Context.System).AddTask(CoordinatedShutdown.PhaseBeforeServiceUnbind, "stop-shard-keeper", () =>
            {
                self.Tell("stop");
                return Task.FromResult(Akka.Done.Instance);
            });
        }

        protected override void PreStart() =>
            // Not at once: the node's start (the first customers) comes first.
            Timers.StartPeriodicTimer("poke", "poke", TimeSpan.FromSeconds(2), TimeSpan.FromMilliseconds(50));
    }
}
