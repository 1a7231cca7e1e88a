using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

/// <summary>The bounded memory of touches and the sharing that keeps attributions cheap.</summary>
public class TouchMemoryTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void At_most_MaxTouches_are_kept_the_newest_by_occurred_at()
    {
        var c = new Customer(campaigns: Camps.Catalog);
        for (var i = 0; i < 20; i++)
        {
            c.Observe(Ev.Solitaire("SOL", "GR1", T0.AddMinutes(i)));
        }
        c.Observe(Ev.Solitaire("SOL", "GR1", T0.AddMinutes(-1))); // late and older than all: dropped at once

        Assert.Equal(16, c.Rules.MaxTouches);
        Assert.Equal(Enumerable.Range(4, 16).Select(i => T0.AddMinutes(i).UtcDateTime), c.State.Touches.Select(t => t.OccurredAtUtc));
    }

    [Fact]
    public void Touches_beyond_the_horizon_of_the_newest_touch_or_order_are_forgotten()
    {
        var c = new Customer(campaigns: Camps.Catalog).ObserveAll(
            Ev.Flash("FLASH", "GR1", T0),
            Ev.Flash("FLASH", "GR1", T0.AddDays(1)));
        Assert.Equal(2, c.State.Touches.Count);

        c.Observe(Ev.Flash("FLASH", "GR1", T0.AddDays(7))); // exactly the horizon after the first: kept
        Assert.Equal(3, c.State.Touches.Count);

        c.Observe(Ev.Order("O1", 1m, T0.AddDays(7).AddHours(1), skus: ["APPLE-6"])); // an order moves the horizon too
        Assert.Equal([T0.AddDays(1).UtcDateTime, T0.AddDays(7).UtcDateTime], c.State.Touches.Select(t => t.OccurredAtUtc));

        c.Observe(Ev.Order("O2", 1m, T0.AddDays(30), skus: ["APPLE-6"]));
        Assert.Empty(c.State.Touches);
    }

    [Fact]
    public void The_kept_touches_do_not_depend_on_arrival_order()
    {
        var rules = CustomerRules.Default with { MaxTouches = 4, TouchHorizon = TimeSpan.FromDays(2) };
        var events = new List<InputEvent>();
        for (var i = 0; i < 12; i++)
        {
            events.Add(i % 3 == 0 ? Ev.Flash("FLASH", $"GR{i % 2}", T0.AddHours(7 * i)) : Ev.Solitaire("SOL", "GR1", T0.AddHours(5 * i)));
        }
        events.Add(Ev.Order("O1", 1m, T0.AddHours(60)));
        var expected = new Customer(rules: rules, campaigns: Camps.Catalog).ObserveAll(events.ToArray()).State.Touches;
        Assert.NotEmpty(expected);
        foreach (var seed in new[] { 1, 2, 3, 42 })
        {
            var shuffled = events.ToArray();
            new Random(seed).Shuffle(shuffled);
            Assert.Equal(expected, new Customer(rules: rules, campaigns: Camps.Catalog).ObserveAll(shuffled).State.Touches);
        }
    }

    [Fact]
    public void The_same_touch_under_two_event_ids_is_remembered_once()
    {
        var c = new Customer(campaigns: Camps.Catalog);
        var claim = Ev.Flash("FLASH", "GR1", T0);
        c.Observe(claim);
        Assert.IsType<TouchRecorded>(Assert.Single(c.Observe(claim with { EventId = Ev.NextId() }))); // a touches row
        Assert.Single(c.State.Touches);
    }

    [Fact]
    public void Zero_MaxTouches_turns_last_touch_off()
    {
        var c = new Customer(rules: CustomerRules.Default with { MaxTouches = 0 }, campaigns: Camps.Catalog)
            .ObserveAll(Ev.Solitaire("SOL", "GR1", T0.AddHours(-1)));
        Assert.Empty(c.State.Touches);
        Assert.Equal(Attribution.Organic, Assert.Single(c.Observe(Ev.Order("O1", 1m, T0)).OfType<OrderRecorded>()).Attribution);
    }

    [Fact]
    public void Touch_rules_are_validated()
    {
        Assert.Empty(CustomerRules.Default.Problems());
        Assert.Contains("MaxTouches cannot be negative", (CustomerRules.Default with { MaxTouches = -1 }).Problems());
        Assert.Contains("TouchHorizon must be positive", (CustomerRules.Default with { TouchHorizon = TimeSpan.Zero }).Problems());
    }

    [Fact]
    public void Orders_with_equal_attributions_share_one_instance_live_and_after_a_snapshot()
    {
        var c = new Customer(campaigns: Camps.Catalog).ObserveAll(Ev.Join("GR1", T0.AddDays(-1)), Ev.ContactAdd("G1", T0.AddDays(-1)));
        for (var i = 0; i < 6; i++)
        {
            // Every order brings its own copies of the ids (as parsed input does).
            c.Observe(Ev.Order($"O{i}", 1m, T0.AddHours(i), guideId: new string("G2".ToCharArray()), shareGroupId: new string("GR1".ToCharArray())));
        }
        // The actor applies the very events Decide returned (no journal round trip): the campaign id
        // is then the catalog's own instance, shared by every customer.
        var direct = CustomerDecider.Decide(c.State, new Observe(Ev.Order("O-direct", 1m, T0, campaignId: "DAY"), c.Clock), c.Rules, c.Campaigns);
        var applied = CustomerDecider.ApplyAll(c.State, direct, c.Rules);
        Assert.Same(Camps.Catalog.Find("DAY")!.CampaignId, applied.RecentOrders.Single(o => o.Attribution!.Rule == AttributionRule.Direct).Attribution!.CampaignId);
        c.Observe(Ev.Order("O-direct", 1m, T0, campaignId: "DAY"));

        static void AssertShared(CustomerState s)
        {
            var orders = s.RecentOrders.Where(o => o.Attribution!.Rule == AttributionRule.GroupAssisted).ToList();
            Assert.Equal(6, orders.Count);
            Assert.All(orders, o => Assert.Same(orders[0].Attribution, o.Attribution));
            Assert.Same(s.Groups.Single().Id, orders[0].Attribution!.GroupId);
        }
        AssertShared(c.State);

        var back = CustomerSnapshot.Deserialize(CustomerSnapshot.Serialize(c.State));
        Assert.Equal(c.State, back);
        AssertShared(back);
    }

    [Fact]
    public void A_typical_customer_with_touches_stays_compact()
    {
        // A month of a busy group member: joins, a guide, a few claims and solitaires, a dozen orders.
        var c = new Customer(campaigns: Camps.Catalog).ObserveAll(
            Ev.Join("GR-S001-1", T0.AddDays(-30)), Ev.Join("GR-S001-2", T0.AddDays(-20)), Ev.ContactAdd("G-S001-03", T0.AddDays(-30)),
            Ev.Tag(T0.AddDays(-30), ("shoe_size", "42"), ("level", "gold")));
        for (var i = 0; i < 12; i++)
        {
            var at = T0.AddDays(-28 + (2 * i));
            c.Observe(i % 2 == 0 ? Ev.Flash("FLASH", "GR-S001-1", at.AddHours(-1)) : Ev.Solitaire("SOL", "GR-S001-2", at.AddHours(-1)));
            c.Observe(Ev.Order($"O-{i:D8}", 59.90m, at, guideId: "G-S001-03", skus: [i % 2 == 0 ? "DURIAN-1" : "CHERRY-5J"]));
        }
        Assert.Equal(12, c.State.RecentOrders.Count);
        Assert.All(c.State.RecentOrders, o => Assert.Equal(AttributionRule.LastTouch, o.Attribution!.Rule));
        Assert.Equal(2, c.State.RecentOrders.Select(o => o.Attribution).Distinct(ReferenceEqualityComparer.Instance).Count());
        Assert.InRange(c.State.Touches.Count, 1, 4); // only the last week of touches

        // In memory: two attribution objects for twelve orders (above). Persisted, the snapshot
        // writes each order's attribution in full: about 150 bytes an order, no more.
        var stripped = c.State with { RecentOrders = c.State.RecentOrders.Select(o => o with { Attribution = null }).ToEquatableArray(), Touches = default };
        var perOrder = (CustomerSnapshot.Serialize(c.State).Length - CustomerSnapshot.Serialize(stripped).Length - (c.State.Touches.Count * 90)) / 12.0;
        Assert.InRange(perOrder, 100, 170);
    }
}
