using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;

namespace Siyu.Sinks;

/// <summary>
/// One minute of a live campaign. <see cref="Units"/> are the units of the campaign's skus in its
/// orders that minute (a refund row that carries items nets them out; the node's refunds name
/// only an amount); <see cref="UnitsSold"/> is the part sold while the campaign
/// ran, <see cref="UnitsAfterCampaign"/> the part bought after it ended (null without a definition).
/// </summary>
public sealed record CampaignMinute(DateTimeOffset Minute, decimal Revenue, ulong Orders, ulong Buyers, long Units, long UnitsSold, long? UnitsAfterCampaign);

/// <summary>A campaign's definition as copied to ClickHouse <c>siyu.campaigns</c> (latest wins).</summary>
public sealed record CampaignPeriod(DateTimeOffset StartsAt, DateTimeOffset EndsAt, TimeSpan AttributionWindow, uint? Stock, IReadOnlyList<string> Skus)
{
    /// <summary>The window every figure of a campaign covers by default: its own period plus its attribution window.</summary>
    public (DateTimeOffset From, DateTimeOffset To) DefaultWindow => (SalesQueries.StartOfMinute(StartsAt), EndsAt + AttributionWindow);
}

/// <summary>
/// What <c>GET /v1/campaigns/{campaign_id}/live</c> answers. Every figure covers the same window
/// (<see cref="From"/> to <see cref="To"/>, minutes starting in it; null: unbounded). Units are of
/// the campaign's skus (all skus when it names none): <see cref="UnitsSold"/> were
/// sold through the campaign (minutes before its end), <see cref="UnitsAfterCampaign"/> are later
/// buys of its skus still attributed to it (last_touch within the attribution window, or orders
/// naming it after it ended). Sell-through is <see cref="UnitsSold"/> over the stock.
/// </summary>
public sealed record CampaignLive(
    string CampaignId,
    DateTimeOffset? From,
    DateTimeOffset? To,
    CampaignPeriod? Period,
    decimal Revenue,
    decimal RefundAmount,
    ulong Orders,
    ulong Refunds,
    ulong Buyers,
    long UnitsSold,
    long? UnitsAfterCampaign,
    uint? Stock,
    double? SellThrough,
    IReadOnlyList<CampaignMinute> Minutes);

/// <summary>Units of one campaign's skus over its default window, split as in <see cref="CampaignLive"/>.</summary>
public sealed record CampaignUnits(string CampaignId, long UnitsSold, long UnitsAfterCampaign, uint? Stock);

/// <summary>What <c>GET /v1/sales/summary</c> totals by: each is the key of one per-minute view.</summary>
public enum SalesDimension
{
    Rule,
    Campaign,
    Guide,
    Group,
    Store,
}

/// <summary>
/// One key's totals over a window: <see cref="Net"/> is order amounts minus refunds,
/// <see cref="Gross"/> order amounts alone, <see cref="RefundAmount"/> what was refunded (so
/// net = gross − refund_amount); <see cref="Orders"/> and <see cref="Refunds"/> count distinct
/// orders and refunds, <see cref="Buyers"/> distinct customers with an order.
/// </summary>
public sealed record SalesTotals(string Key, decimal Net, decimal Gross, decimal RefundAmount, ulong Orders, ulong Refunds, ulong Buyers);

/// <summary>
/// Reads for the API and the demo board, over the per-minute views the dashboards use (exact while
/// every row comes through the sink, see 002_minute_views.sql). Revenue is net of refunds; orders
/// and buyers count order rows only.
/// </summary>
public sealed class SalesQueries
{
    // How a unit is told apart, here and in dashboards/live-campaign.json: sold through the campaign
    // when its minute starts before the campaign's end, bought later otherwise. Minutes are the
    // views' grain, so an order in the campaign's last, partial minute counts as sold through it.
    private const string SoldThrough = "minute < {ends:DateTime64(3, 'UTC')}";

    /// <summary>
    /// The default window of a campaign as SQL, for a per-minute view aliased <c>s</c> joined with
    /// its definition aliased <c>c</c>: minutes from its start to its end plus its attribution window.
    /// </summary>
    public const string InDefaultWindow =
        "s.minute >= toStartOfMinute(c.starts_at) AND s.minute <= c.ends_at + toIntervalHour(c.attribution_window_hours)";

    private readonly IClickHouse _clickHouse;
    private readonly string _db;

    public SalesQueries(IClickHouse clickHouse, string database = SchemaMigrator.DefaultDatabase)
    {
        ArgumentNullException.ThrowIfNull(clickHouse);
        _clickHouse = clickHouse;
        _db = SchemaMigrator.QuoteDatabase(database);
    }

    /// <summary>The campaign's latest definition in ClickHouse, or null when none was copied there.</summary>
    public async Task<CampaignPeriod?> CampaignPeriodAsync(string campaignId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(campaignId);
        var row = (await _clickHouse.QueryRowsAsync<PeriodRow>(
            $$"""
            SELECT starts_at, ends_at, attribution_window_hours, stock, skus
            FROM {{_db}}.campaigns FINAL WHERE campaign_id = {campaign:String}
            """, new Dictionary<string, string> { ["campaign"] = ClickHouseParam.Of(campaignId) },
            cancellationToken: cancellationToken).ConfigureAwait(false)).SingleOrDefault();
        return row is null ? null
            : new CampaignPeriod(row.StartsAt, row.EndsAt, TimeSpan.FromHours(row.AttributionWindowHours), row.Stock, row.Skus);
    }

    /// <summary>
    /// The campaign over one window: minutes starting between <paramref name="from"/> and
    /// <paramref name="to"/>; a null bound is taken from <paramref name="period"/>'s default window
    /// (its start; its end plus its attribution window), or left open when the definition is unknown.
    /// </summary>
    public async Task<CampaignLive> CampaignLiveAsync(string campaignId, DateTimeOffset? from, DateTimeOffset? to,
        CampaignPeriod? period, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(campaignId);
        if (period is not null)
        {
            from ??= period.DefaultWindow.From;
            to ??= period.DefaultWindow.To;
        }
        var p = new Dictionary<string, string> { ["campaign"] = ClickHouseParam.Of(campaignId) };
        var window = "campaign_id = {campaign:String}";
        if (from is { } f)
        {
            p["from"] = ClickHouseParam.Of(WholeSeconds(f));
            window += " AND minute >= {from:DateTime('UTC')}";
        }
        if (to is { } t)
        {
            p["to"] = ClickHouseParam.Of(WholeSeconds(t));
            window += " AND minute <= {to:DateTime('UTC')}";
        }

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

        // Units of the campaign's skus (all skus when it names none or is unknown), per minute. No
        // alias may be `units`: ClickHouse would resolve the column inside sumIf to the alias.
        string units;
        if (period is null)
        {
            units = "sum(units) AS total_units, sum(units) AS units_sold, 0 AS units_after";
        }
        else
        {
            p["ends"] = ClickHouseParam.Of(period.EndsAt);
            p["skus"] = ClickHouseParam.Of(period.Skus);
            units = $"sum(units) AS total_units, sumIf(units, {SoldThrough}) AS units_sold, sumIf(units, NOT ({SoldThrough})) AS units_after";
            window += " AND (empty({skus:Array(String)}) OR has({skus:Array(String)}, sku))";
        }
        var unitRows = await _clickHouse.QueryRowsAsync<UnitsRow>(
            $"SELECT minute, {units} FROM {_db}.campaign_sku_minute WHERE {window} GROUP BY minute ORDER BY minute",
            p, cancellationToken: cancellationToken).ConfigureAwait(false);

        var unitsByMinute = unitRows.ToDictionary(u => u.Minute);
        var sold = unitRows.Sum(u => u.UnitsSold);
        var stock = period?.Stock;
        return new CampaignLive(
            campaignId,
            from,
            to,
            period,
            totals.Revenue,
            totals.RefundAmount,
            totals.Orders,
            totals.Refunds,
            totals.Buyers,
            sold,
            period is null ? null : unitRows.Sum(u => u.UnitsAfter),
            stock,
            stock is > 0 ? (double)sold / stock.Value : null,
            minutes.Select(m =>
            {
                var u = unitsByMinute.GetValueOrDefault(m.Minute);
                return new CampaignMinute(m.Minute, m.Revenue, m.Orders, m.Buyers, u?.TotalUnits ?? 0, u?.UnitsSold ?? 0,
                    period is null ? null : u?.UnitsAfter ?? 0);
            }).ToList());
    }

    /// <summary>
    /// Units sold through and after each campaign that has a definition, over its default window:
    /// the demo board's figures, equal to <see cref="CampaignLiveAsync"/> without a range and to the
    /// "Units (whole campaign)" panel of dashboards/live-campaign.json.
    /// </summary>
    public async Task<IReadOnlyList<CampaignUnits>> CampaignUnitsAsync(CancellationToken cancellationToken = default) =>
        await _clickHouse.QueryRowsAsync<CampaignUnits>(
            $"""
            SELECT s.campaign_id AS campaign_id,
                   sumIf(s.units, s.minute < c.ends_at) AS units_sold,
                   sumIf(s.units, s.minute >= c.ends_at) AS units_after_campaign,
                   any(c.stock) AS stock
            FROM {_db}.campaign_sku_minute AS s
            INNER JOIN (SELECT campaign_id, skus, stock, starts_at, ends_at, attribution_window_hours FROM {_db}.campaigns FINAL) AS c
                ON c.campaign_id = s.campaign_id
            WHERE (empty(c.skus) OR has(c.skus, s.sku)) AND {InDefaultWindow}
            GROUP BY s.campaign_id
            """, cancellationToken: cancellationToken).ConfigureAwait(false);

    /// <summary>
    /// Totals by <paramref name="by"/> over minutes starting between <paramref name="from"/> and
    /// <paramref name="to"/>, from the views the dashboards read (002_minute_views.sql), largest net
    /// first. Rule and store cover every sale; campaign, guide and group only sales that have one.
    /// </summary>
    public async Task<IReadOnlyList<SalesTotals>> SummaryAsync(SalesDimension by, DateTimeOffset from, DateTimeOffset to,
        CancellationToken cancellationToken = default)
    {
        var (view, key) = by switch
        {
            SalesDimension.Rule => ("store_sales_minute", "rule"),
            SalesDimension.Campaign => ("campaign_sales_minute", "campaign_id"),
            SalesDimension.Guide => ("guide_sales_minute", "guide_id"),
            SalesDimension.Group => ("group_sales_minute", "group_id"),
            SalesDimension.Store => ("store_sales_minute", "store_id"),
            _ => throw new ArgumentOutOfRangeException(nameof(by), by, null),
        };
        // Aliased apart from the columns: ClickHouse resolves an alias everywhere in the query.
        var rows = await _clickHouse.QueryRowsAsync<SummaryRow>(
            $$"""
            SELECT toString({{key}}) AS key, sum(revenue) AS net, sum(revenue) + sum(refund_amount) AS gross,
                   sum(refund_amount) AS refunded, uniqExactMerge(orders) AS order_count,
                   uniqExactMerge(refunds) AS refund_count, uniqExactMerge(buyers) AS buyer_count
            FROM {{_db}}.{{view}}
            WHERE minute >= {from:DateTime('UTC')} AND minute <= {to:DateTime('UTC')}
            GROUP BY key ORDER BY net DESC, key
            """,
            new Dictionary<string, string>
            {
                ["from"] = ClickHouseParam.Of(WholeSeconds(from)),
                ["to"] = ClickHouseParam.Of(WholeSeconds(to)),
            },
            cancellationToken: cancellationToken).ConfigureAwait(false);
        return rows.Select(r => new SalesTotals(r.Key, r.Net, r.Gross, r.Refunded, r.OrderCount, r.RefundCount, r.BuyerCount)).ToList();
    }

    /// <summary>The minute <paramref name="t"/> falls in (the views' grain), in UTC.</summary>
    public static DateTimeOffset StartOfMinute(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    private static DateTimeOffset WholeSeconds(DateTimeOffset t) =>
        new(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    private sealed record Totals(decimal Revenue, decimal RefundAmount, ulong Orders, ulong Refunds, ulong Buyers);

    private sealed record MinuteRow(DateTimeOffset Minute, decimal Revenue, ulong Orders, ulong Buyers);

    private sealed record UnitsRow(DateTimeOffset Minute, long TotalUnits, long UnitsSold, long UnitsAfter);

    private sealed record SummaryRow(string Key, decimal Net, decimal Gross, decimal Refunded, ulong OrderCount, ulong RefundCount, ulong BuyerCount);

    private sealed record PeriodRow(DateTimeOffset StartsAt, DateTimeOffset EndsAt, double AttributionWindowHours, uint? Stock, string[] Skus);
}
