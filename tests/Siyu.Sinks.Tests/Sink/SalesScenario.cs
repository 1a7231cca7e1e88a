using Siyu.Sinks.Rows;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// A deterministic day of a fruit chain's group campaigns: a flash sale, a solitaire and a coupon
/// day across four stores, six WeCom groups and eight guides, with refunds, touches, profiles and
/// December repeat orders (for next-month repurchase).
/// </summary>
public sealed class SalesScenario
{
    public static readonly DateTimeOffset Day = new(2026, 11, 24, 2, 0, 0, TimeSpan.Zero); // 10:00 in Shanghai
    public static readonly string[] Stores = ["S001", "S002", "S003", "S004"];
    public static readonly string[] Groups = ["G1", "G2", "G3", "G4", "G5", "G6"];
    public static readonly string[] Guides = ["U01", "U02", "U03", "U04", "U05", "U06", "U07", "U08"];
    public static readonly string[] Skus = ["CHERRY", "DURIAN", "MANGO", "APPLE", "GRAPE"];
    public static readonly string[] Payments = ["cash", "card", "wechat_pay", "wecom_collect"];

    public SalesScenario(int orders = 1500, int seed = 7)
    {
        var rng = new Random(seed);
        Campaigns =
        [
            Campaign("C-FLASH", "flash_sale", "Cherry flash sale", ["CHERRY"], 2000, ["G1", "G2"]),
            Campaign("C-SOL", "solitaire", "Durian & mango solitaire", ["DURIAN", "MANGO"], 1500, ["G3", "G4"]),
            Campaign("C-COUPON", "coupon_day", "Tuesday coupon day", [], null, []),
        ];

        var customers = Enumerable.Range(1, 300).Select(i => $"c{i:D4}").ToArray();
        var sales = new List<SaleRow>();
        for (var i = 0; i < orders; i++)
        {
            var customer = customers[rng.Next(customers.Length)];
            var store = Stores[rng.Next(Stores.Length)];
            var december = i % 10 == 9;
            var at = (december ? Day.AddDays(14) : Day).AddSeconds(rng.Next(0, 2 * 3600)).AddMilliseconds(rng.Next(1000));
            var (campaign, rule) = rng.Next(10) switch
            {
                < 3 => (Campaigns[0], rng.Next(2) == 0 ? AttributionRules.Direct : AttributionRules.LastTouch),
                < 5 => (Campaigns[1], rng.Next(2) == 0 ? AttributionRules.Direct : AttributionRules.LastTouch),
                < 6 => (Campaigns[2], AttributionRules.Direct),
                < 8 => ((CampaignRow?)null, AttributionRules.GroupAssisted),
                _ => ((CampaignRow?)null, AttributionRules.Organic),
            };
            var group = rule == AttributionRules.Organic ? ""
                : campaign is { GroupIds.Count: > 0 } ? campaign.GroupIds[rng.Next(campaign.GroupIds.Count)]
                : rule == AttributionRules.Direct ? "" : Groups[rng.Next(Groups.Length)];
            var payment = Payments[rng.Next(Payments.Length)];
            var guide = payment == "wecom_collect" || rng.Next(3) == 0 ? Guides[rng.Next(Guides.Length)] : "";
            var items = Enumerable.Range(0, rng.Next(1, 4)).Select(_ =>
            {
                var sku = campaign is { Skus.Count: > 0 } && rng.Next(3) > 0 ? campaign.Skus[rng.Next(campaign.Skus.Count)] : Skus[rng.Next(Skus.Length)];
                return new SaleItem(sku, rng.Next(1, 4), rng.Next(5, 200) + 0.5m);
            }).ToList();
            sales.Add(new SaleRow
            {
                EventId = $"mp-{i:D6}",
                OrderId = $"o-{i:D6}",
                OccurredAt = at,
                CustomerId = customer,
                Channel = i % 3 == 0 ? "pos" : "miniprogram",
                StoreId = store,
                Amount = items.Sum(x => x.Qty * x.Price),
                CampaignId = campaign?.CampaignId ?? "",
                CampaignType = campaign?.Type ?? "",
                Rule = rule,
                GroupId = group,
                GuideId = guide,
                InPrivateDomain = rule != AttributionRules.Organic || guide != "",
                Payment = payment,
                Items = items,
            });
        }

        // One order in ten is refunded within the hour, with its order's attribution.
        foreach (var (order, i) in sales.Select((o, i) => (o, i)).Where(x => x.i % 10 == 3).ToList())
        {
            sales.Add(order with
            {
                EventId = "refund-" + order.EventId,
                OccurredAt = order.OccurredAt.AddMinutes(5 + (i % 31)),
                Amount = -order.Amount,
                Items = order.Items.Select(x => x with { Qty = -x.Qty }).ToList(),
            });
        }

        Sales = sales.OrderBy(s => s.OccurredAt).ToList();

        Touches = Sales.Where(s => s.CampaignId != "" && s.Amount > 0).Take(400).Select((s, i) => new TouchRow
        {
            EventId = $"grp-{i:D6}",
            OccurredAt = s.OccurredAt.AddMinutes(-3),
            CustomerId = s.CustomerId,
            Type = s.CampaignType == "flash_sale" ? "flash_claim" : "solitaire_join",
            Channel = "group",
            StoreId = s.StoreId,
            CampaignId = s.CampaignId,
            GroupId = s.GroupId,
            Skus = s.Items.Select(x => x.Sku).ToList(),
        }).Concat(Enumerable.Range(0, 200).Select(i => new TouchRow
        {
            EventId = $"guide-{i:D6}",
            OccurredAt = Day.AddMinutes(i % 120),
            CustomerId = customers[i % customers.Length],
            Type = i % 4 == 0 ? "service_done" : "message_sent",
            Channel = "group",
            StoreId = Stores[i % Stores.Length],
            GuideId = Guides[i % Guides.Length],
        })).ToList();

        string[] tiers = ["low", "mid", "high"];
        Profiles = customers.Select((c, i) => new ProfileRow
        {
            CustomerId = c,
            Version = 2,
            UpdatedAt = Day.AddHours(3),
            InPrivateDomain = i % 3 != 0,
            Groups = i % 3 == 0 ? [] : [Groups[i % Groups.Length]],
            GuideId = i % 2 == 0 ? Guides[i % Guides.Length] : "",
            Frequency = tiers[i % 3 == 1 ? 0 : i % 5 == 0 ? 2 : 1],
            State = i % 7 == 0 ? "at_risk" : "active",
            Orders = (uint)Sales.Count(s => s.CustomerId == c && s.Amount >= 0),
            Revenue = Sales.Where(s => s.CustomerId == c).Sum(s => s.Amount),
            ByChannel = new Dictionary<string, uint> { ["pos"] = 1, ["miniprogram"] = 2 },
            Tags = new Dictionary<string, string> { ["fruit"] = i % 2 == 0 ? "cherry" : "durian" },
        })
        // an older version of every tenth profile, written later: FINAL must still pick version 2
        .Concat(customers.Where((_, i) => i % 10 == 0).Select(c => new ProfileRow
        {
            CustomerId = c, Version = 1, UpdatedAt = Day, Frequency = "low", State = "new",
        }))
        .ToList();
    }

    public IReadOnlyList<CampaignRow> Campaigns { get; }

    /// <summary>Orders and refunds, each event once, in event-time order.</summary>
    public IReadOnlyList<SaleRow> Sales { get; }

    public IReadOnlyList<TouchRow> Touches { get; }

    public IReadOnlyList<ProfileRow> Profiles { get; }

    /// <summary>Totals computed here, from the input rows, independently of ClickHouse.</summary>
    public static IReadOnlyDictionary<string, Totals> Expected(IEnumerable<SaleRow> sales, Func<SaleRow, string> by) =>
        sales.GroupBy(s => s.EventId).Select(g => g.First())
            .GroupBy(by)
            .ToDictionary(g => g.Key, g => new Totals(
                g.Sum(s => s.Amount),
                (ulong)g.Count(s => s.Amount >= 0),
                (ulong)g.Where(s => s.Amount >= 0).Select(s => s.CustomerId).Distinct().Count(),
                (ulong)g.Count(s => s.Amount < 0)));

    private static CampaignRow Campaign(string id, string type, string name, string[] skus, uint? stock, string[] groups) => new()
    {
        CampaignId = id,
        Type = type,
        Name = name,
        Skus = skus,
        Stock = stock,
        GroupIds = groups,
        StartsAt = Day,
        EndsAt = Day.AddHours(2),
        Version = 1,
        UpdatedAt = Day.AddHours(-1),
    };
}

public sealed record Totals(decimal Revenue, ulong Orders, ulong Buyers, ulong Refunds);
