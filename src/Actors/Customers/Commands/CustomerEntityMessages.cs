using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers.Commands;

/// <summary>Every message for a customer entity names it, so sharding can route it.</summary>
public interface ICustomerMessage
{
    string CustomerId { get; }
}

/// <summary>
/// Apply an input event. Answered with <see cref="EventAccepted"/> once the state that covers
/// the event is durable (only then may ingest commit its offset), or with a Status.Failure.
/// </summary>
public sealed record ObserveEvent(string CustomerId, InputEvent Event) : ICustomerMessage;

public sealed record EventAccepted(string CustomerId, string EventId, IReadOnlyList<CustomerNotice> Notices);

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

/// <summary>Stops the entity after a final flush (sharding's hand-off and passivation message).</summary>
public sealed record StopCustomer
{
    public static readonly StopCustomer Instance = new();
}
