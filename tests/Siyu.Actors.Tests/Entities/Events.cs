using Siyu.Contracts.Events;
using Siyu.Ingest;

namespace Siyu.Actors.Tests.Entities;

/// <summary>Input events as ingest hands them over (ids already validated, phones hashed).</summary>
public static class Events
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 23, 10, 0, 0, TimeSpan.FromHours(8));
    private static long _offset;

    public static IngestedEvent Ingested(InputEvent evt) =>
        new(evt, new SourcePosition("siyu.pos", 0, Interlocked.Increment(ref _offset)));

    public static OrderPlaced Order(string eventId, CustomerIds ids, decimal amount, string? orderId = null, int minute = 0) => new()
    {
        EventId = eventId,
        OccurredAt = T0.AddMinutes(minute),
        Channel = Channel.Pos,
        StoreId = "S001",
        Ids = ids,
        OrderId = orderId ?? "O-" + eventId,
        Amount = amount,
        Items = [new LineItem("CHERRY-5J", 1, amount)],
        Payment = Payment.WechatPay,
    };

    public static OrderRefunded Refund(string eventId, CustomerIds ids, string orderId, decimal amount) => new()
    {
        EventId = eventId,
        OccurredAt = T0.AddHours(1),
        Channel = Channel.Pos,
        Ids = ids,
        OrderId = orderId,
        Amount = amount,
    };

    public static GroupJoined Join(string eventId, CustomerIds ids, string groupId) => new()
    {
        EventId = eventId,
        OccurredAt = T0,
        Channel = Channel.Group,
        Ids = ids,
        GroupId = groupId,
    };
}
