using Akka.Actor;

namespace Siyu.Actors.Customers;

/// <summary>What customers (and their shards) need from the node: rules, clock, where to save and publish.</summary>
public sealed record CustomerEntityOptions
{
    public CustomerRules Rules { get; init; } = CustomerRules.Default;

    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>Shards per entity type (customers and identity index); fixed for the life of a cluster.</summary>
    public int MaxShards { get; init; } = 100;

    /// <summary>Idle customers leave memory after this, so memory follows the active set, not the member base.</summary>
    public TimeSpan PassivateIdleAfter { get; init; } = TimeSpan.FromMinutes(2);

    /// <summary>How often a customer shard asks the store for customers whose next wake is due.</summary>
    public TimeSpan WakeCheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>At most this many wakes out per shard at once (a backlog after downtime does not start every customer together).</summary>
    public int MaxWakesInFlight { get; init; } = 200;

    /// <summary>A wake not answered within this is sent again.</summary>
    public TimeSpan WakeRetryAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Where states and id owners are saved (group commit) and read back; asked when a shard starts (the store opens with the node).</summary>
    public Func<Storage.Committer>? Committer { get; init; }

    public Publishing.IProfilePublisher Publisher { get; init; } = Publishing.NoProfilePublisher.Instance;

    /// <summary>Where operations notices go (profile changes, audiences, ClickHouse rows).</summary>
    public Operations.IOperationsPublisher Operations { get; init; } = Siyu.Actors.Operations.NoOperationsPublisher.Instance;

    /// <summary>The node's current campaigns (fed from siyu.campaigns); orders are attributed against it.</summary>
    public Func<Campaigns.CampaignCatalog> Campaigns { get; init; } = () => Siyu.Actors.Campaigns.CampaignCatalog.Empty;

    /// <summary>The durable profiles of the customers resident on this node, for lookups that must not wait behind ingest.</summary>
    public Lookups.ResidentProfiles Resident { get; init; } = new();

    /// <summary>The identity index shards resident on this node, for lookups.</summary>
    public Identity.ResidentIndex ResidentIndex { get; init; } = new();

    public Storage.Committer RequireCommitter() =>
        Committer?.Invoke() ?? throw new InvalidOperationException("customers need a Committer (CustomerEntityOptions.Committer)");
}

/// <summary>The regions a customer talks to, resolved when its shard starts.</summary>
public sealed record CustomerRegions(IActorRef Customers, IActorRef Identities);
