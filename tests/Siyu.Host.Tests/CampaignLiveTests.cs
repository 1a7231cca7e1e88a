using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Spectre.Console;
using Siyu.Actors.Campaigns;
using Siyu.Contracts.Events;
using Siyu.Host.Demo;
using Siyu.Sinks;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Host.Tests;

/// <summary>From Kafka to the operator's number: campaign, orders, a solitaire, a refund, through ClickHouse.</summary>
[Collection(NodeCollection.Name)]
[Trait("Clock", "node")] // on the node's ShiftedClock; not rerun under faketime: librdkafka's timed waits never return under libfaketime
public sealed class CampaignLiveTests(NodeFixture node, ITestOutputHelper output)
{
    // Times are relative to the node's clock (NodeFixture.Start and on), not to today.
    private static readonly DateTimeOffset T0 = NodeFixture.Start.AddMinutes(-30);
    private static readonly string Run = Guid.NewGuid().ToString("N")[..6];

    private static OrderPlaced Order(string id, string member, decimal amount, string? campaign = null, string sku = "CHERRY-5J") => new()
    {
        EventId = id, OccurredAt = T0.AddMinutes(5), Channel = Channel.MiniProgram, StoreId = "S001",
        Ids = new CustomerIds { MemberId = member }, OrderId = "O-" + id, Amount = amount,
        Items = [new LineItem(sku, 1, amount)], Payment = Payment.WechatPay, CampaignId = campaign,
    };

    [Fact]
    public async Task The_live_campaign_answer_adds_up_direct_and_last_touch_sales_net_of_refunds()
    {
        var campaign = $$"""{"campaign_id":"SOL-LIVE","type":"solitaire","name":"cherries 5 jin","skus":["CHERRY-5J"],"stock":100,"starts_at":"{{T0:O}}","ends_at":"{{T0.AddHours(6):O}}"}""";
        await PublishCampaignAsync("SOL-LIVE", campaign);

        await node.SendAsync(Order("live-1", "LIVE-M1", 199m, campaign: "SOL-LIVE"));                    // direct
        await node.SendAsync(new SolitaireJoined
        {
            EventId = "live-2", OccurredAt = T0.AddMinutes(1), Channel = Channel.Group, Ids = new CustomerIds { MemberId = "LIVE-M2" },
            GroupId = "GR-LIVE", CampaignId = "SOL-LIVE", Items = [new LineItem("CHERRY-5J", 1, 199m)],
        });
        await Task.Delay(500);
        await node.SendAsync(Order("live-3", "LIVE-M2", 199m));                                          // last_touch
        await node.SendAsync(Order("live-4", "LIVE-M3", 50m, sku: "APPLE-6"));                           // organic
        await node.SendAsync(new OrderRefunded
        {
            EventId = "live-5", OccurredAt = T0.AddMinutes(20), Channel = Channel.MiniProgram, Ids = new CustomerIds { MemberId = "LIVE-M1" },
            OrderId = "O-live-1", Amount = 99m,
        });

        var live = await NodeFixture.Eventually(() => LiveAsync("/v1/campaigns/SOL-LIVE/live"),
            j => j?["refunds"]?.GetValue<ulong>() == 1 && j["orders"]?.GetValue<ulong>() == 2, seconds: 40);

        Assert.NotNull(live);
        Assert.Equal(2UL, live!["orders"]!.GetValue<ulong>());
        Assert.Equal(2UL, live["buyers"]!.GetValue<ulong>());
        Assert.Equal(398m - 99m, live["revenue"]!.GetValue<decimal>());
        Assert.Equal(100U, live["stock"]!.GetValue<uint>());
        Assert.NotEmpty(live["per_minute"]!.AsArray());
    }

    /// <summary>
    /// A flash sale five days old (issue 16: money used to default to the last two days, units to
    /// the campaign's whole life, and later regular-price buys of its sku counted as sold through
    /// it, so "5/3" read as overselling). Without a range every figure covers its period plus its
    /// attribution window; units sold through it and later buys are apart; the demo board and the
    /// dashboard's panels show the same numbers.
    /// </summary>
    [Fact]
    public async Task A_campaign_older_than_two_days_has_every_figure_over_its_own_window_and_later_buys_apart()
    {
        var start = node.Clock.GetUtcNow().AddDays(-5);
        start = new DateTimeOffset(start.UtcTicks - (start.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);
        var id = $"FLASH-OLD-{Run}";
        const string sku = "PEACH-OLD";
        await PublishCampaignAsync(id, $$"""
            {"campaign_id":"{{id}}","type":"flash_sale","name":"peach flash sale","group_ids":["GR-OLD"],"skus":["{{sku}}"],"stock":3,
             "starts_at":"{{start:O}}","ends_at":"{{start.AddMinutes(20):O}}","attribution_window_hours":24}
            """);

        CustomerIds M(int i) => new() { MemberId = $"OLD-M{i}-{Run}" };
        OrderPlaced Buy(string e, int member, TimeSpan after, string itemSku, int qty, decimal price, string? campaign) => new()
        {
            EventId = $"{e}-{Run}", OccurredAt = start + after, Channel = Channel.MiniProgram, StoreId = "S-OLD", Ids = M(member),
            OrderId = $"O-{e}-{Run}", Amount = qty * price, Items = [new LineItem(itemSku, qty, price)], Payment = Payment.WechatPay, CampaignId = campaign,
        };
        FlashClaimed Claim(string e, int member, int minute) => new()
        {
            EventId = $"{e}-{Run}", OccurredAt = start.AddMinutes(minute), Channel = Channel.Group, Ids = M(member), GroupId = "GR-OLD", CampaignId = id, Sku = sku,
        };

        foreach (var claim in new[] { Claim("c1", 1, 1), Claim("c2", 2, 2), Claim("c3", 3, 3), Claim("c4", 4, 15) })
        {
            await node.SendAsync(claim);
        }
        // The claims are decided before the orders that follow them (another topic, so no order between them).
        var engine = ChDbEngine.Current!;
        var claims = await NodeFixture.Eventually(
            async () => (await engine.QueryAsync($"SELECT count() FROM siyu.touches FINAL WHERE campaign_id = '{id}'", format: "TabSeparated")).Trim(),
            n => n == "4", seconds: 40);
        Assert.Equal("4", claims);
        var inSale = new[]
        {
            Buy("f1", 1, TimeSpan.FromMinutes(4), sku, 1, 9.90m, id),    // direct, at the flash price
            Buy("f2", 2, TimeSpan.FromMinutes(6), sku, 1, 9.90m, id),    // direct
            Buy("f3", 3, TimeSpan.FromMinutes(9), sku, 1, 9.90m, null),  // last_touch: from the product page
        };
        var later = new[]
        {
            Buy("r4", 4, TimeSpan.FromHours(5), sku, 2, 29.90m, null),  // sold out for M4; later, at the regular price: last_touch
            Buy("a3", 3, TimeSpan.FromHours(2), "APPLE-OLD", 1, 15m, id), // names the sale, another sku: revenue, no units
        };
        var weekLater = Buy("w2", 2, TimeSpan.FromDays(3), sku, 1, 29.90m, id); // names the sale three days after it: outside its window
        foreach (var e in inSale.Concat(later).Append(weekLater))
        {
            await node.SendAsync(e);
        }
        await node.SendAsync(new OrderRefunded
        {
            EventId = $"x1-{Run}", OccurredAt = start.AddMinutes(30), Channel = Channel.MiniProgram, StoreId = "S-OLD", Ids = M(1),
            OrderId = inSale[0].OrderId, Amount = 9.90m,
        });

        // No range: the sale's 20 minutes plus 24 hours, for money, counts and units alike.
        var live = await NodeFixture.Eventually(() => LiveAsync($"/v1/campaigns/{id}/live"),
            j => j?["orders"]?.GetValue<ulong>() == 5 && j["refunds"]?.GetValue<ulong>() == 1, seconds: 60);
        output.WriteLine(live?.ToJsonString());
        Assert.NotNull(live);
        Assert.Equal(Iso(start), live!["window"]!["from"]!.GetValue<string>());
        Assert.Equal(Iso(start.AddMinutes(20).AddHours(24)), live["window"]!["to"]!.GetValue<string>());
        Assert.Equal(Iso(start.AddMinutes(20)), live["campaign"]!["ends_at"]!.GetValue<string>());
        Assert.Equal(5UL, live["orders"]!.GetValue<ulong>());
        Assert.Equal(4UL, live["buyers"]!.GetValue<ulong>());
        Assert.Equal((3 * 9.90m) + 59.80m + 15m - 9.90m, live["revenue"]!.GetValue<decimal>());
        Assert.Equal(9.90m, live["refund_amount"]!.GetValue<decimal>());
        Assert.Equal(3L, live["units_sold"]!.GetValue<long>());            // sold through the sale: not 5 against a stock of 3
        Assert.Equal(2L, live["units_after_campaign"]!.GetValue<long>());  // M4's regular-price buy, still attributed to it
        Assert.Equal(3U, live["stock"]!.GetValue<uint>());
        Assert.Equal(1.0, live["sell_through"]!.GetValue<double>());
        var minutes = live["per_minute"]!.AsArray();
        Assert.Equal(3L, minutes.Sum(m => m!["units_sold"]!.GetValue<long>()));
        Assert.Equal(2L, minutes.Sum(m => m!["units_after_campaign"]!.GetValue<long>()));
        Assert.Equal(live["revenue"]!.GetValue<decimal>(), minutes.Sum(m => m!["revenue"]!.GetValue<decimal>()));

        // A range says which window: here one that takes in the order three days later too.
        var wide = await LiveAsync($"/v1/campaigns/{id}/live?from={Uri.EscapeDataString(start.AddHours(-1).ToString("O"))}&to={Uri.EscapeDataString(start.AddDays(4).ToString("O"))}");
        Assert.Equal((6UL, 3L, 3L), (wide!["orders"]!.GetValue<ulong>(), wide["units_sold"]!.GetValue<long>(), wide["units_after_campaign"]!.GetValue<long>()));

        // The demo board reads the same split and shows it as sold/stock and later buys apart.
        var snapshot = await new DemoQueries(engine).ReadAsync(CancellationToken.None);
        var units = Assert.Single(snapshot.Units, u => u.CampaignId == id);
        Assert.Equal((3L, 2L, (uint?)3), (units.UnitsSold, units.UnitsAfterCampaign, units.Stock));
        var sales = snapshot.ByCampaign.Where(c => c.CampaignId == id).ToList();
        Assert.Equal((5UL, live["revenue"]!.GetValue<decimal>()), ((ulong)sales.Sum(c => (long)c.Orders), sales.Sum(c => c.Total)));
        var board = RenderBoard(snapshot with
        {
            ByCampaign = [.. snapshot.ByCampaign.Where(c => c.CampaignId == id)],
            Units = [units],
        }, id);
        output.WriteLine(board);
        var row = Assert.Single(board.Split('\n'), l => l.Contains(id, StringComparison.Ordinal));
        Assert.Contains("3/3", row, StringComparison.Ordinal);
        Assert.Contains("+2", row, StringComparison.Ordinal);
        Assert.DoesNotContain("5/3", row, StringComparison.Ordinal);

        // The live-campaign dashboard's units and sell-through panels give the same numbers.
        var panels = DashboardFiles.Queries(DashboardFiles.Load("live-campaign.json")).ToDictionary(q => q.Title, q => q.Sql);
        var macros = new GrafanaMacros
        {
            From = start.AddHours(-1), To = start.AddDays(4), Database = "siyu",
            Variables = new Dictionary<string, string[]> { ["campaign"] = [id], ["store"] = GrafanaMacros.All },
        };
        var stat = (await engine.QueryRowsAsync<Dictionary<string, JsonElement>>(macros.Expand(panels["Units (whole campaign)"]))).Single();
        Assert.Equal((3.0, 2.0), (Num(stat["sold_through_campaign"]), Num(stat["later_buys"])));
        var gauge = (await engine.QueryRowsAsync<Dictionary<string, JsonElement>>(macros.Expand(panels["Sell-through (whole campaign)"]))).Single();
        Assert.Equal(1.0, Num(gauge["sell_through"]));
    }

    [Fact]
    public async Task A_malformed_campaign_id_is_a_400()
    {
        var r = await node.Http.GetAsync("/v1/campaigns/bad%20id!/live");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
    }

    [Fact]
    public async Task A_range_that_ends_before_it_starts_is_a_400_that_says_so()
    {
        var r = await node.Http.GetAsync("/v1/campaigns/ANY/live?from=2026-11-02T10:00:00Z&to=2026-11-01T10:00:00Z");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
        Assert.Contains("before", JsonNode.Parse(await r.Content.ReadAsStringAsync())!["error"]!.GetValue<string>(), StringComparison.Ordinal);
    }

    // Published with its key (contract: siyu.campaigns is keyed by campaign_id); the orders are
    // decided against the campaigns the node knows, so wait until it has copied this one.
    private async Task PublishCampaignAsync(string id, string json)
    {
        await node.Producer.ProduceAsync(node.Topics.Campaigns, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(id), Value = Encoding.UTF8.GetBytes(json) });
        var known = await NodeFixture.Eventually(() => LiveAsync($"/v1/campaigns/{id}/live"), j => j?["campaign"] is JsonObject, seconds: 30);
        Assert.True(known?["campaign"] is JsonObject, $"the node never knew campaign {id}");
    }

    private async Task<JsonNode?> LiveAsync(string path)
    {
        var r = await node.Http.GetAsync(path);
        return r.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await r.Content.ReadAsStringAsync()) : null;
    }

    private static string RenderBoard(SalesSnapshot sales, string campaignId)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = 240;
        var empty = new Dictionary<string, long>();
        var definition = new Campaign
        {
            CampaignId = campaignId, Type = CampaignType.FlashSale, Name = "peach flash sale", Stock = 3,
            StartsAt = T0, EndsAt = T0.AddMinutes(20),
        };
        console.Write(DemoBoard.Render(new BoardState("test", null, 0, 0, 0, 0, 0, 0, TimeSpan.Zero, empty, empty, empty, sales,
            new Dictionary<string, Campaign> { [campaignId] = definition }, [], null)));
        return writer.ToString();
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    // ClickHouse may quote 64-bit integers in JSON.
    private static double Num(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? double.Parse(e.GetString()!, CultureInfo.InvariantCulture) : e.GetDouble();
}
