using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>
/// What the customer actor is asked to do. <see cref="At"/> is the actor's clock when it
/// handles the command (processing time): it becomes the profile's updated_at. The business
/// rules never read it for anything else; they use the events' occurred_at.
/// </summary>
public abstract record CustomerCommand(DateTimeOffset At);

/// <summary>An input event routed to this customer by the identity index.</summary>
public sealed record Observe(InputEvent Event, DateTimeOffset At) : CustomerCommand(At);

/// <summary>
/// Fold another customer into this one (contract: Identity). The caller picks this customer as
/// the survivor with <see cref="CustomerState.Survives(CustomerState, CustomerState)"/>, sends
/// the other's current state here, then sends <see cref="MarkMergedInto"/> to the other.
/// </summary>
public sealed record Absorb(CustomerState Other, DateTimeOffset At) : CustomerCommand(At);

/// <summary>
/// Before handing its state to <paramref name="SurvivorId"/>: point there and freeze the state.
/// Without it, events applied after a hand-over that a crash left unconfirmed went into a second
/// hand-over that the survivor ignored as already absorbed (orders lost in the kill -9 test).
/// </summary>
public sealed record BeginHandOver(string SurvivorId, DateTimeOffset At) : CustomerCommand(At);

/// <summary>This customer was absorbed by <paramref name="SurvivorId"/>: keep only the pointer.</summary>
public sealed record MarkMergedInto(string SurvivorId, DateTimeOffset At) : CustomerCommand(At);
