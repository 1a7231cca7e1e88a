using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

/// <summary>The attributed_sales and touches rows derived from what Decide returned.</summary>
public class SalesProjectionTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    private static Customer New(string id = "C-0001") => new(id, campaigns: Camps.Catalog);

    private static IReadOnlyList<AttributedSale> Sales(Customer c, InputEvent e) => SalesProjection.Sales(c.State.CustomerId, c.Observe(e));

    [Fact]
    public void An_order_row_has_every_contract_column()
    {
        var c = New().ObserveAll(Ev.Join("GR1", T0.AddDays(-1)), Ev.Flash("FLASH", "GR1", T0.AddHours(-2)));
        var order = Ev.Order("O1", 199.00m, T0, Channel.MiniProgram, guideId: "G1", skus: ["DURIAN-1"], eventId: "mp-000001");

        var row = Assert.Single(Sales(c, order));

        Assert.Equal(
            new AttributedSale("mp-000001", "O1", T0.ToUniversalTime(), "C-0001", "miniprogram", "S001", 199.00m,
                "FLASH", "flash_sale", "last_touch", "GR1", "G1", true)
            {
                Payment = "wechat_pay",
                Items = [new LineItem("DURIAN-1", 1, 199.00m)],
            },
            row);
        Assert.Equal(T0, row.OccurredAt); // the same instant
    }

    [Fact]
    public void A_refund_reverses_with_the_order_attribution_and_a_negative_amount()
    {
        var c = New().ObserveAll(Ev.Join("GR1", T0.AddDays(-1)), Ev.Solitaire("SOL", "GR1", T0.AddHours(-1)));
        var orderRow = Assert.Single(Sales(c, Ev.Order("O1", 199.00m, T0, Channel.MiniProgram, guideId: "G1")));
        Assert.Equal("last_touch", orderRow.Rule);

        // Everything that decided it has changed since: left the group, the touch is long out of
        // its window, another guide owns the customer, the refund is made at another store.
        c.ObserveAll(Ev.Leave("GR1", T0.AddHours(1)), Ev.ContactAdd("G2", T0.AddHours(1)));
        var refund = Ev.Refund("O1", 50.00m, T0.AddDays(3), Channel.Pos, eventId: "pos-r-1") with { StoreId = "S002" };
        var refundRow = Assert.Single(Sales(c, refund));

        Assert.Equal(
            orderRow with { EventId = "pos-r-1", OccurredAt = T0.AddDays(3).ToUniversalTime(), StoreId = "S002", Amount = -50.00m, Items = default },
            refundRow);
        Assert.Equal("wechat_pay", refundRow.Payment); // the order's payment, like its attribution
        Assert.Equal("miniprogram", refundRow.Channel); // the order's channel, as the profile stats count it
        Assert.Equal(orderRow.Amount + refundRow.Amount, c.State.Stats.Revenue);
    }

    [Fact]
    public void A_refunded_wecom_collect_sale_comes_off_the_collecting_guide_as_wecom_collect()
    {
        var c = New();
        var order = Assert.Single(Sales(c, Ev.Order("O1", 80m, T0, guideId: "G-COLLECT", payment: Payment.WecomCollect)));
        var refund = Assert.Single(Sales(c, Ev.Refund("O1", 80m, T0.AddDays(1))));

        Assert.Equal(("wecom_collect", "G-COLLECT"), (order.Payment, order.GuideId));
        Assert.Equal(("wecom_collect", "G-COLLECT", -80m), (refund.Payment, refund.GuideId, refund.Amount));
    }

    [Fact]
    public void A_redelivered_order_or_refund_yields_no_second_row()
    {
        var c = New();
        var order = Ev.Order("O1", 10m, T0);
        Assert.Single(Sales(c, order));
        Assert.Empty(Sales(c, order));                                   // same event again
        Assert.Empty(Sales(c, order with { EventId = Ev.NextId() }));    // same order, another event_id
        Assert.Empty(Sales(c, order with { EventId = Ev.NextId(), Channel = Channel.App }));

        // Even with the dedup window forgotten, the order id still dedups.
        var forgetful = c.State with { Seen = default };
        Assert.Empty(SalesProjection.Sales(c.State.CustomerId, CustomerDecider.Decide(forgetful, new Observe(order, c.Clock), c.Rules, c.Campaigns)));

        var refund = Ev.Refund("O1", 4m, T0.AddHours(1));
        Assert.Single(Sales(c, refund));
        Assert.Empty(Sales(c, refund));
        Assert.Empty(SalesProjection.Sales(c.State.CustomerId, CustomerDecider.Decide(c.State with { Seen = default }, new Observe(refund, c.Clock), c.Rules, c.Campaigns)));
    }

    [Fact]
    public void Notices_and_other_changes_yield_no_sale_row()
    {
        var c = New();
        Assert.Empty(Sales(c, Ev.Refund("O-unknown", 4m, T0)));          // RefundUnmatched
        Assert.Empty(Sales(c, Ev.Join("GR1", T0)));
        Assert.Empty(Sales(c, Ev.Tag(T0, ("shoe_size", "42"))));
        var ids = c.Observe(Ev.Order("O1", 10m, T0, ids: new CustomerIds { MemberId = "M1", DeviceId = "d1" }));
        Assert.Equal(2, ids.Count);                                        // ids linked + the order
        Assert.Single(SalesProjection.Sales(c.State.CustomerId, ids));
        Assert.Empty(SalesProjection.Touches(c.State.CustomerId, ids));
    }

    [Fact]
    public void Touch_rows_for_solitaire_flash_and_coupon_claims()
    {
        var c = New();
        var solitaire = Ev.Solitaire("SOL", "GR1", T0, skus: ["CHERRY-5J", "MANGO-3J"], eventId: "g-1");
        var flash = Ev.Flash("FLASH", "GR2", T0.AddMinutes(1), sku: "DURIAN-1", eventId: "g-2");
        var coupon = Ev.Coupon("CP-5", null, T0.AddMinutes(2), eventId: "mp-3");

        var rows = new[] { solitaire, flash, (InputEvent)coupon }.SelectMany(e => SalesProjection.Touches("C-0001", c.Observe(e))).ToList();

        Assert.Equal(3, rows.Count);
        Assert.Equal(
            new Touch("g-1", "solitaire_join", T0.ToUniversalTime(), "C-0001", "group", "S001", "SOL", "GR1", null, null,
                [new LineItem("CHERRY-5J", 2, 99.5m), new LineItem("MANGO-3J", 2, 99.5m)]),
            rows[0]);
        Assert.Equal(["CHERRY-5J", "MANGO-3J"], rows[0].Skus);
        Assert.Equal(("flash_claim", "FLASH", "GR2", "DURIAN-1"), (rows[1].Type, rows[1].CampaignId, rows[1].GroupId, rows[1].Sku));
        Assert.Empty(rows[1].Items);
        Assert.Equal(["DURIAN-1"], rows[1].Skus);
        Assert.Empty(rows[2].Skus);
        Assert.Equal(("coupon_claim", null, null, "CP-5", "miniprogram"), (rows[2].Type, rows[2].CampaignId, rows[2].GroupId, rows[2].CouponId, rows[2].Channel));

        // Redelivered: no second row (and the state's touches are unchanged).
        var before = c.State.Touches;
        Assert.Empty(SalesProjection.Touches("C-0001", c.Observe(solitaire)));
        Assert.Empty(SalesProjection.Touches("C-0001", c.Observe(coupon)));
        Assert.Equal(before, c.State.Touches);
        Assert.Empty(SalesProjection.Sales("C-0001", c.Observe(flash with { EventId = "g-9" })));
    }

    [Fact]
    public void An_order_journaled_before_attribution_projects_as_organic()
    {
        var legacy = new OrderRecorded(EventKeys.Order("O1"), "O1", 5m, Channel.Pos, null) { OccurredAt = T0, EventId = "pos-1", StoreId = "S1" };
        var row = SalesProjection.Sale("C-1", legacy)!;
        Assert.Equal(("organic", null, null, null, false), (row.Rule, row.CampaignId, row.CampaignType, row.GuideId, row.InPrivateDomain));
        Assert.Null(SalesProjection.Sale("C-1", new GroupJoinRecorded("GR1")));
    }

    [Fact]
    public void A_merge_keeps_touches_and_each_order_attribution()
    {
        var survivor = New("C-1").ObserveAll(Ev.PageView(T0.AddDays(-5)));
        var other = New("C-2");
        var wx = new CustomerIds { ExternalUserId = "wx-1" };
        other.ObserveAll(
            Ev.Join("GR1", T0.AddDays(-1)) with { Ids = wx },
            Ev.Flash("FLASH", "GR1", T0.AddHours(-1)) with { Ids = wx },
            Ev.Order("O-OTHER", 30m, T0.AddHours(-2), ids: wx)); // before the claim: group_assisted
        Assert.Equal(AttributionRule.GroupAssisted, other.State.FindOrder(EventKeys.Order("O-OTHER"))!.Value.Attribution!.Rule);

        survivor.Send(new Absorb(other.State, survivor.Clock));

        Assert.Equal(other.State.Touches, survivor.State.Touches);
        // The absorbed claim earns the survivor's next durian order...
        var a = Assert.Single(SalesProjection.Sales("C-1", survivor.Observe(Ev.Order("O1", 59m, T0, skus: ["DURIAN-1"]))));
        Assert.Equal(("last_touch", "FLASH", "GR1", true), (a.Rule, a.CampaignId, a.GroupId, a.InPrivateDomain));
        // ...and the absorbed order is refunded with the attribution it was decided with.
        var r = Assert.Single(SalesProjection.Sales("C-1", survivor.Observe(Ev.Refund("O-OTHER", 30m, T0.AddHours(1)))));
        Assert.Equal(("group_assisted", "GR1", -30m), (r.Rule, r.GroupId, r.Amount));
    }

    [Fact]
    public void A_merge_unions_both_sides_touches_within_the_bounds()
    {
        var rules = CustomerRules.Default with { MaxTouches = 3 };
        var a = new Customer("C-1", rules, Camps.Catalog).ObserveAll(
            Ev.Flash("FLASH", "GR1", T0.AddHours(-4)), Ev.Flash("FLASH", "GR1", T0.AddHours(-1)));
        var b = new Customer("C-2", rules, Camps.Catalog).ObserveAll(
            Ev.Solitaire("SOL", "GR2", T0.AddHours(-3)), Ev.Solitaire("SOL", "GR2", T0.AddHours(-2)));

        a.Send(new Absorb(b.State, a.Clock));

        Assert.Equal(
            [("SOL", T0.AddHours(-3)), ("SOL", T0.AddHours(-2)), ("FLASH", T0.AddHours(-1))],
            a.State.Touches.Select(t => (t.CampaignId, new DateTimeOffset(t.OccurredAtUtc).ToOffset(T0.Offset))));
    }
}
