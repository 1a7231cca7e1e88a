namespace Siyu.Sinks.Rows;

/// <summary>
/// One row of <c>siyu.operations</c> (005_operations.sql): a service task due or closed, a guide
/// touch with the contact-window count, a churn move or a reminder. Absent values are empty.
/// </summary>
public sealed record OperationsRow
{
    public required string NoticeId { get; init; }

    /// <summary>service_due, service_outcome, guide_touch, churn_risk, birthday_reminder, anniversary_reminder.</summary>
    public required string Kind { get; init; }

    public required DateTimeOffset At { get; init; }

    public required string CustomerId { get; init; }

    public string GuideId { get; init; } = "";

    public string Task { get; init; } = "";

    public string OrderId { get; init; } = "";

    public DateTimeOffset? DueAt { get; init; }

    public DateTimeOffset? DoneAt { get; init; }

    /// <summary>on_time, late or missed (service_outcome).</summary>
    public string Outcome { get; init; } = "";

    /// <summary>at_risk or lapsed (churn_risk).</summary>
    public string State { get; init; } = "";

    public ushort TouchesInWindow { get; init; }

    public ushort ContactCap { get; init; }
}
