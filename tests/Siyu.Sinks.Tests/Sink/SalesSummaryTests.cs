using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Rows;
using Siyu.Sinks.Sink;
using Siyu.Sinks.Tests.ClickHouse;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// GET /v1/sales/summary's reads: totals by rule, campaign, guide, group and store over a window,
/// from the dashboards' per-minute views, equal the totals computed here from the input rows
/// (redelivered rows included, which the sink drops).
/// </summary>
[Collection(ChDbCollection.Name)]
public sealed class SalesSummaryTests(ChDbFixture fixture)
{
    public static IEnumerable<object[]> Dimensions() => Enum.GetValues<SalesDimension>().Select(d => new object[] { d });

    [Theory]
    [MemberData(nameof(Dimensions))]
    public async Task Totals_by_each_key_equal_the_input_over_the_window(SalesDimension by)
    {
        var (db, scenario) = await Populated();
        var queries = new SalesQueries(fixture.Engine, db);
        Func<SaleRow, string> key = by switch
        {
            SalesDimension.Rule => s => s.Rule,
            SalesDimension.Campaign => s => s.CampaignId,
            SalesDimension.Guide => s => s.GuideId,
            SalesDimension.Group => s => s.GroupId,
            _ => s => s.StoreId,
        };
        // Two windows: the campaign day (without the December repeat orders), and all of it.
        foreach (var (from, to) in new[] { (SalesScenario.Day, SalesScenario.Day.AddHours(3)), (SalesScenario.Day.AddDays(-1), SalesScenario.Day.AddDays(30)) })
        {
            var inWindow = scenario.Sales.Where(s => s.OccurredAt >= from && s.OccurredAt < to.AddMinutes(1) && key(s) != "").ToList();
            var expected = SalesScenario.Expected(inWindow, key);
            var actual = await queries.SummaryAsync(by, from, to);

            Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Select(r => r.Key).Order(StringComparer.Ordinal));
            foreach (var row in actual)
            {
                var e = expected[row.Key];
                var refunded = -inWindow.Where(s => key(s) == row.Key && s.Amount < 0).Sum(s => s.Amount);
                Assert.Equal((e.Revenue, e.Revenue + refunded, refunded, e.Orders, e.Refunds, e.Buyers),
                    (row.Net, row.Gross, row.RefundAmount, row.Orders, row.Refunds, row.Buyers));
            }
            // Largest net first.
            Assert.Equal(actual.Select(r => r.Net).OrderDescending(), actual.Select(r => r.Net));
        }
    }

    [Fact]
    public async Task A_window_with_no_sales_has_no_rows()
    {
        var (db, _) = await Populated();
        Assert.Empty(await new SalesQueries(fixture.Engine, db).SummaryAsync(SalesDimension.Store, SalesScenario.Day.AddDays(-9), SalesScenario.Day.AddDays(-8)));
    }

    private static Task<(string, SalesScenario)>? s_populated;

    private Task<(string, SalesScenario)> Populated() => LazyInitializer.EnsureInitialized(ref s_populated, async () =>
    {
        var db = fixture.NewDatabase("summary");
        await new SchemaMigrator(fixture.Engine, db).MigrateAsync();
        var scenario = new SalesScenario(orders: 800, seed: 5);
        await using (var sink = new ClickHouseSink<SaleRow>(fixture.Engine, SiyuTables.Sales(db), new ClickHouseSinkOptions { BatchDelay = TimeSpan.FromMilliseconds(20) }))
        {
            await sink.WriteAllAsync(scenario.Sales);
            await sink.WriteAllAsync(scenario.Sales.Take(150)); // redelivered
        }
        return (db, scenario);
    });
}
