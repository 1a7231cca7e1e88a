using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;

namespace Siyu.Sinks;

/// <summary>One minute of a live campaign.</summary>
public sealed record CampaignMinute(DateTimeOffset Minute, decimal Revenue, ulong Orders, ulong Buyers, long Units);

/// <summary>
/// What <c>GET /v1/campaigns/{campaign_id}/live</c> answers: totals over the window, sell-through
/// over the whole campaign (campaign skus only; null without a stock), and each minute.
/// </summary>
public sealed record CampaignLive(
    string CampaignId,
    decimal Revenue,
    decimal RefundAmount,
    ulong Orders,
    ulong Refunds,
    ulong Buyers,
    long UnitsSold,
    uint? Stock,
    double? SellThrough,
    IReadOnlyList<CampaignMinute> Minutes);

/// <summary>
/// Reads for the API, over the per-minute views (exact while every row comes through the sink,
/// see 002_minute_views.sql). Revenue is net of refunds; orders and buyers count order rows only.
/// </summary>
public sealed class SalesQueries
{
    private readonly IClickHouse _clickHouse;
    private readonly string _db;

    public SalesQueries(IClickHouse clickHouse, string database = SchemaMigrator.DefaultDatabase)
    {
        ArgumentNullException.ThrowIfNull(clickHouse);
        _clickHouse = clickHouse;
        _db = SchemaMigrator.QuoteDatabase(database);
    }

    /// <summary>The campaign between <paramref name="from"/> and <paramref name="to"/> (minutes starting in that window).</summary>
    public async Task<CampaignLive> CampaignLiveAsync(string campaignId, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(campaignId);
        var p = new Dictionary<string, string>
        {
            ["campaign"] = ClickHouseParam.Of(campaignId),
            ["from"] = ClickHouseParam.Of(WholeSeconds(from)),
            ["to"] = ClickHouseParam.Of(WholeSeconds(to)),
        };
        const string window = "campaign_id = {campaign:String} AND minute >= {from:DateTime('UTC')} AND minute <= {to:DateTime('UTC')}";

        var totals = (await _clickHouse.QueryRowsAsync<Totals>(
            $"""
            SELECT sum(revenue) AS revenue, sum(refund_amount) AS refund_amount,
                   uniqExactMerge(orders) AS orders, uniqExactMerge(refunds) AS refunds, uniqExactMerge(buyers) AS buyers
            FROM {_db}.campaign_sales_minute WHERE {window}
            """, p, cancellationToken: cancellationToken).ConfigureAwait(false)).Single();

        var minutes = await _clickHouse.QueryRowsAsync<MinuteRow>(
            $"""
            SELECT minute, sum(revenue) AS revenue, uniqExactMerge(orders) AS orders, uniqExactMerge(buyers) AS buyers
            FROM {_db}.campaign_sales_minute WHERE {window}
            GROUP BY minute ORDER BY minute
            """, p, cancellationToken: cancellationToken).ConfigureAwait(false);

        // Units of the campaign's skus (all skus when it names none), per minute and over its whole life.
        var units = await _clickHouse.QueryRowsAsync<UnitsRow>(
            $$"""
            SELECT s.minute AS minute, sumIf(s.units, empty(c.skus) OR has(c.skus, s.sku)) AS units
            FROM {{_db}}.campaign_sku_minute AS s
            LEFT JOIN (SELECT campaign_id, skus FROM {{_db}}.campaigns FINAL WHERE campaign_id = {campaign:String}) AS c
                ON c.campaign_id = s.campaign_id
            WHERE s.campaign_id = {campaign:String}
            GROUP BY minute ORDER BY minute
            """, p, cancellationToken: cancellationToken).ConfigureAwait(false);

        var stock = (await _clickHouse.QueryRowsAsync<StockRow>(
            $"SELECT stock FROM {_db}.campaigns FINAL WHERE campaign_id = {{campaign:String}}", p,
            cancellationToken: cancellationToken).ConfigureAwait(false)).SingleOrDefault()?.Stock;

        var unitsByMinute = units.ToDictionary(u => u.Minute, u => u.Units);
        var sold = units.Sum(u => u.Units);
        return new CampaignLive(
            campaignId,
            totals.Revenue,
            totals.RefundAmount,
            totals.Orders,
            totals.Refunds,
            totals.Buyers,
            sold,
            stock,
            stock is > 0 ? (double)sold / stock.Value : null,
            minutes.Select(m => new CampaignMinute(m.Minute, m.Revenue, m.Orders, m.Buyers, unitsByMinute.GetValueOrDefault(m.Minute))).ToList());
    }

    private static DateTimeOffset WholeSeconds(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private sealed record Totals(decimal Revenue, decimal RefundAmount, ulong Orders, ulong Refunds, ulong Buyers);

    private sealed record MinuteRow(DateTimeOffset Minute, decimal Revenue, ulong Orders, ulong Buyers);

    private sealed record UnitsRow(DateTimeOffset Minute, long Units);

    private sealed record StockRow(uint? Stock);
}
