using System.Text.Json;
using Siyu.Actors.Customers;

namespace Siyu.Actors.Operations;

/// <summary>A siyu.audiences value (contract): {customer_id, audience, change: entered|exited, at}, plus event_id for dedup.</summary>
public sealed record AudienceMessage(string CustomerId, string Audience, string Change, DateTimeOffset At, string EventId);

/// <summary>The wire forms of operations notices.</summary>
public static class OperationsJson
{
    /// <summary>A siyu.profile-changes value for service_due, churn_risk and the reminders.</summary>
    public static ProfileChange ToChange(string customerId, OperationsNotice n) => new()
    {
        CustomerId = customerId,
        Change = n.Kind,
        At = n.At,
        ChangeId = n.Id, // one id to deduplicate every change by; notice_id stays for existing readers
        NoticeId = n.Id,
        Task = n.Task,
        OrderId = n.OrderId,
        DueAt = n.DueAt,
        GuideId = n.GuideId,
        State = n.State,
        PreviousState = n.PreviousState,
        Date = n.Date,
        DaysBefore = n.DaysBefore,
    };

    public static byte[] ChangeJson(string customerId, OperationsNotice n) => Profile.ToJson(ToChange(customerId, n));

    public static byte[] AudienceJson(string customerId, OperationsNotice n) =>
        JsonSerializer.SerializeToUtf8Bytes(
            new AudienceMessage(customerId, n.Audience ?? throw new ArgumentException("not an audience notice", nameof(n)), n.Change!, n.At, n.Id),
            CustomerJsonContext.Default.AudienceMessage);
}
