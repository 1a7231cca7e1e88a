using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Rows;
using Siyu.Sinks.Sink;
using Siyu.Sinks.Tests.ClickHouse;
using Xunit.Abstractions;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// Totals by campaign, rule, group, guide and store — read from the per-minute views and from
/// attributed_sales FINAL — equal the totals computed here from the input rows, although rows
/// were redelivered (within a batch, across batches, after a restart), refunded, and inserted
/// by attempts whose response was lost.
/// </summary>
[Collection(ChDbCollection.Name)]
public sealed class ExactnessTests(ChDbFixture fixture, ITestOutputHelper output)
{
    private static readonly ClickHouseSinkOptions Fast = new()
    {
        BatchRows = 250,
        BatchDelay = TimeSpan.FromMilliseconds(20),
        RetryDelay = TimeSpan.FromMilliseconds(5),
        RetryMaxDelay = TimeSpan.FromMilliseconds(20),
    };

    [Fact]
    public async Task Totals_match_the_input_despite_redelivery_refunds_and_lost_responses()
    {
        var db = fixture.NewDatabase("exact");
        await new SchemaMigrator(fixture.Engine, db).MigrateAsync();
        var scenario = new SalesScenario();
        var sales = scenario.Sales;
        Assert.Contains(sales, s => s.Amount < 0);

        // First life: every row, every 17th written twice in a row (a retried handler); the
        // network loses the response of two inserts that ClickHouse did store.
        var network = new FaultyNetwork(fixture.Engine).FailAfter(2, 5).FailBefore(3);
        await using (var sink = new ClickHouseSink<SaleRow>(network, SiyuTables.Sales(db), Fast))
        {
            for (var i = 0; i < sales.Count; i++)
            {
                await sink.WriteAsync(sales[i]);
                if (i % 17 == 0)
                {
                    await sink.WriteAsync(sales[i]);
                }
            }

            await sink.FlushAsync();
            Assert.Equal(sales.Count, sink.RowsInserted);
            Assert.Equal(0, sink.RowsGivenUp);
        }

        // Second life, after a crash: a new sink (empty recent window) gets Kafka's uncommitted
        // tail again, plus rows it never saw; only the new ones are inserted.
        var tail = sales.Skip(sales.Count - 400).ToList();
        var fresh = sales.Take(3).Select(s => s with { EventId = s.EventId + "-late", OccurredAt = s.OccurredAt.AddMinutes(1) }).ToList();
        await using (var restarted = new ClickHouseSink<SaleRow>(fixture.Engine, SiyuTables.Sales(db), Fast))
        {
            await restarted.WriteAllAsync(tail.Concat(fresh));
            await restarted.FlushAsync();
            Assert.Equal(400, restarted.RowsSkipped);
            Assert.Equal(fresh.Count, restarted.RowsInserted);
        }

        var all = sales.Concat(fresh).ToList();
        // Not one duplicate row was stored, merged or not.
        Assert.Equal(all.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
            (await fixture.Engine.QueryAsync($"SELECT count() FROM `{db}`.attributed_sales", format: "TabSeparated")).Trim());

        await AssertTotals(db, "campaign", "campaign_id", "campaign_sales_minute", all.Where(s => s.CampaignId != ""), s => s.CampaignId);
        await AssertTotals(db, "rule", "rule", "store_sales_minute", all, s => s.Rule);
        await AssertTotals(db, "group", "group_id", "group_sales_minute", all.Where(s => s.GroupId != ""), s => s.GroupId);
        await AssertTotals(db, "guide", "guide_id", "guide_sales_minute", all.Where(s => s.GuideId != ""), s => s.GuideId);
        await AssertTotals(db, "store", "store_id", "store_sales_minute", all, s => s.StoreId);
    }

    [Fact]
    public async Task The_live_campaign_answer_matches_the_input()
    {
        var db = fixture.NewDatabase("live");
        await new SchemaMigrator(fixture.Engine, db).MigrateAsync();
        var scenario = new SalesScenario(orders: 600, seed: 11);
        await using (var campaigns = new ClickHouseSink<CampaignRow>(fixture.Engine, SiyuTables.Campaigns(db), Fast))
        await using (var sink = new ClickHouseSink<SaleRow>(fixture.Engine, SiyuTables.Sales(db), Fast))
        {
            await campaigns.WriteAllAsync(scenario.Campaigns);
            await sink.WriteAllAsync(scenario.Sales);
            await sink.WriteAllAsync(scenario.Sales.Take(100)); // redelivered
        }

        var queries = new SalesQueries(fixture.Engine, db);
        var period = await queries.CampaignPeriodAsync("C-FLASH");
        Assert.NotNull(period);
        Assert.Equal((SalesScenario.Day, SalesScenario.Day.AddHours(2), TimeSpan.FromHours(24), 2000u), (period!.StartsAt, period.EndsAt, period.AttributionWindow, period.Stock));

        // A range that runs an hour past the campaign's end: every figure covers it, units included.
        var from = SalesScenario.Day;
        var to = SalesScenario.Day.AddHours(3);
        var live = await queries.CampaignLiveAsync("C-FLASH", from, to, period);
        AssertLive(scenario, live, from, to);

        // No range: the campaign's period plus its attribution window (24 h), so the December
        // orders that name it (two weeks later) are out of every figure.
        var whole = await queries.CampaignLiveAsync("C-FLASH", null, null, period);
        Assert.Equal((SalesScenario.Day, SalesScenario.Day.AddHours(26)), (whole.From!.Value, whole.To!.Value));
        Assert.Contains(scenario.Sales, s => s.CampaignId == "C-FLASH" && s.OccurredAt > SalesScenario.Day.AddDays(10));
        AssertLive(scenario, whole, SalesScenario.Day, SalesScenario.Day.AddHours(26));
        Assert.True(whole.UnitsAfterCampaign != 0, "the scenario has refunds after the campaign's end");

        // The demo board's split (every campaign at once) is the same as the API's without a range.
        var board = (await queries.CampaignUnitsAsync()).ToDictionary(u => u.CampaignId);
        Assert.Equal((whole.UnitsSold, whole.UnitsAfterCampaign, 2000u), (board["C-FLASH"].UnitsSold, (long?)board["C-FLASH"].UnitsAfterCampaign, board["C-FLASH"].Stock));

        // A campaign without a definition in ClickHouse: its whole record, no split, no stock.
        var unknown = await queries.CampaignLiveAsync("C-FLASH", null, null, period: null);
        Assert.Equal((null, null, null, null), (unknown.From, unknown.To, unknown.UnitsAfterCampaign, unknown.Stock));
        Assert.Equal(SalesScenario.Expected(scenario.Sales.Where(s => s.CampaignId == "C-FLASH"), s => s.CampaignId)["C-FLASH"].Revenue, unknown.Revenue);
        output.WriteLine($"C-FLASH: revenue {live.Revenue}, orders {live.Orders}, buyers {live.Buyers}, sell-through {live.SellThrough:P1}, {live.Minutes.Count} minutes; "
            + $"without a range: units {whole.UnitsSold} sold + {whole.UnitsAfterCampaign} later");
    }

    // What the live answer must be over [from, to] (minutes starting in it), computed from the input rows.
    private static void AssertLive(SalesScenario scenario, CampaignLive live, DateTimeOffset from, DateTimeOffset to)
    {
        var inWindow = scenario.Sales.Where(s => s.CampaignId == "C-FLASH"
            && s.OccurredAt >= from && s.OccurredAt < new DateTimeOffset(to.UtcDateTime.AddMinutes(1), TimeSpan.Zero)).ToList();
        var expected = SalesScenario.Expected(inWindow, s => s.CampaignId)["C-FLASH"];
        Assert.Equal(expected.Revenue, live.Revenue);
        Assert.Equal(expected.Orders, live.Orders);
        Assert.Equal(expected.Buyers, live.Buyers);
        Assert.Equal(expected.Refunds, live.Refunds);
        Assert.Equal(-inWindow.Where(s => s.Amount < 0).Sum(s => s.Amount), live.RefundAmount);
        Assert.Equal(expected.Revenue, live.Minutes.Sum(m => m.Revenue));
        Assert.Equal(expected.Orders, (ulong)live.Minutes.Sum(m => (long)m.Orders)); // an order id falls in one minute

        // Units of the campaign's skus (CHERRY), refunds netted: sold through it before its end
        // (Day + 2 h), later buys after; sell-through counts the first only.
        var end = SalesScenario.Day.AddHours(2);
        long Units(Func<SaleRow, bool> which) => inWindow.Where(which).SelectMany(s => s.Items).Where(x => x.Sku == "CHERRY").Sum(x => (long)x.Qty);
        Assert.Equal(Units(s => s.OccurredAt < end), live.UnitsSold);
        Assert.Equal(Units(s => s.OccurredAt >= end), live.UnitsAfterCampaign);
        Assert.Equal(live.UnitsSold, live.Minutes.Sum(m => m.UnitsSold));
        Assert.Equal(live.UnitsAfterCampaign, live.Minutes.Sum(m => m.UnitsAfterCampaign));
        Assert.Equal(2000u, live.Stock);
        Assert.Equal(live.UnitsSold / 2000.0, live.SellThrough!.Value, 9);
    }

    [Fact]
    public async Task Rows_that_bypass_the_sink_twice_stay_exact_in_FINAL_and_in_counts_but_not_in_view_sums()
    {
        // Why the sink dedups: a materialized view aggregates each insert block as it arrives.
        var db = fixture.NewDatabase("bypass");
        await new SchemaMigrator(fixture.Engine, db).MigrateAsync();
        var rows = new SalesScenario(orders: 200, seed: 3).Sales.Where(s => s.CampaignId == "C-SOL").ToList();
        await fixture.Engine.InsertJsonEachRowAsync($"{db}.attributed_sales", rows);
        await fixture.Engine.InsertJsonEachRowAsync($"{db}.attributed_sales", rows);
        var expected = SalesScenario.Expected(rows, s => s.CampaignId)["C-SOL"];

        var final = await Totals(db, $"SELECT campaign_id AS k, {RawTotals} FROM `{db}`.attributed_sales FINAL GROUP BY k");
        Assert.Equal(expected, final["C-SOL"]);

        var view = (await Totals(db, ViewSql(db, "campaign_sales_minute", "campaign_id")))["C-SOL"];
        Assert.Equal(expected.Orders, view.Orders);   // uniqExact states are idempotent
        Assert.Equal(expected.Buyers, view.Buyers);
        Assert.Equal(2 * expected.Revenue, view.Revenue); // sums are not: this is what the sink prevents
    }

    [Fact]
    public async Task Profiles_keep_the_latest_version_whatever_the_arrival_order()
    {
        var db = fixture.NewDatabase("profiles");
        await new SchemaMigrator(fixture.Engine, db).MigrateAsync();
        var scenario = new SalesScenario(orders: 100);
        await using (var sink = new ClickHouseSink<ProfileRow>(fixture.Engine, SiyuTables.Profiles(db), Fast))
        {
            await sink.WriteAllAsync(scenario.Profiles); // every tenth customer's version 1 arrives after version 2
        }

        var latest = (await fixture.Engine.QueryRowsAsync<ProfileRow>($"SELECT * FROM `{db}`.profiles FINAL ORDER BY customer_id"))
            .ToDictionary(p => p.CustomerId);
        Assert.Equal(300, latest.Count);
        var expected = scenario.Profiles.Where(p => p.Version == 2).ToDictionary(p => p.CustomerId);
        Assert.All(latest.Values, p =>
        {
            Assert.Equal(2ul, p.Version);
            Assert.Equal(expected[p.CustomerId].Frequency, p.Frequency);
            Assert.Equal(expected[p.CustomerId].Groups, p.Groups);
            Assert.Equal(expected[p.CustomerId].Revenue, p.Revenue);
            Assert.Equal(expected[p.CustomerId].Tags, p.Tags);
        });
    }

    private const string RawTotals =
        "sum(amount) AS revenue, countIf(amount >= 0) AS orders, uniqExactIf(customer_id, amount >= 0) AS buyers, countIf(amount < 0) AS refunds";

    private static string ViewSql(string db, string view, string key) =>
        $"SELECT {key} AS k, sum(revenue) AS revenue, uniqExactMerge(orders) AS orders, uniqExactMerge(buyers) AS buyers, "
        + $"uniqExactMerge(refunds) AS refunds FROM `{db}`.{view} GROUP BY k";

    private async Task AssertTotals(string db, string what, string column, string view, IEnumerable<SaleRow> input, Func<SaleRow, string> by)
    {
        var expected = SalesScenario.Expected(input, by);
        Assert.True(expected.Count >= 3, $"the scenario should have several {what} values");
        var fromView = await Totals(db, ViewSql(db, view, column));
        var fromFinal = await Totals(db, $"SELECT {column} AS k, {RawTotals} FROM `{db}`.attributed_sales FINAL "
            + (column == "rule" || column == "store_id" ? "" : $"WHERE {column} != '' ") + "GROUP BY k");
        Assert.Equal(expected.OrderBy(e => e.Key), fromView.OrderBy(e => e.Key));
        Assert.Equal(expected.OrderBy(e => e.Key), fromFinal.OrderBy(e => e.Key));
        output.WriteLine($"by {what}: " + string.Join(", ", expected.OrderBy(e => e.Key).Select(e => $"{e.Key}={e.Value.Revenue}/{e.Value.Orders}/{e.Value.Buyers}")));
    }

    private async Task<Dictionary<string, Totals>> Totals(string db, string sql) =>
        (await fixture.Engine.QueryRowsAsync<KeyTotals>(sql)).ToDictionary(r => r.K, r => new Totals(r.Revenue, r.Orders, r.Buyers, r.Refunds));

    private sealed record KeyTotals(string K, decimal Revenue, ulong Orders, ulong Buyers, ulong Refunds);
}
