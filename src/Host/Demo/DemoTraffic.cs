using System.Text;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;

namespace Siyu.Host.Demo;

/// <summary>
/// A small, seeded stream of private-domain events for the demo: a few stores with their WeCom
/// groups and guides, customers who join groups, claim flash sales, sign up for solitaires and
/// buy, and now and then a broken message that must land in dead-letter.
/// </summary>
public sealed class DemoTraffic(int seed, double badRatio = 0.02, int stores = 3, int customersPerStore = 60)
{
    private readonly Random _rng = new(seed);
    private long _sequence;

    public sealed record Message(Channel Channel, byte[]? Key, byte[] Value);

    private static readonly string[] Skus = ["CHERRY-5J", "DURIAN-1", "MANGO-3J", "GRAPE-2J", "APPLE-6"];
    private static readonly decimal[] Prices = [199.00m, 89.90m, 39.90m, 45.50m, 29.90m];

    private static readonly string[] Broken =
    [
        "{\"event_id\":\"broken-",                                  // truncated JSON
        "{\"type\":\"order\",\"ids\":{\"member_id\":\"M1\"}}",          // no event_id
        "[\"not\",\"an\",\"event\"]",                                 // not an object
        "{\"event_id\":\"neg-{0}\",\"type\":\"refund\",\"occurred_at\":\"2026-11-23T10:00:00+08:00\",\"ids\":{\"member_id\":\"M1\"},\"order_id\":\"O\",\"amount\":-5}",
    ];

    public Message Next(DateTimeOffset now)
    {
        var n = Interlocked.Increment(ref _sequence);
        if (_rng.NextDouble() < badRatio)
        {
            var text = Broken[_rng.Next(Broken.Length)].Replace("{0}", n.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return new Message(Channel.Pos, null, Encoding.UTF8.GetBytes(text));
        }
        var store = _rng.Next(stores) + 1;
        var customer = _rng.Next(customersPerStore) + 1;
        var storeId = $"S{store:000}";
        var member = $"M{store:00}{customer:0000}";
        var group = $"GR{store:000}-{_rng.Next(3) + 1}";
        var guide = $"G{store:000}-{_rng.Next(2) + 1}";
        var sku = _rng.Next(Skus.Length);
        var at = now.ToOffset(TimeSpan.FromHours(8));
        var ids = new CustomerIds { MemberId = member, ExternalUserId = $"wx-{member}" };
        InputEvent evt = _rng.Next(10) switch
        {
            0 => new ContactAdded { GuideId = guide },
            1 => new GroupJoined { GroupId = group },
            2 => new FlashClaimed { GroupId = group, CampaignId = $"FLASH-{storeId}", Sku = Skus[sku] },
            3 => new SolitaireJoined { GroupId = group, CampaignId = $"SOL-{storeId}", Items = [new LineItem(Skus[sku], 1, Prices[sku])] },
            4 => new PageViewed { Page = "/item/" + Skus[sku] },
            5 => new GroupMessagePosted { GroupId = group },
            _ => new OrderPlaced
            {
                OrderId = $"O-{n}",
                Amount = Prices[sku],
                Items = [new LineItem(Skus[sku], 1, Prices[sku])],
                Payment = _rng.Next(4) == 0 ? Payment.WecomCollect : Payment.WechatPay,
                GuideId = guide,
            },
        };
        var channel = evt switch
        {
            PageViewed => Channel.MiniProgram,
            OrderPlaced => _rng.Next(2) == 0 ? Channel.Pos : Channel.MiniProgram,
            _ => Channel.Group,
        };
        if (channel == Channel.MiniProgram)
        {
            ids = ids with { OpenId = $"o-{member}", ExternalUserId = null };
        }
        evt = evt with { EventId = $"demo-{n}", OccurredAt = at, Channel = channel, StoreId = storeId, Ids = ids };
        return new Message(channel, Encoding.UTF8.GetBytes(member), EventWriter.ToUtf8Json(evt));
    }
}
