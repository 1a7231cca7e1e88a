using Akka.Cluster.Hosting;
using Akka.Actor;
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

public sealed class CustomerMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => message switch
    {
        ICustomerMessage m => m.CustomerId,
        _ => null, // StartEntity is handled by the base class
    };
}

public sealed class IdentityMessageExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => message switch
    {
        IIdentityMessage m => m.Key,
        _ => null,
    };
}

public sealed record ShardingOptions
{
    /// <summary>Fixed for the life of a cluster: about ten times the most nodes it will ever have.</summary>
    public int MaxShards { get; init; } = 100;

    /// <summary>Idle customers leave memory after this, so memory follows the active set, not the member base.</summary>
    public TimeSpan PassivateIdleAfter { get; init; } = TimeSpan.FromMinutes(2);
}

public static class CustomerSharding
{
    /// <summary>One entity per customer and one per identifier value, sharded across the cluster.</summary>
    public static AkkaConfigurationBuilder WithCustomerSharding(this AkkaConfigurationBuilder builder,
        CustomerEntityOptions entity, ShardingOptions sharding)
    {
        builder.WithShardRegion<IdentityRegion>("identity",
            (_, _, _) => key => IdentityEntity.PropsFor(key),
            new IdentityMessageExtractor(sharding.MaxShards),
            new ShardOptions
            {
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
                PassivateIdleEntityAfter = sharding.PassivateIdleAfter,
            });
        builder.WithShardRegion<CustomerRegion>("customer",
            (_, registry, _) => id => CustomerActor.PropsFor(id,
                entity with
                {
                    IdentityRegion = registry.Get<IdentityRegion>(),
                    Wakes = registry.TryGet<Siyu.Actors.Operations.WakeRegion>(out var wakes) ? wakes : ActorRefs.Nobody,
                },
                registry.Get<CustomerRegion>()),
            new CustomerMessageExtractor(sharding.MaxShards),
            new ShardOptions
            {
                StateStoreMode = StateStoreMode.DData,
                RememberEntities = false,
                PassivateIdleEntityAfter = sharding.PassivateIdleAfter,
                // Passivation and rebalancing stop a customer only after its last save.
                HandOffStopMessage = StopCustomer.Instance,
            });
        return builder;
    }
}
