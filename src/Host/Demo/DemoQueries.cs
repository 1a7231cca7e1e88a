using Siyu.Sinks;
using Siyu.Sinks.ClickHouse;

namespace Siyu.Host.Demo;

public sealed record RuleSales(string Rule, decimal Total, ulong Orders);

public sealed record CampaignSales(string CampaignId, string CampaignType, string Rule, decimal Total, ulong Orders);

public sealed record GroupSales(string GroupId, decimal Total, ulong Orders, ulong Buyers);

public sealed record GuideSales(string GuideId, decimal Total, ulong Orders, decimal Collected);

/// <summary>One read of everything the board shows from ClickHouse.</summary>
public sealed record SalesSnapshot(
    IReadOnlyList<RuleSales> ByRule,
    IReadOnlyList<CampaignSales> ByCampaign,
    IReadOnlyList<CampaignUnits> Units,
    IReadOnlyList<GroupSales> TopGroups,
    IReadOnlyList<GuideSales> TopGuides)
{
    public static SalesSnapshot Empty { get; } = new([], [], [], [], []);
}

// Aggregates are aliased `total`, not `revenue`: ClickHouse resolves an alias everywhere in the
// query, so `sum(revenue) AS revenue` beside `sumIf(revenue, ...)` would nest aggregates.

/// <summary>
/// The board's reads, over the same per-minute views the Grafana dashboards use (see
/// src/Sinks/ClickHouse/Schema/002_minute_views.sql): what an operator would see there.
/// </summary>
public sealed class DemoQueries(IClickHouse clickHouse, string database = "siyu")
{
    public async Task<SalesSnapshot> ReadAsync(CancellationToken ct)
    {
        var byRule = await clickHouse.QueryRowsAsync<RuleSales>(
            $"SELECT rule, sum(revenue) AS total, uniqExactMerge(orders) AS orders FROM {database}.store_sales_minute GROUP BY rule ORDER BY total DESC",
            cancellationToken: ct);
        // Each campaign over its default window, as the live API answers without a range (all
        // it recorded when its definition is unknown).
        var byCampaign = await clickHouse.QueryRowsAsync<CampaignSales>(
            $"""
            SELECT s.campaign_id AS campaign_id, s.campaign_type AS campaign_type, s.rule AS rule,
                   sum(s.revenue) AS total, uniqExactMerge(s.orders) AS orders
            FROM {database}.campaign_sales_minute AS s
            LEFT JOIN (SELECT campaign_id, starts_at, ends_at, attribution_window_hours FROM {database}.campaigns FINAL) AS c
                ON c.campaign_id = s.campaign_id
            WHERE c.campaign_id = '' OR ({SalesQueries.InDefaultWindow})
            GROUP BY s.campaign_id, s.campaign_type, s.rule
            """, cancellationToken: ct);
        // Units sold through each campaign and later buys of its skus, split as the live API splits them.
        var units = await new SalesQueries(clickHouse, database).CampaignUnitsAsync(ct);
        var groups = await clickHouse.QueryRowsAsync<GroupSales>(
            $"""
            SELECT group_id, sum(revenue) AS total, uniqExactMerge(orders) AS orders, uniqExactMerge(buyers) AS buyers
            FROM {database}.group_sales_minute GROUP BY group_id ORDER BY total DESC, group_id LIMIT 5
            """, cancellationToken: ct);
        var guides = await clickHouse.QueryRowsAsync<GuideSales>(
            $"""
            SELECT guide_id, sum(revenue) AS total, uniqExactMerge(orders) AS orders, sumIf(revenue, payment = 'wecom_collect') AS collected
            FROM {database}.guide_sales_minute GROUP BY guide_id ORDER BY total DESC, guide_id LIMIT 5
            """, cancellationToken: ct);
        return new SalesSnapshot(byRule, byCampaign, units, groups, guides);
    }
}
