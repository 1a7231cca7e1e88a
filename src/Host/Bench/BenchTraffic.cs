using System.Text;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;

namespace Siyu.Host.Bench;

/// <summary>
/// Seeded input messages for `siyu bench`, shaped like a store chain's day (domain.md): stores
/// with three WeCom groups and two guides each, customers whose activity is skewed (a few buy
/// often, most rarely), each with a member_id and, depending on the channel, the WeCom
/// external_userid or the mini-program openid beside it; 40% orders, the rest group joins,
/// messages, flash claims, solitaires, page views and contacts; 1% malformed on purpose.
/// Kept small until the simulator (`siyu simulate`) can be used instead.
/// </summary>
public sealed class BenchTraffic(int seed, int customers, string eventPrefix, string memberPrefix = "M")
{
    public const int CustomersPerStore = 200;

    private static readonly string[] Skus = ["CHERRY-5J", "DURIAN-1", "MANGO-3J", "GRAPE-2J", "APPLE-6"];
    private static readonly decimal[] Prices = [199.00m, 89.90m, 39.90m, 45.50m, 29.90m];

    private readonly Random _rng = new(seed);
    private long _sequence;

    public sealed record Message(Channel Channel, byte[]? Key, byte[] Value, string EventId, bool IsOrder);

    public int Stores { get; } = Math.Max(1, customers / CustomersPerStore);

    public string EventPrefix => eventPrefix;

    /// <summary>The member_id of customer <paramref name="index"/> (0-based).</summary>
    public static string Member(int index, string prefix = "M") => $"{prefix}{index:D8}";

    public Message Next(DateTimeOffset now)
    {
        var n = _sequence++;
        var eventId = $"{eventPrefix}{n:D9}";
        if (_rng.NextDouble() < 0.01)
        {
            return new Message(Channel.Pos, null, Encoding.UTF8.GetBytes($"{{\"event_id\":\"{eventId}\",\"type\":\"order\""), eventId, false);
        }
        // Skewed activity: u^2 puts a quarter of the events on the first 6% of customers.
        var u = _rng.NextDouble();
        var customer = (int)(u * u * customers);
        var store = customer % Stores + 1;
        var storeId = $"S{store:D5}";
        var member = Member(customer, memberPrefix);
        var group = $"GR{store:D5}-{_rng.Next(3) + 1}";
        var guide = $"G{store:D5}-{_rng.Next(2) + 1}";
        var sku = _rng.Next(Skus.Length);
        var at = now.ToOffset(TimeSpan.FromHours(8));
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
                OrderId = $"O-{eventId}",
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
        // Not every customer has linked a second id yet: 40% of them carry one.
        var linked = customer % 5 < 2;
        var ids = new CustomerIds
        {
            MemberId = member,
            ExternalUserId = linked && channel == Channel.Group ? $"wx-{member}" : null,
            OpenId = linked && channel == Channel.MiniProgram ? $"o-{member}" : null,
        };
        evt = evt with { EventId = eventId, OccurredAt = at, Channel = channel, StoreId = storeId, Ids = ids };
        return new Message(channel, Encoding.UTF8.GetBytes(member), EventWriter.ToUtf8Json(evt), eventId, evt is OrderPlaced);
    }
}
