using System.Text.Json.Serialization;
using Siyu.Actors.Customers;

namespace Siyu.Actors.Operations;

/// <summary>
/// A customer's private-domain operations, part of <see cref="CustomerState"/> and saved with it:
/// open service tasks, the guide touches that count against the contact cap, what was already
/// announced (churn state, reminded occasions, audiences, so nothing fires twice), and the outbox
/// of notices not yet confirmed published. Immutable; bounded (tasks by MaxOpenTasks, touches by
/// the contact window, the outbox by publication).
/// </summary>
public sealed record OperationsState
{
    public static readonly OperationsState Empty = new();

    /// <summary>Open tasks (not done, not missed), sorted by due time then order then task.</summary>
    public EquatableArray<ServiceTask> Tasks { get; init; }

    /// <summary>Guide touches (message_sent, and reminders fired) in the contact window, UTC, sorted.</summary>
    public EquatableArray<DateTime> Touches { get; init; }

    /// <summary>The churn state last announced (at_risk / lapsed); null while active or new.</summary>
    public LifecycleState? Churn { get; init; }

    /// <summary>The birthday occasion (its date this year) already reminded.</summary>
    public DateOnly? BirthdayReminded { get; init; }

    public DateOnly? AnniversaryReminded { get; init; }

    /// <summary>Audiences the customer is in, sorted.</summary>
    public EquatableArray<string> Audiences { get; init; }

    /// <summary>Notices decided but not yet confirmed published; published again after a crash (ids make that idempotent).</summary>
    public EquatableArray<OperationsNotice> Outbox { get; init; }

    [JsonIgnore]
    public bool IsEmpty => this == Empty;

    public int TouchesSince(DateTimeOffset from)
    {
        var n = 0;
        foreach (var t in Touches.AsSpan())
        {
            if (t > from.UtcDateTime)
            {
                n++;
            }
        }
        return n;
    }
}

/// <summary>
/// One after-sale task of an order. <see cref="FiredAt"/> is set when service_due was announced;
/// <see cref="GuideId"/> is then the guide it was announced to (the owning guide at that time).
/// </summary>
public readonly record struct ServiceTask(
    ulong OrderKey,
    string OrderId,
    string Task,
    DateTimeOffset DueAt,
    string? GuideId,
    DateTimeOffset? FiredAt)
{
    [JsonIgnore]
    public bool Fired => FiredAt is not null;
}

/// <summary>Kinds of <see cref="OperationsNotice"/> (the change name where it is a profile change).</summary>
public static class NoticeKinds
{
    public const string ServiceDue = "service_due";
    public const string ChurnRisk = "churn_risk";
    public const string BirthdayReminder = "birthday_reminder";
    public const string AnniversaryReminder = "anniversary_reminder";
    /// <summary>A task closed: done on time, late, or missed (a ClickHouse row, not a change event).</summary>
    public const string ServiceOutcome = "service_outcome";
    /// <summary>
    /// A guide-initiated touch (message_sent), a ClickHouse row with the count in the window as
    /// known when it was processed (events of one customer may arrive out of order; the
    /// dashboard recounts from the touches themselves).
    /// </summary>
    public const string GuideTouch = "guide_touch";
    /// <summary>entered / exited an audience (siyu.audiences).</summary>
    public const string Audience = "audience";

    public static bool IsProfileChange(string kind) => kind is ServiceDue or ChurnRisk or BirthdayReminder or AnniversaryReminder;
}

public static class ServiceOutcomes
{
    public const string OnTime = "on_time";
    public const string Late = "late";
    public const string Missed = "missed";
}

/// <summary>
/// Something operations decided that others must hear of, kept in the outbox until published.
/// <see cref="Id"/> is deterministic (customer, kind, what it is about), so a notice published
/// twice after a crash is recognisable downstream.
/// </summary>
public sealed record OperationsNotice
{
    public required string Id { get; init; }
    public required string Kind { get; init; }
    public required DateTimeOffset At { get; init; }
    public string? Task { get; init; }
    public string? OrderId { get; init; }
    public DateTimeOffset? DueAt { get; init; }
    public string? GuideId { get; init; }
    public string? Outcome { get; init; }
    public DateTimeOffset? DoneAt { get; init; }
    public string? State { get; init; }
    public string? PreviousState { get; init; }
    public DateOnly? Date { get; init; }
    public int? DaysBefore { get; init; }
    public string? Audience { get; init; }
    /// <summary>entered / exited for an audience notice.</summary>
    public string? Change { get; init; }
    public int? TouchesInWindow { get; init; }
    public int? ContactCap { get; init; }
}
