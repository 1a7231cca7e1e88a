using System.Net;
using System.Text.Json.Nodes;
using Siyu.Contracts.Events;

namespace Siyu.Host.Tests;

/// <summary>GET /v1/sales/summary over HTTP, on what the node wrote to ClickHouse from Kafka.</summary>
[Collection(NodeCollection.Name)]
public sealed class SalesApiTests(NodeFixture node)
{
    private static readonly string Run = Guid.NewGuid().ToString("N")[..6];
    // 40 minutes before the node's clock starts (NodeFixture.Start): within "the last day up to now" on its calendar.
    private static readonly DateTimeOffset T0 = NodeFixture.Start.AddMinutes(-40);

    private static OrderPlaced Order(string id, string member, string store, decimal amount, string? guide = null) => new()
    {
        EventId = $"{id}-{Run}", OccurredAt = T0.AddMinutes(5), Channel = Channel.Pos, StoreId = store,
        Ids = new CustomerIds { MemberId = $"{member}-{Run}" }, OrderId = $"O-{id}-{Run}", Amount = amount,
        Items = [new LineItem("APPLE", 1, amount)], Payment = Payment.Card, GuideId = guide,
    };

    [Fact]
    public async Task Totals_by_store_and_guide_come_from_what_the_node_wrote_with_refunds_apart()
    {
        string s1 = $"SA-{Run}", s2 = $"SB-{Run}", guide = $"GU-{Run}";
        await node.SendAsync(Order("s1", "M1", s1, 100m, guide));
        await node.SendAsync(Order("s2", "M2", s1, 50m));
        await node.SendAsync(Order("s3", "M1", s2, 30m, guide));
        await node.SendAsync(new OrderRefunded
        {
            EventId = $"s4-{Run}", OccurredAt = T0.AddMinutes(20), Channel = Channel.Pos, StoreId = s1,
            Ids = new CustomerIds { MemberId = $"M1-{Run}" }, OrderId = $"O-s1-{Run}", Amount = 40m,
        });

        // No range: the last day up to now, which holds these (placed 40 minutes ago).
        var stores = await NodeFixture.Eventually(() => Rows("/v1/sales/summary?by=store"),
            r => r.TryGetValue(s1, out var a) && a["refunds"]!.GetValue<ulong>() == 1 && r.ContainsKey(s2), seconds: 40);
        var a = stores[s1];
        Assert.Equal((110m, 150m, 40m, 2UL, 1UL, 2UL),
            (a["net"]!.GetValue<decimal>(), a["gross"]!.GetValue<decimal>(), a["refund_amount"]!.GetValue<decimal>(),
             a["orders"]!.GetValue<ulong>(), a["refunds"]!.GetValue<ulong>(), a["buyers"]!.GetValue<ulong>()));
        Assert.Equal(30m, stores[s2]["net"]!.GetValue<decimal>());

        // The order's guide: both of M1's orders, its refund too.
        var guides = await Rows("/v1/sales/summary?by=guide");
        Assert.Equal((90m, 2UL, 1UL), (guides[guide]["net"]!.GetValue<decimal>(), guides[guide]["orders"]!.GetValue<ulong>(), guides[guide]["buyers"]!.GetValue<ulong>()));

        // A range that ends before the refund: the orders alone.
        var before = Uri.EscapeDataString(T0.AddMinutes(10).ToString("O"));
        var early = await Rows($"/v1/sales/summary?by=store&from={Uri.EscapeDataString(T0.ToString("O"))}&to={before}");
        Assert.Equal((150m, 0UL), (early[s1]["net"]!.GetValue<decimal>(), early[s1]["refunds"]!.GetValue<ulong>()));

        var body = JsonNode.Parse(await node.Http.GetStringAsync("/v1/sales/summary?by=rule"))!;
        Assert.Equal("rule", body["by"]!.GetValue<string>());
        var window = (DateTimeOffset.Parse(body["window"]!["from"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture),
            DateTimeOffset.Parse(body["window"]!["to"]!.GetValue<string>(), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(TimeSpan.FromDays(1), window.Item2 - window.Item1);
        Assert.Contains(body["rows"]!.AsArray(), r => r!["key"]!.GetValue<string>() == "organic");
    }

    [Theory]
    [InlineData("/v1/sales/summary", "by must be one of rule, campaign, guide, group, store")]
    [InlineData("/v1/sales/summary?by=sku", "by must be one of")]
    [InlineData("/v1/sales/summary?by=store&by=rule", "at most once")]
    [InlineData("/v1/sales/summary?by=store&form=2026-11-01", "unknown parameter form")]
    [InlineData("/v1/sales/summary?by=store&from=yesterday", "ISO 8601")]
    [InlineData("/v1/sales/summary?by=store&from=2026-11-02T00:00:00Z&to=2026-11-01T00:00:00Z", "before to")]
    [InlineData("/v1/sales/summary?by=store&from=2026-01-01T00:00:00Z&to=2026-12-01T00:00:00Z", "at most 92 days")]
    public async Task Bad_input_is_a_400_that_says_what_is_wrong(string url, string message)
    {
        var r = await node.Http.GetAsync(url);
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains(message, JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    private async Task<Dictionary<string, JsonNode>> Rows(string url)
    {
        var r = await node.Http.GetAsync(url);
        if (r.StatusCode != HttpStatusCode.OK)
        {
            return [];
        }
        return JsonNode.Parse(await r.Content.ReadAsStringAsync())!["rows"]!.AsArray()
            .ToDictionary(x => x!["key"]!.GetValue<string>(), x => x!);
    }
}
