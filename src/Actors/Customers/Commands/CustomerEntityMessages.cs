using Akka.Actor;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers.Commands;

/// <summary>A message for one customer: the customer region routes it to that customer's shard.</summary>
public interface ICustomerMessage
{
    string CustomerId { get; }
}

/// <summary>A message for a whole customer shard (<see cref="CustomerShards.Of"/>).</summary>
public interface ICustomerShardMessage
{
    int Shard { get; }
}

/// <summary>
/// The events of one ingest batch that belong to the customers of one shard: one message per
/// shard per batch instead of one ask per event. Each item is answered on its own with an
/// <see cref="EventOutcome"/> sent to <paramref name="ReplyTo"/>, once the state covering it is
/// durable (so ingest can commit its offset) or it failed.
/// </summary>
public sealed record CustomerBatch(int Shard, IActorRef ReplyTo, IReadOnlyList<BatchItem> Items) : ICustomerShardMessage;

/// <param name="Ticket">Ingest's handle of the event, echoed in its outcome.</param>
/// <param name="MaybeSeen">
/// The event may have been applied before a crash or by another node (a redelivery after a
/// restart or rebalance, or a retry): the rows it yields are checked against the ClickHouse
/// tables before they are inserted. Rows of first deliveries are not (no SELECT per insert).
/// </param>
public sealed record BatchItem(long Ticket, string CustomerId, InputEvent Event, bool MaybeSeen);

public enum OutcomeKind
{
    /// <summary>Applied (or recognised as a duplicate) and durable.</summary>
    Accepted,

    /// <summary>Not applied and never will be: dead-letter it (<see cref="EventOutcome.Reason"/>).</summary>
    Rejected,

    /// <summary>A refund whose order this customer does not (yet) hold; ingest waits and asks once more.</summary>
    RefundUnmatched,

    /// <summary>Not durable this time (a failed save, a customer being erased): retry later.</summary>
    Failed,

    /// <summary>The customer was erased: its ids are free again, so the event must be resolved anew.</summary>
    Unknown,
}

/// <summary>The answer to one <see cref="BatchItem"/>: which customer took it and how.</summary>
public sealed record EventOutcome(long Ticket, string CustomerId, OutcomeKind Kind, string? Reason = null, string? Detail = null)
{
    public static EventOutcome Accepted(long ticket, string customerId) => new(ticket, customerId, OutcomeKind.Accepted);
}

/// <summary>Merge protocol, step 1: the absorbed customer hands its state to the survivor. Answered with <see cref="CustomerAbsorbedReply"/> once durable.</summary>
public sealed record AbsorbCustomer(string CustomerId, CustomerState Other) : ICustomerMessage;

public sealed record CustomerAbsorbedReply(string CustomerId, string AbsorbedId);

/// <summary>Merge protocol, driven by the identity resolver: fold yourself into <paramref name="SurvivorId"/>. Answered with <see cref="MergedReply"/>.</summary>
public sealed record MergeInto(string CustomerId, string SurvivorId) : ICustomerMessage;

/// <summary><paramref name="MergedInto"/> is where the customer now lives (the survivor, or an older one it had already merged into).</summary>
public sealed record MergedReply(string CustomerId, string MergedInto);

/// <summary>
/// PIPL erasure: the saved state, the identity index entries and the published profile go
/// (tombstone). Answered with <see cref="CustomerErased"/> (Found false for an unknown customer).
/// </summary>
public sealed record EraseCustomer(string CustomerId) : ICustomerMessage;

public sealed record CustomerErased(string CustomerId, bool Found);

/// <summary>
/// Sent by an erased customer to each customer merged into it (<paramref name="SurvivorId"/> is the
/// erased one): the pointer, its published profile and its changes go too. Answered with
/// <see cref="CustomerErased"/> once the pointer is a tombstone (Found false when it is no pointer).
/// </summary>
public sealed record EraseAbsorbed(string CustomerId, string SurvivorId) : ICustomerMessage;

/// <summary>Sharding's hand-off and stop message for a customer shard: everything dirty is saved first.</summary>
public sealed record StopCustomerShard
{
    public static readonly StopCustomerShard Instance = new();
}

/// <summary>Starts a customer shard that is not running (after a restart or a rebalance), so its due wakes are scanned; no answer.</summary>
public sealed record PokeCustomerShard(int Shard) : ICustomerShardMessage;

/// <summary>Which shard a customer lives in: FNV-1a of the id, stable across processes and versions (string.GetHashCode is not).</summary>
public static class CustomerShards
{
    public static int Of(string customerId, int shards)
    {
        var h = 2166136261u;
        foreach (var c in customerId)
        {
            h = (h ^ c) * 16777619u;
        }
        return (int)(h % (uint)shards);
    }
}
