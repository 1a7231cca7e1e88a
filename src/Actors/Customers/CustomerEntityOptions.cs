using Akka.Actor;

namespace Siyu.Actors.Customers;

public sealed record CustomerEntityOptions
{
    public CustomerRules Rules { get; init; } = CustomerRules.Default;

    /// <summary>
    /// How long a customer gathers events before saving its state once for all of them. Longer
    /// means fewer writes under load and a later acknowledgement; ingest's MaxInFlight must cover
    /// rate × interval.
    /// </summary>
    public TimeSpan FlushInterval { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan AskTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>The identity index region, told to repoint ids after a merge.</summary>
    public IActorRef IdentityRegion { get; init; } = ActorRefs.Nobody;

    public Publishing.IProfilePublisher Publisher { get; init; } = Publishing.NoProfilePublisher.Instance;

    public Publishing.ISalesWriter Sales { get; init; } = Publishing.NoSalesWriter.Instance;

    /// <summary>The due index region (<see cref="Operations.WakeIndexEntity"/>); Nobody: no durable wakes.</summary>
    public IActorRef Wakes { get; init; } = ActorRefs.Nobody;

    /// <summary>Buckets of the due index (<see cref="Operations.WakeIndexOptions.Buckets"/>).</summary>
    public int WakeBuckets { get; init; } = 32;

    /// <summary>Where operations notices go (profile changes, audiences, ClickHouse rows).</summary>
    public Operations.IOperationsPublisher Operations { get; init; } = Siyu.Actors.Operations.NoOperationsPublisher.Instance;

    /// <summary>The node's current campaigns (fed from siyu.campaigns); orders are attributed against it.</summary>
    public Func<Campaigns.CampaignCatalog> Campaigns { get; init; } = () => Siyu.Actors.Campaigns.CampaignCatalog.Empty;
}
