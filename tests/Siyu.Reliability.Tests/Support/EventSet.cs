using System.Globalization;
using System.Text;

namespace Siyu.Reliability.Tests.Support;

/// <summary>One message for an input topic: its channel, key and the exact bytes sent.</summary>
public sealed record SentEvent(string Channel, string Key, string EventId, string Json)
{
    public byte[] Bytes => Encoding.UTF8.GetBytes(Json);
}

/// <summary>What the input says, computed from the generated events alone (not by any Siyu code).</summary>
public sealed record CustomerTruth(string MemberId, string? AppUserId, int Orders, decimal Revenue, int Refunds, decimal RefundAmount, string? Group = null);

public sealed record CampaignTruth(string CampaignId, decimal Revenue, decimal RefundAmount, int Orders, int Refunds);

/// <summary>
/// A known, seeded set of input events (orders, refunds, customers merged from two ids, exact
/// duplicates) written as raw contract JSON, with the truth computed independently: per customer
/// (orders, net revenue, refunds) and per campaign (what ClickHouse must show).
/// </summary>
public sealed class EventSet
{
    public const string CampaignA = "REL-FLASH";
    public const string CampaignB = "REL-SOLITAIRE";

    public IReadOnlyList<SentEvent> Events { get; }
    public IReadOnlyList<CustomerTruth> Customers { get; }
    public IReadOnlyList<CampaignTruth> Campaigns { get; }
    public DateTimeOffset From { get; }
    public DateTimeOffset To { get; }
    public int Duplicates { get; }

    /// <summary>Campaign definitions for siyu.campaigns (key, value).</summary>
    public IReadOnlyList<(string Key, string Json)> CampaignDefinitions { get; }

    private EventSet(List<SentEvent> events, List<CustomerTruth> customers, List<CampaignTruth> campaigns,
        List<(string, string)> definitions, DateTimeOffset from, DateTimeOffset to, int duplicates)
    {
        Events = events;
        Customers = customers;
        Campaigns = campaigns;
        CampaignDefinitions = definitions;
        From = from;
        To = to;
        Duplicates = duplicates;
    }

    private static string Money(decimal d) => d.ToString("0.00", CultureInfo.InvariantCulture);
    private static string Time(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'+08:00'", CultureInfo.InvariantCulture);

    /// <summary>
    /// Per-campaign truth of some of the events (e.g. the part of the set sent so far), read from
    /// their JSON: each event_id once, a refund counted for its order's campaign.
    /// </summary>
    public static IReadOnlyList<CampaignTruth> CampaignsIn(IEnumerable<SentEvent> events)
    {
        var camp = new SortedDictionary<string, CampaignTruth>(StringComparer.Ordinal)
        {
            [CampaignA] = new(CampaignA, 0, 0, 0, 0),
            [CampaignB] = new(CampaignB, 0, 0, 0, 0),
        };
        var orderCampaign = new Dictionary<string, string>(StringComparer.Ordinal);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var e in events)
        {
            if (!seen.Add(e.EventId))
            {
                continue;
            }
            var json = System.Text.Json.Nodes.JsonNode.Parse(e.Json)!;
            var type = json["type"]!.GetValue<string>();
            var orderId = json["order_id"]?.GetValue<string>();
            var amount = json["amount"]?.GetValue<decimal>() ?? 0;
            if (type == "order")
            {
                var id = json["campaign_id"]!.GetValue<string>();
                orderCampaign[orderId!] = id;
                var c = camp[id];
                camp[id] = c with { Revenue = c.Revenue + amount, Orders = c.Orders + 1 };
            }
            else if (type == "refund")
            {
                var id = orderCampaign[orderId!];
                var c = camp[id];
                camp[id] = c with { Revenue = c.Revenue - amount, RefundAmount = c.RefundAmount + amount, Refunds = c.Refunds + 1 };
            }
        }
        return [.. camp.Values];
    }

    /// <summary>
    /// One more pos order each for the first <paramref name="count"/> customers, a basket of
    /// <paramref name="items"/> lines (a large message), credited to <see cref="CampaignA"/>; and
    /// the set's truth with those orders counted.
    /// </summary>
    public (EventSet With, List<SentEvent> Orders) WithLargeOrders(int count, int items)
    {
        var orders = new List<SentEvent>();
        var customers = Customers.ToList();
        var campaigns = Campaigns.ToList();
        var at = From.AddMinutes(50);
        for (var c = 0; c < count; c++)
        {
            var member = customers[c].MemberId;
            var eventId = $"{member}-large";
            var price = 1.5m + c;
            var lines = string.Join(',', Enumerable.Repeat($$"""{"sku":"REL-CHERRY","qty":1,"price":{{Money(price)}}}""", items));
            var amount = price * items;
            orders.Add(new SentEvent("pos", member, eventId,
                $$"""{"event_id":"{{eventId}}","type":"order","occurred_at":"{{Time(at.AddSeconds(c))}}","store_id":"S001","ids":{"member_id":"{{member}}"},"order_id":"O{{eventId}}","amount":{{Money(amount)}},"items":[{{lines}}],"payment":"wechat_pay","campaign_id":"{{CampaignA}}"}"""));
            customers[c] = customers[c] with { Orders = customers[c].Orders + 1, Revenue = customers[c].Revenue + amount };
            var a = campaigns.FindIndex(x => x.CampaignId == CampaignA);
            campaigns[a] = campaigns[a] with { Revenue = campaigns[a].Revenue + amount, Orders = campaigns[a].Orders + 1 };
        }
        return (new EventSet([.. Events, .. orders], customers, campaigns, [.. CampaignDefinitions], From, To, Duplicates), orders);
    }

    /// <param name="prefix">Makes ids unique per test, so runs never share a customer.</param>
    /// <param name="groups">Each customer also joins one of five WeCom groups (a group_join keyed by its member id).</param>
    public static EventSet Generate(int seed, int customers, string prefix, bool groups = false)
    {
        var rng = new Random(seed);
        // Event time an hour back to now, in China time as the POS sends it.
        var start = DateTimeOffset.UtcNow.AddMinutes(-60).ToOffset(TimeSpan.FromHours(8));
        var events = new List<SentEvent>();
        var truths = new List<CustomerTruth>();
        var camp = new Dictionary<string, (decimal Rev, decimal Ref, int Orders, int Refunds)>
        {
            [CampaignA] = default,
            [CampaignB] = default,
        };
        var n = 0;
        string NextId(string source) => $"{prefix}-{source}-{++n:D6}";

        // Per customer, its events in the order the source emits them; interleaved below.
        var streams = new List<List<SentEvent>>();
        for (var c = 0; c < customers; c++)
        {
            var member = $"{prefix}-M{c:D4}";
            var phone = $"139{seed % 1000:D3}{c:D5}";
            // A third of the customers also shop in the app under an app_user_id first: a second
            // customer that a later login merges (or joins, if the login comes first).
            var app = c % 3 == 0 ? $"{prefix}-A{c:D4}" : null;
            var stream = new List<SentEvent>();
            var t = start.AddSeconds(rng.Next(0, 600));
            int orders = 0, refunds = 0;
            decimal revenue = 0, refundAmount = 0;
            var count = rng.Next(2, 6);
            string? group = null;
            for (var o = 0; o < count; o++)
            {
                if (groups && o == 1)
                {
                    // Invited at the till after the first order (issue 17: group_joined must reach subscribers).
                    group = $"{prefix}-G{c % 5}";
                    var joinId = NextId("group");
                    t = t.AddSeconds(rng.Next(5, 60));
                    stream.Add(new SentEvent("group", member, joinId,
                        $$$"""{"event_id":"{{{joinId}}}","type":"group_join","occurred_at":"{{{Time(t)}}}","store_id":"S{{{c % 7:D3}}}","ids":{"member_id":"{{{member}}}"},"group_id":"{{{group}}}"}"""));
                }
                t = t.AddSeconds(rng.Next(5, 120));
                var inApp = app is not null && o % 2 == 1;
                var amount = rng.Next(100, 50_000) / 100m;
                var campaign = rng.Next(2) == 0 ? CampaignA : CampaignB;
                var sku = campaign == CampaignA ? "REL-CHERRY" : "REL-MANGO";
                var eventId = NextId(inApp ? "app" : "pos");
                var orderId = "O" + eventId;
                var ids = inApp ? $$"""{"app_user_id":"{{app}}"}""" : $$"""{"member_id":"{{member}}","phone":"{{phone}}"}""";
                var key = inApp ? app! : member;
                var channel = inApp ? "app" : "pos";
                stream.Add(new SentEvent(channel, key, eventId,
                    $$"""{"event_id":"{{eventId}}","type":"order","occurred_at":"{{Time(t)}}","store_id":"S{{c % 7:D3}}","ids":{{ids}},"order_id":"{{orderId}}","amount":{{Money(amount)}},"items":[{"sku":"{{sku}}","qty":1,"price":{{Money(amount)}}}],"payment":"wechat_pay","campaign_id":"{{campaign}}"}"""));
                orders++;
                revenue += amount;
                var cs = camp[campaign];
                cs.Rev += amount;
                cs.Orders++;
                if (rng.Next(4) == 0)
                {
                    // Same topic and key as its order, so it is never read before it (one partition).
                    var refund = rng.Next(2) == 0 ? amount : Math.Round(amount / 3, 2);
                    var refundId = NextId(inApp ? "app" : "pos");
                    t = t.AddSeconds(rng.Next(5, 60));
                    stream.Add(new SentEvent(channel, key, refundId,
                        $$"""{"event_id":"{{refundId}}","type":"refund","occurred_at":"{{Time(t)}}","ids":{{ids}},"order_id":"{{orderId}}","amount":{{Money(refund)}}}"""));
                    refunds++;
                    refundAmount += refund;
                    revenue -= refund;
                    cs.Rev -= refund;
                    cs.Ref += refund;
                    cs.Refunds++;
                }
                camp[campaign] = cs;
            }
            if (app is not null)
            {
                var loginId = NextId("app");
                t = t.AddSeconds(rng.Next(5, 60));
                stream.Add(new SentEvent("app", member, loginId,
                    $$$"""{"event_id":"{{{loginId}}}","type":"login","occurred_at":"{{{Time(t)}}}","ids":{"app_user_id":"{{{app}}}","member_id":"{{{member}}}"}}"""));
            }
            streams.Add(stream);
            truths.Add(new CustomerTruth(member, app, orders, revenue, refunds, refundAmount, group));
        }

        // Interleave the customers' streams at random, keeping each stream's own order.
        var cursors = new int[streams.Count];
        var live = Enumerable.Range(0, streams.Count).ToList();
        while (live.Count > 0)
        {
            var pick = rng.Next(live.Count);
            var s = live[pick];
            events.Add(streams[s][cursors[s]++]);
            if (cursors[s] == streams[s].Count)
            {
                live.RemoveAt(pick);
            }
        }

        // Exact duplicates (same event_id, same bytes), as a producer retry or a replay sends
        // them: a tenth of the events again, each somewhere after the original.
        var duplicates = events.Count / 10;
        for (var d = 0; d < duplicates; d++)
        {
            var original = rng.Next(events.Count - 1);
            events.Insert(rng.Next(original + 1, events.Count + 1), events[original]);
        }

        var definitions = new List<(string, string)>
        {
            (CampaignA, $$"""{"campaign_id":"{{CampaignA}}","type":"flash_sale","name":"cherries","skus":["REL-CHERRY"],"stock":100000,"starts_at":"{{Time(start.AddHours(-1))}}","ends_at":"{{Time(start.AddHours(6))}}"}"""),
            (CampaignB, $$"""{"campaign_id":"{{CampaignB}}","type":"solitaire","name":"mangoes","skus":["REL-MANGO"],"stock":100000,"starts_at":"{{Time(start.AddHours(-1))}}","ends_at":"{{Time(start.AddHours(6))}}"}"""),
        };
        var campaigns = camp.Select(kv => new CampaignTruth(kv.Key, kv.Value.Rev, kv.Value.Ref, kv.Value.Orders, kv.Value.Refunds)).ToList();
        return new EventSet(events, truths, campaigns, definitions, start.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5), duplicates);
    }
}
