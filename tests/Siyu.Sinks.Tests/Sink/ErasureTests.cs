using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.Rows;
using Siyu.Sinks.Sink;
using Siyu.Sinks.Tests.ClickHouse;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// PIPL erasure on chDB: the customer's profiles (and those of customers merged into it) are deleted,
/// their sales and touches lose the customer_id, and every total the operators read stays the same.
/// </summary>
[Collection(ChDbCollection.Name)]
public sealed class ErasureTests(ChDbFixture fixture)
{
    private static readonly DateTimeOffset At = new(2026, 11, 24, 2, 0, 0, TimeSpan.Zero);
    private const string Survivor = "c0000000000010000000001";
    private const string Absorbed = "c0000000000020000000002";
    private const string Other = "c0000000000030000000003";

    private static SaleRow Sale(string id, string customer, decimal amount, int minute) => new()
    {
        EventId = id, OrderId = "o-" + id, OccurredAt = At.AddMinutes(minute), CustomerId = customer, Channel = "miniprogram",
        StoreId = "S001", Amount = amount, CampaignId = "C-FLASH", CampaignType = "flash_sale", Rule = AttributionRules.Direct,
        GroupId = "G1", GuideId = "U01", InPrivateDomain = true, Payment = "wechat_pay", Items = [new SaleItem("CHERRY", 1, amount)],
    };

    private static ProfileRow Profile(string customer, ulong version, string mergedInto = "", IReadOnlyList<string>? mergedFrom = null) => new()
    {
        CustomerId = customer, Version = version, UpdatedAt = At.AddHours(1), MergedInto = mergedInto, MergedFrom = mergedFrom ?? [],
        InPrivateDomain = true, Groups = ["G1"], GuideId = "U01", Frequency = "low", State = "active", Orders = 1, Revenue = 10m,
        Tags = new Dictionary<string, string> { ["shoe_size"] = "42" },
    };

    [Fact]
    public async Task Erasure_deletes_profiles_and_unlinks_sales_while_totals_stay_exact()
    {
        var db = fixture.NewDatabase("erase");
        var options = new SiyuSinksOptions { Database = db, Sink = new ClickHouseSinkOptions { BatchDelay = TimeSpan.FromMilliseconds(10) }, PipelineMetrics = null };
        await using var sinks = await SiyuSinks.StartAsync(fixture.Engine, options);
        await sinks.Sales.WriteAllAsync([
            Sale("e1", Survivor, 100m, 0), Sale("e2", Absorbed, 50m, 1), Sale("e3", Other, 30m, 2),
            Sale("e4", Survivor, -20m, 3) with { Items = [] },
        ]);
        await sinks.Touches.WriteAllAsync([
            new TouchRow { EventId = "t1", OccurredAt = At, CustomerId = Absorbed, Type = "flash_claim", Channel = "group", CampaignId = "C-FLASH", GroupId = "G1", Skus = ["CHERRY"] },
            new TouchRow { EventId = "t2", OccurredAt = At, CustomerId = Other, Type = "flash_claim", Channel = "group", CampaignId = "C-FLASH", GroupId = "G1", Skus = ["CHERRY"] },
        ]);
        // The absorbed customer's last profile points at the survivor, whose profile lists it.
        await sinks.Profiles.WriteAllAsync([Profile(Absorbed, 3), Profile(Absorbed, 4, mergedInto: Survivor), Profile(Survivor, 7, mergedFrom: [Absorbed]), Profile(Other, 2)]);
        await Task.WhenAll(sinks.Sales.FlushAsync(), sinks.Touches.FlushAsync(), sinks.Profiles.FlushAsync());

        var before = await Totals(db);
        Assert.Equal(Survivor, (await fixture.Engine.QueryRowsAsync<SurvivorRow>($"SELECT customer_id, survivor_id FROM `{db}`.customer_survivors")).Single().SurvivorId);
        Assert.Equal(2UL, await Scalar($"SELECT uniqExact(ifNull(m.survivor_id, s.customer_id)) FROM `{db}`.attributed_sales AS s FINAL LEFT JOIN `{db}`.customer_survivors AS m ON m.customer_id = s.customer_id SETTINGS join_use_nulls = 1"));

        // Versions of one customer inserted together may already be collapsed (optimize_on_insert).
        var profileRows = await Scalar($"SELECT count() FROM `{db}`.profiles WHERE customer_id IN ('{Survivor}', '{Absorbed}')");
        Assert.True(profileRows >= 2);

        var result = await sinks.EraseCustomerAsync(Survivor);

        Assert.Equal([Survivor, Absorbed], result.CustomerIds);
        Assert.Equal(3UL, result.SalesRows);
        Assert.Equal(1UL, result.TouchRows);
        Assert.Equal(profileRows, result.ProfileRows);
        // Nothing left under either id, anywhere.
        const string ids = $"('{Survivor}', '{Absorbed}')";
        Assert.Equal(0UL, await Scalar($"SELECT count() FROM `{db}`.attributed_sales WHERE customer_id IN {ids}"));
        Assert.Equal(0UL, await Scalar($"SELECT count() FROM `{db}`.touches WHERE customer_id IN {ids}"));
        Assert.Equal(0UL, await Scalar($"SELECT count() FROM `{db}`.profiles WHERE customer_id IN {ids} OR has(merged_from, '{Absorbed}') OR merged_into = '{Survivor}'"));
        Assert.Equal(0UL, await Scalar($"SELECT count() FROM `{db}`.customer_survivors"));
        // The other customer is untouched; the erased person's rows share one fresh token.
        Assert.Equal(1UL, await Scalar($"SELECT count() FROM `{db}`.profiles FINAL WHERE customer_id = '{Other}'"));
        var tokens = await fixture.Engine.QueryRowsAsync<TokenRow>($"SELECT DISTINCT customer_id FROM `{db}`.attributed_sales WHERE customer_id != '{Other}'");
        var token = Assert.Single(tokens).CustomerId;
        Assert.Matches("^e[0-9a-f]{22}$", token);
        Assert.Equal(token, (await fixture.Engine.QueryRowsAsync<TokenRow>($"SELECT customer_id FROM `{db}`.touches WHERE event_id = 't1'")).Single().CustomerId);
        // Campaign totals and the views: exactly as before; buyers by person still 2.
        Assert.Equal(before, await Totals(db));
        Assert.Equal(2UL, await Scalar($"SELECT uniqExact(customer_id) FROM `{db}`.attributed_sales FINAL WHERE amount > 0"));

        var again = await sinks.EraseCustomerAsync(Survivor);
        Assert.Equal((0UL, 0UL, 0UL), (again.SalesRows, again.TouchRows, again.ProfileRows));
    }

    private async Task<ulong> Scalar(string sql) =>
        ulong.Parse((await fixture.Engine.QueryAsync(sql, format: "TSV")).Trim(), System.Globalization.CultureInfo.InvariantCulture);

    private async Task<string> Totals(string db) =>
        await fixture.Engine.QueryAsync(
            $"""
            SELECT (SELECT sum(amount) FROM `{db}`.attributed_sales FINAL) AS revenue,
                   (SELECT sum(revenue) FROM `{db}`.campaign_sales_minute) AS view_revenue,
                   (SELECT uniqExactMerge(buyers) FROM `{db}`.campaign_sales_minute) AS view_buyers,
                   (SELECT uniqExactMerge(participants) FROM `{db}`.campaign_touch_minute) AS participants
            """, format: "TSV");

    private sealed record SurvivorRow(string CustomerId, string SurvivorId);

    private sealed record TokenRow(string CustomerId);
}
