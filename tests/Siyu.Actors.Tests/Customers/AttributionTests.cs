using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

/// <summary>Contract: Attribution, decided in Decide when the order is processed.</summary>
public class AttributionTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    private static Customer New(CampaignCatalog? campaigns = null) => new(campaigns: campaigns ?? Camps.Catalog);

    private static Attribution Attributed(Customer c, OrderPlaced order)
    {
        var recorded = Assert.Single(c.Observe(order).OfType<OrderRecorded>());
        Assert.NotNull(recorded.Attribution);
        // What the state keeps for refunds is exactly what was decided.
        Assert.Equal(recorded.Attribution, c.State.FindOrder(EventKeys.Order(order.OrderId))!.Value.Attribution);
        return recorded.Attribution;
    }

    // ------------------------------------------------------------ 1. direct

    [Fact]
    public void Direct_when_the_order_names_a_known_campaign_even_with_a_matching_touch_and_a_group()
    {
        var c = New().ObserveAll(Ev.Join("GR1", T0.AddHours(-5)), Ev.Flash("FLASH", "GR1", T0.AddHours(-1)));

        var a = Attributed(c, Ev.Order("O1", 59m, T0, campaignId: "SOL", shareGroupId: "GR7", skus: ["DURIAN-1"]));

        Assert.Equal(new Attribution(AttributionRule.Direct, "SOL", CampaignType.Solitaire, "GR7", null, true), a);
    }

    [Fact]
    public void Direct_without_a_share_group_credits_no_group()
    {
        var a = Attributed(New(), Ev.Order("O1", 59m, T0, campaignId: "DAY"));
        Assert.Equal(new Attribution(AttributionRule.Direct, "DAY", CampaignType.CouponDay, null, null, false), a);
    }

    [Fact]
    public void An_unknown_campaign_id_on_the_order_falls_through_to_the_next_rules()
    {
        var c = New().ObserveAll(Ev.Flash("FLASH", "GR1", T0.AddHours(-1)));
        var a = Attributed(c, Ev.Order("O1", 59m, T0, campaignId: "NOT-IN-CATALOG", skus: ["DURIAN-1"]));
        Assert.Equal(AttributionRule.LastTouch, a.Rule);
        Assert.Equal("FLASH", a.CampaignId);

        var plain = Attributed(New(), Ev.Order("O2", 59m, T0, campaignId: "NOT-IN-CATALOG"));
        Assert.Equal(Attribution.Organic, plain);
    }

    [Fact]
    public void The_three_argument_Decide_uses_an_empty_catalog()
    {
        var c = New();
        var order = Ev.Order("O1", 59m, T0, campaignId: "SOL");
        var recorded = Assert.Single(CustomerDecider.Decide(c.State, new Observe(order, c.Clock), c.Rules).OfType<OrderRecorded>());
        Assert.Equal(Attribution.Organic, recorded.Attribution);
        Assert.Equal(AttributionRule.Direct, Assert.Single(CustomerDecider.Decide(c.State, new Observe(order, c.Clock), c.Rules, Camps.Catalog).OfType<OrderRecorded>()).Attribution!.Rule);
    }

    // ------------------------------------------------------------ 2. last_touch

    [Fact]
    public void Last_touch_credits_the_touch_campaign_and_group_and_beats_group_assisted()
    {
        var c = New().ObserveAll(Ev.Join("GR1", T0.AddHours(-5)), Ev.Flash("FLASH", "GR2", T0.AddHours(-3)));

        var a = Attributed(c, Ev.Order("O1", 59m, T0, skus: ["APPLE-6", "DURIAN-1"], guideId: "G1"));

        Assert.Equal(new Attribution(AttributionRule.LastTouch, "FLASH", CampaignType.FlashSale, "GR2", "G1", true), a);
    }

    [Fact]
    public void Last_touch_needs_a_shared_sku_unless_the_campaign_names_none()
    {
        var c = New().ObserveAll(Ev.Flash("FLASH", "GR2", T0.AddHours(-3)));
        // The durian flash sale does not earn a cherry order.
        Assert.Equal(Attribution.Organic, Attributed(c, Ev.Order("O1", 59m, T0, skus: ["CHERRY-5J"])));

        // A coupon-day touch (no skus) earns any order, even one of no item at all.
        c.Observe(Ev.Solitaire("DAY", "GR3", T0.AddHours(-2), skus: ["WHATEVER"]));
        var any = Attributed(c, Ev.Order("O2", 59m, T0, skus: ["CHERRY-5J"]));
        Assert.Equal((AttributionRule.LastTouch, "DAY", "GR3"), (any.Rule, any.CampaignId, any.GroupId));
        Assert.Equal(AttributionRule.LastTouch, Attributed(c, Ev.Order("O3", 59m, T0, skus: [])).Rule);
    }

    [Fact]
    public void The_touch_own_items_do_not_matter_only_the_campaign_skus()
    {
        // Joined the cherry solitaire listing a durian: the campaign's skus decide.
        var c = New().ObserveAll(Ev.Solitaire("SOL", "GR1", T0.AddHours(-1), skus: ["DURIAN-1"]));
        Assert.Equal(AttributionRule.LastTouch, Attributed(c, Ev.Order("O1", 99m, T0, skus: ["MANGO-3J"])).Rule);
        Assert.NotEqual(AttributionRule.LastTouch, Attributed(c, Ev.Order("O2", 99m, T0, skus: ["DURIAN-1"])).Rule);
    }

    [Fact]
    public void The_latest_matching_touch_wins_and_a_later_non_matching_one_is_skipped()
    {
        var c = New().ObserveAll(
            Ev.Flash("FLASH", "GR1", T0.AddHours(-5)),
            Ev.Solitaire("SOL", "GR2", T0.AddMinutes(-90)),
            Ev.Flash("FLASH", "GR3", T0.AddHours(-1)),    // latest durian touch
            Ev.Solitaire("SOL", "GR4", T0.AddMinutes(-10))); // later, but cherry only

        var durian = Attributed(c, Ev.Order("O1", 59m, T0, skus: ["DURIAN-1"]));
        Assert.Equal(("FLASH", "GR3"), (durian.CampaignId, durian.GroupId));

        var cherry = Attributed(c, Ev.Order("O2", 59m, T0, skus: ["CHERRY-5J"]));
        Assert.Equal(("SOL", "GR4"), (cherry.CampaignId, cherry.GroupId));

        var both = Attributed(c, Ev.Order("O3", 59m, T0, skus: ["CHERRY-5J", "DURIAN-1"]));
        Assert.Equal(("SOL", "GR4"), (both.CampaignId, both.GroupId));
    }

    [Fact]
    public void Touches_at_the_same_instant_resolve_by_campaign_then_group_whatever_the_arrival()
    {
        var catalog = Camps.Catalog.With(Camps.Of("FLASH2", CampaignType.FlashSale, ["DURIAN-1"]));
        InputEvent[] touches = [Ev.Flash("FLASH", "GR9", T0.AddHours(-1)), Ev.Flash("FLASH2", "GR1", T0.AddHours(-1)), Ev.Flash("FLASH2", "GR2", T0.AddHours(-1))];
        var forward = New(catalog).ObserveAll(touches);
        var backward = New(catalog).ObserveAll(touches.Reverse().ToArray());
        var a = Attributed(forward, Ev.Order("O1", 1m, T0, skus: ["DURIAN-1"]));
        var b = Attributed(backward, Ev.Order("O1", 1m, T0, skus: ["DURIAN-1"]));
        Assert.Equal(("FLASH2", "GR2"), (a.CampaignId, a.GroupId));
        Assert.Equal(a, b);
    }

    [Fact]
    public void Window_edges_are_inclusive_and_the_window_is_the_campaign_one()
    {
        // SOL has a 2-hour window, FLASH 24 hours.
        Assert.Equal(AttributionRule.LastTouch, Attributed(New().ObserveAll(Ev.Solitaire("SOL", "GR1", T0.AddHours(-2))), Ev.Order("O1", 1m, T0)).Rule);
        Assert.Equal(AttributionRule.Organic, Attributed(New().ObserveAll(Ev.Solitaire("SOL", "GR1", T0.AddHours(-2).AddTicks(-1))), Ev.Order("O1", 1m, T0)).Rule);
        Assert.Equal(AttributionRule.LastTouch, Attributed(New().ObserveAll(Ev.Flash("FLASH", "GR1", T0.AddHours(-24))), Ev.Order("O1", 1m, T0, skus: ["DURIAN-1"])).Rule);
        Assert.Equal(AttributionRule.Organic, Attributed(New().ObserveAll(Ev.Flash("FLASH", "GR1", T0.AddHours(-24).AddSeconds(-1))), Ev.Order("O1", 1m, T0, skus: ["DURIAN-1"])).Rule);

        // At the order's own instant it counts; after it (already arrived, but later in event time) it does not.
        Assert.Equal(AttributionRule.LastTouch, Attributed(New().ObserveAll(Ev.Solitaire("SOL", "GR1", T0)), Ev.Order("O1", 1m, T0)).Rule);
        Assert.Equal(AttributionRule.Organic, Attributed(New().ObserveAll(Ev.Solitaire("SOL", "GR1", T0.AddTicks(1))), Ev.Order("O1", 1m, T0)).Rule);

        // Offsets do not matter: the same instant written in UTC.
        var utc = Ev.Solitaire("SOL", "GR1", T0.AddHours(-2).ToUniversalTime());
        Assert.Equal(AttributionRule.LastTouch, Attributed(New().ObserveAll(utc), Ev.Order("O1", 1m, T0)).Rule);
    }

    [Fact]
    public void A_late_touch_does_not_re_decide_an_order_already_processed()
    {
        var c = New();
        Assert.Equal(Attribution.Organic, Attributed(c, Ev.Order("O1", 59m, T0, skus: ["DURIAN-1"])));

        // The flash claim happened before the order but arrives after it was processed.
        var events = c.Observe(Ev.Flash("FLASH", "GR1", T0.AddHours(-1)));
        Assert.IsType<TouchRecorded>(Assert.Single(events));
        Assert.Equal(Attribution.Organic, c.State.FindOrder(EventKeys.Order("O1"))!.Value.Attribution);

        // Its refund reverses it as decided; a later order gets the touch.
        var refund = Assert.Single(c.Observe(Ev.Refund("O1", 59m, T0.AddHours(2))).OfType<RefundRecorded>());
        Assert.Equal(Attribution.Organic, refund.Attribution);
        Assert.Equal(AttributionRule.LastTouch, Attributed(c, Ev.Order("O2", 59m, T0.AddHours(1), skus: ["DURIAN-1"])).Rule);
    }

    [Fact]
    public void A_touch_counts_when_the_catalog_knows_its_campaign_at_order_time()
    {
        var c = New(CampaignCatalog.Empty).ObserveAll(Ev.Flash("FLASH", "GR1", T0.AddHours(-1)));
        Assert.Single(c.State.Touches); // remembered although the campaign is unknown yet
        Assert.Equal(Attribution.Organic, Attributed(c, Ev.Order("O1", 1m, T0, skus: ["DURIAN-1"])));

        c.Campaigns = Camps.Catalog; // the definition arrived on siyu.campaigns
        Assert.Equal(AttributionRule.LastTouch, Attributed(c, Ev.Order("O2", 1m, T0, skus: ["DURIAN-1"])).Rule);

        c.Campaigns = Camps.Catalog.Without("FLASH"); // tombstoned
        Assert.Equal(Attribution.Organic, Attributed(c, Ev.Order("O3", 1m, T0, skus: ["DURIAN-1"])));
    }

    [Fact]
    public void A_coupon_claim_is_a_touch_row_but_not_a_last_touch()
    {
        var c = New();
        var claim = Assert.Single(c.Observe(Ev.Coupon("CP1", "DAY", T0.AddHours(-1))).OfType<TouchRecorded>());
        Assert.Equal(TouchKind.CouponClaim, claim.Kind);
        Assert.Empty(c.State.Touches);
        Assert.Equal(Attribution.Organic, Attributed(c, Ev.Order("O1", 1m, T0)));
    }

    // ------------------------------------------------------------ 3. group_assisted, 4. organic

    [Fact]
    public void Group_assisted_credits_the_share_group_when_it_is_one_of_the_customer_groups()
    {
        var c = New().ObserveAll(Ev.Join("GR1", T0.AddDays(-3)), Ev.Join("GR2", T0.AddDays(-1)));

        Assert.Equal(
            new Attribution(AttributionRule.GroupAssisted, null, null, "GR1", null, true),
            Attributed(c, Ev.Order("O1", 1m, T0, shareGroupId: "GR1")));
        // Not one of theirs: the most recently joined one.
        Assert.Equal("GR2", Attributed(c, Ev.Order("O2", 1m, T0, shareGroupId: "GR-OTHER")).GroupId);
        Assert.Equal("GR2", Attributed(c, Ev.Order("O3", 1m, T0)).GroupId);
    }

    [Fact]
    public void A_share_group_the_customer_is_not_in_does_not_make_an_order_group_assisted()
    {
        var a = Attributed(New(), Ev.Order("O1", 1m, T0, shareGroupId: "GR1"));
        Assert.Equal(Attribution.Organic, a);
    }

    [Fact]
    public void Group_membership_is_read_at_the_order_time()
    {
        // Joined after the order happened (the order arrives late): not in a group then.
        var joinedLater = New().ObserveAll(Ev.Join("GR1", T0.AddHours(1)));
        Assert.Equal(Attribution.Organic, Attributed(joinedLater, Ev.Order("O1", 1m, T0)));

        // Left after the order happened: still a member then.
        var leftLater = New().ObserveAll(Ev.Join("GR1", T0.AddDays(-2)), Ev.Leave("GR1", T0.AddHours(1)));
        var a = Attributed(leftLater, Ev.Order("O1", 1m, T0));
        Assert.Equal((AttributionRule.GroupAssisted, "GR1", true), (a.Rule, a.GroupId, a.InPrivateDomain));

        // Left before: not a member.
        var leftBefore = New().ObserveAll(Ev.Join("GR1", T0.AddDays(-2)), Ev.Leave("GR1", T0.AddHours(-1)));
        Assert.Equal(Attribution.Organic, Attributed(leftBefore, Ev.Order("O1", 1m, T0)));

        // A present member is preferred over one who left since; the join at the order instant counts.
        var both = New().ObserveAll(Ev.Join("GR1", T0.AddDays(-2)), Ev.Leave("GR1", T0.AddHours(3)), Ev.Join("GR2", T0));
        Assert.Equal("GR2", Attributed(both, Ev.Order("O1", 1m, T0)).GroupId);
    }

    [Fact]
    public void Organic_when_nothing_applies_and_in_private_domain_follows_contacts()
    {
        Assert.Equal(Attribution.Organic, Attributed(New(), Ev.Order("O1", 1m, T0)));

        var contact = New().ObserveAll(Ev.ContactAdd("G1", T0.AddDays(-1)));
        Assert.Equal(new Attribution(AttributionRule.Organic, null, null, null, "G1", true), Attributed(contact, Ev.Order("O1", 1m, T0)));

        var later = New().ObserveAll(Ev.ContactAdd("G1", T0.AddDays(1)));
        Assert.Equal(Attribution.Organic, Attributed(later, Ev.Order("O1", 1m, T0)));
    }

    // ------------------------------------------------------------ guide credit

    [Fact]
    public void Guide_credit_order_is_collecting_guide_then_order_guide_then_owning_guide_then_none()
    {
        var c = New().ObserveAll(Ev.ContactAdd("G-OLD", T0.AddDays(-9)), Ev.ContactAdd("G-OWNER", T0.AddDays(-2)));

        Assert.Equal("G-COLLECT", Attributed(c, Ev.Order("O1", 1m, T0, guideId: "G-COLLECT", payment: Payment.WecomCollect)).GuideId);
        Assert.Equal("G-TILL", Attributed(c, Ev.Order("O2", 1m, T0, guideId: "G-TILL", payment: Payment.Card)).GuideId);
        Assert.Equal("G-OWNER", Attributed(c, Ev.Order("O3", 1m, T0, payment: Payment.WecomCollect)).GuideId);
        Assert.Equal("G-OWNER", Attributed(c, Ev.Order("O4", 1m, T0, guideId: "  ")).GuideId);

        // The owner removed the customer: the older contact owns it again.
        c.Observe(Ev.ContactRemove("G-OWNER", T0.AddDays(-1)));
        Assert.Equal("G-OLD", Attributed(c, Ev.Order("O5", 1m, T0)).GuideId);

        // Read at the order time: before G-OWNER's contact, G-OLD was the owner already.
        Assert.Equal("G-OLD", Attributed(c, Ev.Order("O6", 1m, T0.AddDays(-3))).GuideId);
        c.Observe(Ev.ContactRemove("G-OLD", T0.AddDays(-1)));
        Assert.Null(Attributed(c, Ev.Order("O7", 1m, T0)).GuideId);
        Assert.Null(Attributed(New(), Ev.Order("O1", 1m, T0)).GuideId);
    }

    [Fact]
    public void Guide_credit_applies_to_every_rule()
    {
        var c = New().ObserveAll(Ev.ContactAdd("G1", T0.AddDays(-1)), Ev.Solitaire("SOL", "GR1", T0.AddHours(-1)));
        Assert.Equal("G1", Attributed(c, Ev.Order("O1", 1m, T0, campaignId: "FLASH")).GuideId);
        Assert.Equal("G1", Attributed(c, Ev.Order("O2", 1m, T0)).GuideId);
        Assert.Equal("G9", Attributed(c, Ev.Order("O3", 1m, T0, guideId: "G9")).GuideId);
    }
}
