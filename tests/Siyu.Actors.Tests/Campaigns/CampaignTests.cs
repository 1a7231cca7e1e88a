using System.Text;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Actors.Tests.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Campaigns;

public class CampaignTests
{
    private const string Full = """
        {"campaign_id": "CMP-1", "type": "solitaire", "name": "车厘子接龙 5斤199", "store_id": "S001",
         "group_ids": ["GR2", "GR1", "GR2"], "skus": ["MANGO-3J", "CHERRY-5J"], "stock": 200,
         "starts_at": "2026-03-03T15:00:00+08:00", "ends_at": "2026-03-03T18:00:00+08:00",
         "attribution_window_hours": 1.5, "owner": "ops-team"}
        """;

    private const string Minimal = """
        {"campaign_id": "CMP-2", "type": "flash_sale", "name": "durian",
         "starts_at": "2026-03-03T07:00:00Z", "ends_at": "2026-03-03T07:00:00Z"}
        """;

    private static Campaign Parse(string json) => Campaign.Parse(Encoding.UTF8.GetBytes(json));

    private static string Error(string json)
    {
        Assert.False(Campaign.TryParse(Encoding.UTF8.GetBytes(json), out var campaign, out var error));
        Assert.Null(campaign);
        Assert.Equal(error, Assert.Throws<CampaignFormatException>(() => Parse(json)).Message);
        return error;
    }

    private static string With(string json, string field, string value) =>
        System.Text.RegularExpressions.Regex.Replace(json, $"\"{field}\": (\\[[^\\]]*\\]|[^,}}]+)", $"\"{field}\": {value}");

    /// <summary>Takes the field out with the comma that separates it from a neighbour.</summary>
    private static string Without(string json, string field)
    {
        var followed = System.Text.RegularExpressions.Regex.Replace(json, $"\"{field}\": (\\[[^\\]]*\\]|[^,}}]+),\\s*", "");
        return followed != json ? followed : System.Text.RegularExpressions.Regex.Replace(json, $",\\s*\"{field}\": (\\[[^\\]]*\\]|[^,}}]+)", "");
    }

    [Fact]
    public void A_full_definition_parses_with_sorted_distinct_ids_and_its_window()
    {
        var c = Parse(Full);

        Assert.Equal("CMP-1", c.CampaignId);
        Assert.Equal(CampaignType.Solitaire, c.Type);
        Assert.Equal("车厘子接龙 5斤199", c.Name);
        Assert.Equal("S001", c.StoreId);
        Assert.Equal(["GR1", "GR2"], c.GroupIds);
        Assert.Equal(["CHERRY-5J", "MANGO-3J"], c.Skus);
        Assert.Equal(200, c.Stock);
        Assert.Equal(new DateTimeOffset(2026, 3, 3, 7, 0, 0, TimeSpan.Zero), c.StartsAt);
        Assert.Equal(TimeSpan.FromMinutes(90), c.AttributionWindow);
    }

    [Fact]
    public void Optional_fields_default_and_the_window_is_24_hours()
    {
        var c = Parse(Minimal);
        Assert.Equal(CampaignType.FlashSale, c.Type);
        Assert.Null(c.StoreId);
        Assert.Null(c.Stock);
        Assert.Empty(c.Skus);
        Assert.Empty(c.GroupIds);
        Assert.Equal(TimeSpan.FromHours(24), c.AttributionWindow);
        Assert.Equal(TimeSpan.Zero, Parse(With(Minimal, "name", "\"x\", \"attribution_window_hours\": 0")).AttributionWindow);
        Assert.Equal(CampaignType.CouponDay, Parse(With(Minimal, "type", "\"coupon_day\"")).Type);
    }

    [Fact]
    public void The_wire_form_round_trips()
    {
        foreach (var json in new[] { Full, Minimal })
        {
            var c = Parse(json);
            var again = Campaign.Parse(c.ToJson());
            Assert.Equal(c, again);
            Assert.Equal(c.StartsAt.Offset, again.StartsAt.Offset);
        }
        Assert.Contains("\"type\":\"solitaire\"", Encoding.UTF8.GetString(Parse(Full).ToJson()), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("campaign_id", "campaign_id is required")]
    [InlineData("type", "type is required")]
    [InlineData("name", "name is required")]
    [InlineData("starts_at", "starts_at is required")]
    [InlineData("ends_at", "ends_at is required")]
    public void A_missing_required_field_is_named(string field, string message)
    {
        Assert.Contains(message, Error(Without(Minimal, field)), StringComparison.Ordinal);
    }

    [Fact]
    public void Bad_definitions_say_what_is_wrong()
    {
        Assert.Contains("campaign_id is required", Error(With(Minimal, "campaign_id", "\"  \"")), StringComparison.Ordinal);
        Assert.Contains("type 'bogo' is not one of flash_sale, solitaire, coupon_day", Error(With(Minimal, "type", "\"bogo\"")), StringComparison.Ordinal);
        Assert.Contains("type 'Solitaire' is not one of", Error(With(Minimal, "type", "\"Solitaire\"")), StringComparison.Ordinal);
        Assert.Equal(
            "invalid campaign 'CMP-1': ends_at 2026-03-03T14:00:00+08:00 is before starts_at 2026-03-03T15:00:00+08:00",
            Error(With(Full, "ends_at", "\"2026-03-03T14:00:00+08:00\"")));
        Assert.Contains("stock -1 must not be negative", Error(With(Full, "stock", "-1")), StringComparison.Ordinal);
        Assert.Contains("attribution_window_hours -2 must not be negative", Error(With(Full, "attribution_window_hours", "-2")), StringComparison.Ordinal);
        Assert.Contains("is more than 8784 (a year)", Error(With(Full, "attribution_window_hours", "100000")), StringComparison.Ordinal);
        Assert.Contains("starts_at '2026-03-03T15:00:00' is not an RFC 3339 timestamp with an offset", Error(With(Full, "starts_at", "\"2026-03-03T15:00:00\"")), StringComparison.Ordinal);
        Assert.Contains("skus[1] must be a non-empty string", Error(With(Full, "skus", "[\"A\", \"\"]")), StringComparison.Ordinal);
        Assert.Contains("group_ids[0] must be a non-empty string", Error(With(Full, "group_ids", "[null]")), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var error = Error("""{"campaign_id": "X", "type": "mega", "name": "n", "starts_at": "2026-03-03T15:00:00Z", "ends_at": "2026-03-02T15:00:00Z", "stock": -5, "attribution_window_hours": -1}""");
        Assert.StartsWith("invalid campaign 'X': ", error, StringComparison.Ordinal);
        Assert.Contains("type 'mega'", error, StringComparison.Ordinal);
        Assert.Contains("ends_at", error, StringComparison.Ordinal);
        Assert.Contains("stock -5", error, StringComparison.Ordinal);
        Assert.Contains("attribution_window_hours -1", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Malformed_json_and_wrong_value_kinds_are_refused()
    {
        Assert.StartsWith("campaign is not valid JSON", Error("{\"campaign_id\": "), StringComparison.Ordinal);
        Assert.Contains("$.stock", Error(With(Full, "stock", "\"many\"")), StringComparison.Ordinal);
        Assert.Contains("$.stock", Error(With(Full, "stock", "2.5")), StringComparison.Ordinal);
        Assert.Contains("null", Error("null"), StringComparison.Ordinal);
        Assert.StartsWith("campaign is not valid JSON", Error("[]"), StringComparison.Ordinal);
    }

    [Fact]
    public void Campaigns_built_in_code_are_validated_too()
    {
        var good = Camps.Of("C1", CampaignType.FlashSale, ["B", "A"]);
        Assert.Empty(good.Problems());
        Assert.Contains("stock -3 must not be negative", (good with { Stock = -3 }).Problems());
        Assert.Contains("skus must be sorted (ordinal) and distinct", (good with { Skus = ["B", "A"] }).Problems());
        Assert.Contains("attribution_window_hours -1 must not be negative", (good with { AttributionWindow = TimeSpan.FromHours(-1) }).Problems());
        Assert.Throws<CampaignFormatException>(() => (good with { EndsAt = good.StartsAt.AddTicks(-1) }).Validate());
        Assert.Throws<CampaignFormatException>(() => CampaignCatalog.Empty.With(good with { CampaignId = "" }));
    }

    [Fact]
    public void Sku_matching_and_the_window()
    {
        var t0 = Ev.T0;
        var fruit = Camps.Of("C1", CampaignType.Solitaire, ["CHERRY-5J", "MANGO-3J"], windowHours: 2);
        Assert.True(fruit.AppliesTo([new LineItem("APPLE-6", 1, 1m), new LineItem("MANGO-3J", 1, 1m)]));
        Assert.False(fruit.AppliesTo([new LineItem("APPLE-6", 1, 1m)]));
        Assert.False(fruit.AppliesTo([]));
        Assert.False(fruit.HasSku("cherry-5j")); // ordinal, like every id
        var any = Camps.Of("C2", CampaignType.CouponDay);
        Assert.True(any.AppliesTo([new LineItem("APPLE-6", 1, 1m)]));
        Assert.True(any.AppliesTo([]));

        Assert.True(fruit.InWindow(t0.AddHours(-2), t0));
        Assert.True(fruit.InWindow(t0, t0));
        Assert.False(fruit.InWindow(t0.AddHours(-2).AddTicks(-1), t0));
        Assert.False(fruit.InWindow(t0.AddTicks(1), t0));
    }
}

public class CampaignCatalogTests
{
    private static byte[] Json(string id, string type = "flash_sale", double window = 24, string? skus = null) => Encoding.UTF8.GetBytes(
        $$"""{"campaign_id": "{{id}}", "type": "{{type}}", "name": "n", "skus": {{skus ?? "[]"}}, "starts_at": "2026-03-03T07:00:00Z", "ends_at": "2026-03-04T07:00:00Z", "attribution_window_hours": {{window}}}""");

    [Fact]
    public void The_latest_definition_wins_and_a_tombstone_removes()
    {
        var feed = new CampaignDefinitions();
        Assert.True(feed.Apply("C1", Json("C1", skus: "[\"A\"]"), At(1)).Applied);
        var v1 = feed.Catalog;
        Assert.True(feed.Apply("C1", Json("C1", type: "solitaire", skus: "[\"B\"]"), At(2)).Applied);
        var v2 = feed.Catalog;
        Assert.True(feed.Apply("C1", null, At(3)).Applied);
        var gone = feed.Catalog;

        Assert.Equal(CampaignType.FlashSale, v1.Find("C1")!.Type);
        Assert.Equal(CampaignType.Solitaire, v2.Find("C1")!.Type);
        Assert.Equal(["B"], v2.Find("C1")!.Skus);
        Assert.Single(v2);
        Assert.False(gone.Contains("C1"));
        Assert.Null(gone.Find("C1"));
        Assert.Empty(gone);
        // Snapshots are immutable: holders of an older catalog keep seeing it.
        Assert.Equal(CampaignType.FlashSale, v1.Find("C1")!.Type);
        Assert.Empty(CampaignCatalog.Empty);
    }

    private static DefinitionStamp At(long ms, int partition = 0, long offset = -1) => new(ms, partition, offset < 0 ? ms : offset);

    [Fact]
    public void Typed_updates_behave_like_messages()
    {
        var c1 = Camps.Of("C1", CampaignType.FlashSale);
        var catalog = CampaignCatalog.Empty.Apply("C1", c1);
        Assert.Same(c1, catalog.Find("C1"));
        Assert.Same(catalog, catalog.With(c1 with { })); // an equal definition changes nothing
        Assert.Same(catalog, catalog.Without("unknown"));
        Assert.Empty(catalog.Apply("C1", (Campaign?)null));
        Assert.Throws<ArgumentException>(() => catalog.Apply("C2", c1));
        Assert.False(catalog.TryGet(null, out _));
        Assert.True(catalog.TryGet("C1", out var found));
        Assert.Equal(c1, found);
    }

    [Fact]
    public void Messages_that_cannot_be_applied_leave_the_catalog_and_say_why()
    {
        var feed = new CampaignDefinitions();
        feed.Apply("C1", Json("C1"), At(1));
        var catalog = feed.Catalog;

        var bad = feed.Apply("C1", Encoding.UTF8.GetBytes("{\"campaign_id\": \"C1\", \"type\": \"nope\"}"), At(2));
        Assert.False(bad.Applied);
        Assert.Same(catalog, feed.Catalog);
        Assert.Contains("type 'nope'", bad.Warning, StringComparison.Ordinal);

        var mismatch = feed.Apply("C9", Json("C1"), At(3));
        Assert.False(mismatch.Applied);
        Assert.Same(catalog, feed.Catalog);
        Assert.Equal("message key 'C9' is not the campaign_id 'C1' of its value; ignored", mismatch.Warning);

        var keyless = feed.Apply(null, null, At(4));
        Assert.False(keyless.Applied);
        Assert.Same(catalog, feed.Catalog);
        Assert.NotNull(keyless.Warning);

        // Unkeyed: taken as its campaign_id, applied, and said.
        var unkeyed = feed.Apply(null, Json("C2"), At(5));
        Assert.True(unkeyed.Applied);
        Assert.Equal("C2", unkeyed.CampaignId);
        Assert.Contains("no message key; taken as campaign C2", unkeyed.Warning, StringComparison.Ordinal);
        Assert.True(feed.Catalog.Contains("C2"));

        // Keyed and valid: applied without a word; the same stamp again (a re-read) is not newer.
        var keyed = feed.Apply("C3", Json("C3"), At(6));
        Assert.Equal(new DefinitionOutcome("C3", true, feed.Catalog.Find("C3"), null), keyed);
        var again = feed.Apply("C3", Json("C3", window: 48), At(6));
        Assert.False(again.Applied);
        Assert.Contains("older than the definition already applied", again.Warning, StringComparison.Ordinal);
        Assert.Equal(24, feed.Catalog.Find("C3")!.AttributionWindow.TotalHours);
    }

    [Fact]
    public void Whatever_order_the_partitions_are_read_in_the_latest_by_kafka_timestamp_wins()
    {
        // One campaign defined four times, unkeyed, so in two partitions; then removed, then defined again.
        var messages = new List<(string? Key, byte[]? Value, DefinitionStamp At)>
        {
            (null, Json("F1", window: 1), new(1_000, 0, 0)),
            (null, Json("F1", window: 2), new(2_000, 1, 0)),
            ("F1", Json("F1", window: 3), new(3_000, 0, 1)),
            (null, Json("F1", window: 4), new(4_000, 1, 1)),
            ("F1", null, new(5_000, 0, 2)),
            ("F1", Json("F1", window: 6), new(6_000, 1, 2)),
            ("F2", Json("F2", window: 7), new(6_500, 0, 3)),
        };
        // Each interleaving keeps each partition's own order, as a consumer reads them.
        var p0 = messages.Where(m => m.At.Partition == 0).ToList();
        var p1 = messages.Where(m => m.At.Partition == 1).ToList();
        var orders = new[] { p0.Concat(p1), p1.Concat(p0), Interleave(p0, p1), Interleave(p1, p0) };
        foreach (var (order, upTo) in orders.SelectMany(o => new[] { 4_500L, 5_500L, long.MaxValue }.Select(t => (o, t))))
        {
            var feed = new CampaignDefinitions();
            foreach (var m in order.Where(m => m.At.TimestampMs <= upTo))
            {
                feed.Apply(m.Key, m.Value, m.At);
            }
            var expected = upTo switch { 4_500 => (double?)4, 5_500 => null, _ => 6 };
            Assert.Equal(expected, feed.Catalog.Find("F1")?.AttributionWindow.TotalHours);
        }
        // A ClickHouse version orders like the stamp, so ReplacingMergeTree keeps the same one after a restart.
        Assert.True(new DefinitionStamp(2_000, 0, 9).Version > new DefinitionStamp(1_999, 5, 1).Version);
        Assert.True(new DefinitionStamp(2_000, 1, 0).Version > new DefinitionStamp(2_000, 0, 9).Version);
    }

    private static IEnumerable<T> Interleave<T>(List<T> a, List<T> b)
    {
        for (var i = 0; i < Math.Max(a.Count, b.Count); i++)
        {
            if (i < a.Count)
            {
                yield return a[i];
            }
            if (i < b.Count)
            {
                yield return b[i];
            }
        }
    }

    [Fact]
    public void Of_builds_in_arrival_order_and_enumerates_by_id()
    {
        var catalog = CampaignCatalog.Of([Camps.Of("B", CampaignType.FlashSale), Camps.Of("A", CampaignType.FlashSale), Camps.Of("B", CampaignType.CouponDay)]);
        Assert.Equal(["A", "B"], catalog.Select(c => c.CampaignId));
        Assert.Equal(CampaignType.CouponDay, catalog.Find("B")!.Type);
    }

    [Fact]
    public void The_longest_window_follows_additions_replacements_and_removals()
    {
        var catalog = CampaignCatalog.Empty;
        Assert.Equal(TimeSpan.Zero, catalog.LongestWindow);
        catalog = catalog.With(Campaign.Parse(Json("A", window: 2))).With(Campaign.Parse(Json("B", window: 48)));
        Assert.Equal(TimeSpan.FromHours(48), catalog.LongestWindow);
        catalog = catalog.With(Campaign.Parse(Json("B", window: 1))); // shortened
        Assert.Equal(TimeSpan.FromHours(2), catalog.LongestWindow);
        catalog = catalog.With(Campaign.Parse(Json("C", window: 72))).Without("C");
        Assert.Equal(TimeSpan.FromHours(2), catalog.LongestWindow);
        catalog = catalog.Without("A");
        Assert.Equal(TimeSpan.FromHours(1), catalog.LongestWindow);
    }
}
