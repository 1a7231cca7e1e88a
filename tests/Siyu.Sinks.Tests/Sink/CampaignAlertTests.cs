using System.Globalization;
using System.Text.Json;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.Rows;
using Siyu.Sinks.Sink;
using Siyu.Sinks.Tests.ClickHouse;
using Siyu.Tests.Shared;
using Xunit.Abstractions;
using YamlDotNet.RepresentationModel;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// The campaign operators' Grafana alerts (dashboards/provisioning/alerting/campaign-alerts.yaml):
/// each rule's SQL runs on ClickHouse (chDB) over campaigns and sales written through the sinks
/// around now (the rules ask ClickHouse's now()), and the rule's own threshold, read from the
/// file, decides which campaigns alert: exactly the sold-out flash sale, exactly the stalled one.
/// </summary>
[Collection(ChDbCollection.Name)]
public sealed class CampaignAlertTests(ChDbFixture fixture, ITestOutputHelper output)
{
    [Fact]
    public async Task Sold_out_flash_sales_and_stalled_campaigns_alert_and_no_other()
    {
        var now = DateTimeOffset.UtcNow;
        var db = fixture.NewDatabase("alerts");
        CampaignRow Campaign(string id, string type, int startedMinutesAgo, int endsInMinutes, uint? stock, params string[] skus) => new()
        {
            CampaignId = id, Type = type, Name = id.ToLowerInvariant(), Skus = skus, Stock = stock,
            StartsAt = now.AddMinutes(-startedMinutesAgo), EndsAt = now.AddMinutes(endsInMinutes), Version = 1, UpdatedAt = now,
        };
        var campaigns = new[]
        {
            Campaign("F-SOLD", "flash_sale", 10, 10, 3, "CHERRY"),         // 3 of 3 sold: alerts
            Campaign("F-HALF", "flash_sale", 10, 10, 10, "CHERRY"),        // 3 of 10
            Campaign("F-OLD", "flash_sale", 3000, -2900, 1, "CHERRY"),     // sold out two days ago: over
            Campaign("C-STALL", "solitaire", 60, 60, null),               // sold 40 minutes ago, nothing since: alerts
            Campaign("C-ACTIVE", "solitaire", 60, 60, null),              // sold 3 minutes ago
            Campaign("C-NEW", "solitaire", 5, 60, null),                  // too young to stall
            Campaign("C-NOSALE", "coupon_day", 60, 60, null),             // never sold: nothing to stall
        };
        var n = 0;
        SaleRow Sale(string campaign, int minutesAgo, string sku, int qty) => new()
        {
            EventId = $"e{++n}", OrderId = $"o{n}", OccurredAt = now.AddMinutes(-minutesAgo), CustomerId = $"c{n}", Channel = "miniprogram",
            StoreId = "S001", Amount = qty * 10m, CampaignId = campaign, CampaignType = campaigns.Single(c => c.CampaignId == campaign).Type,
            Rule = AttributionRules.Direct, Items = [new SaleItem(sku, qty, 10m)],
        };
        var sales = new[]
        {
            Sale("F-SOLD", 8, "CHERRY", 2), Sale("F-SOLD", 4, "CHERRY", 1), Sale("F-SOLD", 4, "APPLE", 5), // apples are not its sku
            Sale("F-HALF", 6, "CHERRY", 3),
            Sale("F-OLD", 2995, "CHERRY", 1),
            Sale("C-STALL", 40, "DURIAN", 1),
            Sale("C-ACTIVE", 40, "DURIAN", 1), Sale("C-ACTIVE", 3, "DURIAN", 2),
            Sale("C-NEW", 2, "MANGO", 1),
        };
        await using (var sinks = await SiyuSinks.StartAsync(fixture.Engine, new SiyuSinksOptions
        {
            Database = db, Sink = new ClickHouseSinkOptions { BatchDelay = TimeSpan.FromMilliseconds(20) }, PipelineMetrics = null,
        }))
        {
            await sinks.Campaigns.WriteAllAsync(campaigns);
            await sinks.Sales.WriteAllAsync(sales);
        }

        var firing = new Dictionary<string, string[]>();
        foreach (var rule in Rules())
        {
            var title = rule.Str("title")!;
            var data = ((YamlSequenceNode)rule.Children["data"]).Children.Cast<YamlMappingNode>().ToList();
            var query = data.Single(d => d.Str("datasourceUid") == DashboardFiles.DatasourceUid);
            var threshold = data.Single(d => d.Str("refId") == rule.Str("condition")).Map("model");
            Assert.Equal(query.Str("refId"), threshold.Str("expression"));
            var evaluator = ((YamlMappingNode)((YamlSequenceNode)threshold.Children["conditions"]).Children[0]).Map("evaluator");
            var type = evaluator.Str("type");
            var limit = double.Parse(((YamlScalarNode)((YamlSequenceNode)evaluator.Children["params"]).Children[0]).Value!, CultureInfo.InvariantCulture);

            var sql = new GrafanaMacros { From = now.AddHours(-1), To = now, Variables = new Dictionary<string, string[]>(), Database = db }.Expand(query.Map("model").Str("rawSql")!);
            var rows = await fixture.Engine.QueryRowsAsync<Dictionary<string, JsonElement>>(sql);
            // As Grafana reads a table: string columns are the instance's labels, the number is its value.
            var alerting = rows.Where(r =>
            {
                Assert.All(r.Values, v => Assert.True(v.ValueKind is JsonValueKind.Number or JsonValueKind.String, $"{title}: {v}"));
                var x = r.Values.Single(v => v.ValueKind is JsonValueKind.Number).GetDouble();
                return type switch { "gt" => x > limit, "lt" => x < limit, _ => throw new InvalidOperationException($"evaluator {type}") };
            }).Select(r => r["campaign_id"].GetString()!).Order(StringComparer.Ordinal).ToArray();
            output.WriteLine($"{title}: {rows.Count} rows ({string.Join("; ", rows.Select(r => string.Join(", ", r.Select(kv => $"{kv.Key}={kv.Value}"))))}); alerting: {string.Join(", ", alerting)}");
            firing[title] = alerting;
        }
        Assert.Equal(["F-SOLD"], firing["Flash sale sold out"]);
        Assert.Equal(["C-STALL"], firing["Campaign revenue stalled"]);
    }

    private static IEnumerable<YamlMappingNode> Rules()
    {
        var path = Path.Combine(DashboardFiles.Directory(), "provisioning", "alerting", "campaign-alerts.yaml");
        var yaml = new YamlStream();
        yaml.Load(new StringReader(File.ReadAllText(path)));
        var root = (YamlMappingNode)yaml.Documents[0].RootNode;
        return ((YamlSequenceNode)root.Children["groups"]).Children.Cast<YamlMappingNode>()
            .SelectMany(g => ((YamlSequenceNode)g.Children["rules"]).Children.Cast<YamlMappingNode>());
    }
}

internal static class YamlNodes
{
    public static string? Str(this YamlMappingNode map, string key) => map.Children.TryGetValue(key, out var v) ? (v as YamlScalarNode)?.Value : null;

    public static YamlMappingNode Map(this YamlMappingNode map, string key) => (YamlMappingNode)map.Children[key];
}
