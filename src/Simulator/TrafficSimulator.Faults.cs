using System.Globalization;
using System.Text.Json;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Contracts.Validation;

namespace Siyu.Simulator;

// Broken messages, each with the dead-letter reason it is meant to get.
public sealed partial class TrafficSimulator
{
    /// <summary>The kinds of broken message, with the reason the pipeline must give. The last two pass the parser and are refused by the customer entity.</summary>
    public static IReadOnlyList<string> IntendedReasons { get; } =
    [
        RejectReason.MalformedJson,
        RejectReason.MissingEventId,
        RejectReason.InvalidOccurredAt,
        RejectReason.InvalidPayment,
        RejectReason.NegativeAmount,
        RejectReason.UnknownType,
        RejectReason.MissingIds,
        RejectReason.InvalidAmount,
        RejectReason.RefundUnmatched,
        RejectReason.NoUsableIds,
    ];

    /// <summary>Reasons given by the customer entity rather than the parser (the message parses).</summary>
    public static IReadOnlySet<string> EntityReasons { get; } = new HashSet<string> { RejectReason.RefundUnmatched };

    private void AddBrokenMessages(Day day)
    {
        var expected = day.ValidEvents * _options.MalformedRatio;
        var count = (int)expected + (day.Rng.NextDouble() < expected - Math.Floor(expected) ? 1 : 0);
        // Round the kinds from a random start, so even a short run has each kind.
        var first = day.Rng.Next(IntendedReasons.Count);
        for (var i = 0; i < count; i++)
        {
            var p = day.Pick(Population.People);
            var reason = IntendedReasons[(first + i) % IntendedReasons.Count];
            var at = Ms(day.Between(8, 22));
            var eventId = $"bad-{p.Store.StoreId}-{day.Index}-{i}";
            var order = new OrderPlaced
            {
                EventId = eventId, OccurredAt = at, Channel = Channel.Pos, StoreId = p.Store.StoreId, Ids = PosIds(p),
                OrderId = $"O-BAD-{day.Index}-{i}", Amount = 29.90m, Items = [new LineItem("APPLE-6", 1, 29.90m)], Payment = Payment.Cash,
            };
            var wire = EventWriter.ToWire(order);
            var channel = Channel.Pos;
            switch (reason)
            {
                case RejectReason.MissingEventId:
                    wire.EventId = "";
                    break;
                case RejectReason.InvalidOccurredAt:
                    // A till that writes local time without the offset.
                    wire.OccurredAt = at.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);
                    break;
                case RejectReason.InvalidPayment:
                    wire.Payment = "alipay";
                    break;
                case RejectReason.NegativeAmount:
                    (wire.Type, wire.Amount, wire.Items, wire.Payment) = ("refund", -29.90m, null, null);
                    break;
                case RejectReason.UnknownType:
                    // A newer mini-program release ahead of the contract.
                    channel = Channel.MiniProgram;
                    wire = EventWriter.ToWire(new CouponClaimed { EventId = eventId, OccurredAt = at, StoreId = p.Store.StoreId, Ids = new CustomerIds { OpenId = p.OpenId ?? "oMP-unknown", UnionId = p.UnionId }, CouponId = "WELCOME-5" });
                    wire.Type = "coupon_expire";
                    break;
                case RejectReason.MissingIds:
                    wire.Ids = new WireIds();
                    break;
                case RejectReason.InvalidAmount:
                    wire.Amount = 29.999m;
                    break;
                case RejectReason.RefundUnmatched:
                    // The refund of an order bought before the simulation began, which the pipeline never saw.
                    (wire.Type, wire.OrderId, wire.Items, wire.Payment) = ("refund", $"O-BEFORE-{day.Index}-{i}", null, null);
                    break;
                case RejectReason.NoUsableIds:
                    // A till whose member lookup failed and sent a placeholder.
                    wire.Ids = new WireIds { MemberId = "0" };
                    break;
            }
            var bytes = JsonSerializer.SerializeToUtf8Bytes(wire, SiyuJsonContext.Default.WireEvent);
            if (reason == RejectReason.MalformedJson)
            {
                // Cut off mid-message, as a crashed producer leaves it.
                bytes = bytes[..day.Rng.Next(10, bytes.Length - 1)];
            }
            var key = wire.Ids?.MemberId ?? wire.Ids?.OpenId;
            Push(new SimulatedMessage(_topics.Input(channel), key is null ? null : System.Text.Encoding.UTF8.GetBytes(key), bytes, at, MessageKind.Invalid, channel, reason));
        }
    }
}
