using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

public class RefundTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void A_refund_reverses_its_order_channel_and_attribution()
    {
        var c = new Customer().ObserveAll(
            Ev.Order("O1", 199m, T0, Channel.MiniProgram),
            Ev.Order("O2", 30m, T0, Channel.Pos));

        // Refunded at the till, but it reverses the mini-program order.
        var events = c.Observe(Ev.Refund("O1", 50m, T0.AddDays(1), Channel.Pos));

        var refund = Assert.IsType<RefundRecorded>(Assert.Single(events));
        Assert.Equal(Channel.MiniProgram, refund.OrderChannel);
        Assert.Equal("O1", refund.OrderId);
        Assert.Same(c.State.FindOrder(EventKeys.Order("O1"))!.Value.Attribution, refund.Attribution); // the order's, not re-decided
        Assert.Equal(Attribution.Organic, refund.Attribution);
        var s = c.State.Stats;
        Assert.Equal(2, s.Orders);
        Assert.Equal(1, s.Refunds);
        Assert.Equal(50m, s.RefundAmount);
        Assert.Equal(179m, s.Revenue);
        Assert.Equal(new ChannelStats(1, 149m), s.MiniProgram);
        Assert.Equal(new ChannelStats(1, 30m), s.Pos);
        Assert.Equal(50m, c.State.FindOrder(EventKeys.Order("O1"))!.Value.Refunded);
    }

    [Fact]
    public void Partial_refunds_add_up_to_the_order_and_no_further()
    {
        var c = new Customer().ObserveAll(Ev.Order("O1", 100m, T0));
        c.Observe(Ev.Refund("O1", 60m, T0.AddHours(1)));
        c.Observe(Ev.Refund("O1", 40m, T0.AddHours(2)));
        Assert.Equal(0m, c.State.Stats.Revenue);
        Assert.Equal(2, c.State.Stats.Refunds);
        var before = c.State;

        var events = c.Observe(Ev.Refund("O1", 0.01m, T0.AddHours(3)));

        var unmatched = Assert.IsType<RefundUnmatched>(Assert.Single(events));
        Assert.Equal(RefundUnmatchedReasons.ExceedsOrder, unmatched.Reason);
        Assert.Equal(before, c.State);
    }

    [Fact]
    public void A_refund_of_an_unknown_order_is_reported_and_changes_nothing()
    {
        var c = new Customer().ObserveAll(Ev.Order("O1", 100m, T0));
        var before = c.State;
        var refund = Ev.Refund("O404", 10m, T0.AddHours(1));

        var events = c.Observe(refund);

        var unmatched = Assert.IsType<RefundUnmatched>(Assert.Single(events));
        Assert.Equal(RefundUnmatchedReasons.UnknownOrder, unmatched.Reason);
        Assert.Equal((refund.EventId, "O404", 10m, Channel.Pos), (unmatched.EventId, unmatched.OrderId, unmatched.Amount, unmatched.Channel));
        Assert.Equal(before, c.State);
        Assert.Equal(100m, c.State.Stats.Revenue);
    }

    [Fact]
    public void An_unmatched_refund_stays_retryable_and_matches_once_its_order_arrives()
    {
        var c = new Customer().ObserveAll(Ev.PageView(T0));
        // The refund also brings a new id: that is linked, but the event is not remembered.
        var refund = Ev.Refund("O1", 10m, T0.AddHours(2), ids: new CustomerIds { MemberId = "M1", OpenId = "o1" });

        var first = c.Observe(refund);
        Assert.Contains(first, e => e is IdsLinked);
        Assert.Contains(first, e => e is RefundUnmatched);
        Assert.All(first.OfType<ObservedEvent>(), e => Assert.Null(e.EventKey));
        Assert.False(c.State.HasSeen(EventKeys.Event(refund.Channel, refund.EventId)));

        c.Observe(Ev.Order("O1", 100m, T0.AddHours(1)));
        var retry = c.Observe(refund); // the caller's retry after the grace period

        Assert.IsType<RefundRecorded>(Assert.Single(retry));
        Assert.Equal(90m, c.State.Stats.Revenue);
        Assert.Empty(c.Observe(refund)); // and now it is a duplicate
    }

    [Fact]
    public void A_redelivered_order_older_than_the_retained_ones_is_refused_not_counted_twice()
    {
        var rules = CustomerRules.Default with { MaxRecentOrders = 6 };
        var c = new Customer(rules: rules);
        var first = Ev.Order("O0", 10m, T0);
        c.Observe(first);
        for (var i = 1; i <= 6; i++)
        {
            c.Observe(Ev.Order($"O{i}", 10m, T0.AddDays(10 * i)));
        }
        Assert.Equal(6, c.State.RecentOrders.Count);
        Assert.Equal(T0, c.State.OrdersPrunedThrough);
        Assert.Null(c.State.FindOrder(EventKeys.Order("O0")));

        // A replay of O0 (its event id long gone from the 7-day window) cannot be told from a new order...
        Assert.False(c.State.HasSeen(EventKeys.Event(first.Channel, first.EventId)));
        var events = c.Observe(first);
        var rejected = Assert.IsType<OrderRejected>(Assert.Single(events));
        Assert.Equal(OrderRejected.OlderThanRetainedOrders, rejected.Reason);
        Assert.Equal(7, c.State.Stats.Orders);

        // ...while a late order newer than the dropped ones is still counted.
        c.Observe(Ev.Order("O-late", 10m, T0.AddDays(20).AddHours(1)));
        Assert.Equal(8, c.State.Stats.Orders);

        // And a refund for a dropped order cannot be matched.
        Assert.IsType<RefundUnmatched>(Assert.Single(c.Observe(Ev.Refund("O0", 1m, T0.AddDays(70)))));
    }

    [Fact]
    public void Retained_orders_are_bounded_by_age_relative_to_the_newest_order()
    {
        var c = new Customer().ObserveAll(
            Ev.Order("O-ancient", 10m, T0.AddDays(-500)),
            Ev.Order("O-old", 10m, T0.AddDays(-399)),
            Ev.Order("O-now", 10m, T0));

        Assert.Equal([EventKeys.Order("O-old"), EventKeys.Order("O-now")], c.State.RecentOrders.Select(o => o.Key));
        Assert.Equal(T0.AddDays(-500), c.State.OrdersPrunedThrough);
        Assert.Equal(3, c.State.Stats.Orders); // lifetime totals outlive the retained list
        Assert.Equal(T0.AddDays(-500), c.State.Stats.FirstOrderAt);
    }
}
