using Siyu.Actors.Customers;

namespace Siyu.Actors.Operations;

// Events of operations. The first two come from input events (ObservedEvent: remembered for
// dedup like every input); the others are decided by OperationsDecider.Tick from the state and
// the clock. All are applied by OperationsDecider.Apply and saved with the customer's state.
// An order's service plan needs no event of its own: applying OrderRecorded starts it.

/// <summary>service_done matched an open task; <see cref="Outcome"/> is on_time or late.</summary>
public sealed record ServiceDoneRecorded(ulong OrderKey, string Task, string GuideId, string Outcome) : ObservedEvent;

/// <summary>message_sent: a guide-initiated touch, counted against the contact cap.</summary>
public sealed record GuideTouchRecorded(string GuideId, string? EventId) : ObservedEvent;

/// <summary>Decided by the clock (Tick).</summary>
public abstract record OperationsEvent : CustomerEvent;

/// <summary>A task became due and was announced (service_due) to <see cref="GuideId"/>.</summary>
public sealed record ServiceTaskFired(ulong OrderKey, string Task, string? GuideId) : OperationsEvent;

/// <summary>A task was not done by due + MissedAfter.</summary>
public sealed record ServiceTaskMissed(ulong OrderKey, string Task) : OperationsEvent;

/// <summary>The churn state moved (null: active again, nothing announced).</summary>
public sealed record ChurnRecorded(LifecycleState? State) : OperationsEvent;

public enum ReminderKind
{
    Birthday,
    Anniversary,
}

/// <summary>A birthday / anniversary reminder for the occasion on <see cref="Date"/>.</summary>
public sealed record ReminderFired(ReminderKind Kind, DateOnly Date, string? GuideId) : OperationsEvent;

public sealed record AudiencesChanged(EquatableArray<string> Entered, EquatableArray<string> Exited) : OperationsEvent;
