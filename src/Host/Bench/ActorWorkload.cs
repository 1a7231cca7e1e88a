using Siyu.Contracts.Events;
using Siyu.Ingest;

namespace Siyu.Host.Bench;

/// <summary>
/// The input of `siyu bench actors`: M events over N customers, seeded. Every customer has a
/// member_id; 40% also have a second id (half an openid used by mini-program events, half a
/// WeCom external_userid used by group events), which their events of that channel carry
/// beside the member_id. The mix is what a campaign day looks like: half orders, group joins,
/// tags, page views, guide contacts and refunds. A refund always follows its order by at least
/// <c>refundLag</c> events, so with at most that many events in flight its order is already
/// durable and no refund waits for its grace period.
/// </summary>
public sealed class ActorWorkload
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 23, 10, 0, 0, TimeSpan.FromHours(8));

    private static readonly decimal[] Prices = [199.00m, 89.90m, 39.90m, 45.50m, 29.90m, 129.00m];
    private static readonly string[] Skus = ["CHERRY-5J", "DURIAN-1", "MANGO-3J", "GRAPE-2J", "APPLE-6", "GIFT-BOX"];
    private static readonly string[] Levels = ["silver", "gold", "platinum"];

    public required string[] MemberIds { get; init; }
    public required IngestedEvent[] Events { get; init; }

    /// <summary>Index into <see cref="MemberIds"/> of each event's customer.</summary>
    public required int[] CustomerOf { get; init; }

    public int WithSecondId { get; init; }
    public int Orders { get; init; }
    public int Refunds { get; init; }
    public decimal NetRevenue { get; init; }
    public int GroupJoins { get; init; }
    public int Tags { get; init; }
    public int PageViews { get; init; }
    public int Contacts { get; init; }

    private enum Second { None, OpenId, ExternalUserId }

    public static ActorWorkload Create(int customers, int events, int seed, int refundLag)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(customers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(events, 1);
        var rng = new Random(seed);
        var members = new string[customers];
        var second = new Second[customers];
        var store = new int[customers];
        var withSecond = 0;
        for (var c = 0; c < customers; c++)
        {
            members[c] = $"M{c:D7}";
            var roll = rng.Next(10);
            second[c] = roll < 2 ? Second.OpenId : roll < 4 ? Second.ExternalUserId : Second.None;
            withSecond += second[c] == Second.None ? 0 : 1;
            store[c] = rng.Next(50) + 1;
        }

        // Orders not yet refunded, per customer: (event index, order id, amount, channel).
        var open = new List<(int At, string OrderId, decimal Amount, Channel Channel)>?[customers];
        var result = new IngestedEvent[events];
        var customerOf = new int[events];
        int orders = 0, refunds = 0, joins = 0, tags = 0, views = 0, contacts = 0;
        var revenue = 0m;
        for (var i = 0; i < events; i++)
        {
            var c = rng.Next(customers);
            customerOf[i] = c;
            var member = members[c];
            var storeId = $"S{store[c]:000}";
            var at = T0.AddMilliseconds(100.0 * i);
            var roll = rng.Next(100);
            InputEvent evt;
            Channel channel;
            if (roll is >= 50 and < 55 && open[c] is { Count: > 0 } pending && pending[0].At <= i - refundLag)
            {
                var order = pending[0];
                pending.RemoveAt(0);
                channel = order.Channel;
                evt = new OrderRefunded { OrderId = order.OrderId, Amount = order.Amount };
                refunds++;
                revenue -= order.Amount;
            }
            else if (roll < 55)
            {
                channel = rng.Next(5) < 3 ? Channel.Pos : Channel.MiniProgram;
                var sku = rng.Next(Skus.Length);
                var orderId = $"O{i:D8}";
                evt = new OrderPlaced
                {
                    OrderId = orderId,
                    Amount = Prices[sku],
                    Items = [new LineItem(Skus[sku], 1, Prices[sku])],
                    Payment = channel == Channel.Pos && rng.Next(4) == 0 ? Payment.Card : Payment.WechatPay,
                    GuideId = $"G{store[c]:000}-{rng.Next(3) + 1}",
                };
                (open[c] ??= []).Add((i, orderId, Prices[sku], channel));
                orders++;
                revenue += Prices[sku];
            }
            else if (roll < 70)
            {
                channel = Channel.Group;
                evt = new GroupJoined { GroupId = $"GR{store[c]:000}-{rng.Next(4) + 1}" };
                joins++;
            }
            else if (roll < 80)
            {
                channel = Channel.Group;
                evt = new Tagged
                {
                    Tags = new Dictionary<string, string>
                    {
                        ["level"] = Levels[rng.Next(Levels.Length)],
                        ["likes"] = Skus[rng.Next(Skus.Length)],
                    },
                };
                tags++;
            }
            else if (roll < 95)
            {
                channel = Channel.MiniProgram;
                evt = new PageViewed { Page = "/item/" + Skus[rng.Next(Skus.Length)] };
                views++;
            }
            else
            {
                channel = Channel.Group;
                evt = new ContactAdded { GuideId = $"G{store[c]:000}-{rng.Next(3) + 1}" };
                contacts++;
            }
            var ids = new CustomerIds { MemberId = member };
            if (second[c] == Second.OpenId && channel == Channel.MiniProgram)
            {
                ids = ids with { OpenId = "o-" + member };
            }
            else if (second[c] == Second.ExternalUserId && channel == Channel.Group)
            {
                ids = ids with { ExternalUserId = "wx-" + member };
            }
            evt = evt with { EventId = $"bench-{i:D8}", OccurredAt = at, Channel = channel, StoreId = storeId, Ids = ids };
            result[i] = new IngestedEvent(evt, new SourcePosition("siyu." + channel.WireName(), c % 16, i));
        }
        return new ActorWorkload
        {
            MemberIds = members,
            Events = result,
            CustomerOf = customerOf,
            WithSecondId = withSecond,
            Orders = orders,
            Refunds = refunds,
            NetRevenue = revenue,
            GroupJoins = joins,
            Tags = tags,
            PageViews = views,
            Contacts = contacts,
        };
    }
}
