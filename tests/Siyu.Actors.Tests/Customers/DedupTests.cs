using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

public class DedupTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void A_redelivered_event_decides_nothing_and_counts_once()
    {
        var c = new Customer();
        var order = Ev.Order("O1", 199m, T0, ids: new CustomerIds { MemberId = "M1", OpenId = "o1" });
        Assert.NotEmpty(c.Observe(order));
        var after = c.State;

        Assert.Empty(CustomerDecider.Decide(c.State, new Observe(order, c.Clock.AddMinutes(3)), c.Rules));
        Assert.Empty(c.Observe(order));
        Assert.Equal(after, c.State);
        Assert.Equal(1, c.State.Stats.Orders);
        Assert.Equal(199m, c.State.Stats.Revenue);
    }

    [Fact]
    public void The_window_alone_stops_a_redelivery()
    {
        var c = new Customer();
        var order = Ev.Order("O1", 199m, T0);
        c.Observe(order);
        Assert.True(c.State.HasSeen(EventKeys.Event(order.Channel, order.EventId)));

        // Without the order-id fallback (as if the order had been dropped), only the window knows.
        var forgetful = c.State with { RecentOrders = default };
        Assert.Empty(CustomerDecider.Decide(forgetful, new Observe(order, c.Clock), c.Rules));
        Assert.IsType<OrderRecorded>(Assert.Single(CustomerDecider.Decide(forgetful with { Seen = default }, new Observe(order, c.Clock), c.Rules)));
    }

    [Fact]
    public void The_same_event_id_from_another_source_is_another_event()
    {
        // event_id is unique per source (contract), not globally.
        var c = new Customer();
        c.Observe(Ev.Order("O1", 10m, T0, Channel.Pos, eventId: "evt-1"));
        c.Observe(Ev.Order("O2", 20m, T0, Channel.App, eventId: "evt-1"));
        Assert.Equal(2, c.State.Stats.Orders);
    }

    [Fact]
    public void The_same_order_reported_under_another_event_id_counts_once()
    {
        var c = new Customer();
        c.Observe(Ev.Order("O1", 10m, T0, Channel.Pos));
        Assert.Empty(c.Observe(Ev.Order("O1", 10m, T0.AddSeconds(1), Channel.MiniProgram)));
        Assert.Equal(1, c.State.Stats.Orders);
        Assert.Equal(new ChannelStats(0, 0m), c.State.Stats.MiniProgram);
    }

    [Fact]
    public void A_redelivery_that_the_window_has_forgotten_still_changes_nothing()
    {
        var c = new Customer();
        var lateOrder = Ev.Order("O-old", 50m, T0.AddDays(-30));
        var lateRefund = Ev.Refund("O-old", 20m, T0.AddDays(-29));
        var lateJoin = Ev.Join("GR1", T0.AddDays(-30));
        var newOrder = Ev.Order("O-new", 10m, T0);
        c.ObserveAll(newOrder, lateOrder, lateRefund, lateJoin);

        // 30 days before the newest event: beyond the 7-day horizon, so not in the window...
        Assert.False(c.State.HasSeen(EventKeys.Event(lateOrder.Channel, lateOrder.EventId)));
        Assert.True(c.State.HasSeen(EventKeys.Event(newOrder.Channel, newOrder.EventId)));
        var before = c.State;

        // ...yet every effect is idempotent on its own.
        Assert.Empty(c.Observe(lateOrder));
        Assert.Empty(c.Observe(lateRefund));
        Assert.Empty(c.Observe(lateJoin));
        Assert.Equal(before, c.State);
        Assert.Equal(2, c.State.Stats.Orders);
        Assert.Equal(1, c.State.Stats.Refunds);
        Assert.Equal(40m, c.State.Stats.Revenue);
    }

    [Fact]
    public void Window_keeps_at_most_N_entries_and_only_those_within_the_horizon()
    {
        var rules = CustomerRules.Default with { MaxSeenEvents = 8, SeenHorizon = TimeSpan.FromDays(7) };
        var c = new Customer(rules: rules);
        var orders = Enumerable.Range(0, 20).Select(i => Ev.Order($"O{i}", 1m, T0.AddMinutes(i))).ToArray();
        c.ObserveAll(orders);

        Assert.Equal(8, c.State.Seen.Count);
        Assert.Equal(
            orders[12..].Select(o => EventKeys.Event(o.Channel, o.EventId)),
            c.State.Seen.Select(s => s.Key)); // the last 8 in arrival order

        // An event 8 days later pushes everything older than 7 days out of the window.
        c.Observe(Ev.Order("O-later", 1m, T0.AddDays(8)));
        Assert.Single(c.State.Seen);
        Assert.Equal(21, c.State.Stats.Orders);
    }

    [Fact]
    public void Events_that_change_nothing_are_not_remembered()
    {
        var c = new Customer().ObserveAll(Ev.PageView(T0));
        var seen = c.State.Seen;
        c.ObserveAll(Ev.PageView(T0.AddMinutes(1)), Ev.PageView(T0.AddMinutes(2)));
        Assert.Equal(seen, c.State.Seen);
    }

    [Fact]
    public void Event_keys_are_stable_and_distinct()
    {
        Assert.Equal(EventKeys.Event(Channel.Pos, "pos-S001-000123"), EventKeys.Event(Channel.Pos, "pos-S001-000123"));
        Assert.NotEqual(EventKeys.Event(Channel.Pos, "pos-S001-000123"), EventKeys.Event(Channel.Pos, "pos-S001-000124"));
        Assert.NotEqual(EventKeys.Event(Channel.Pos, "x"), EventKeys.Event(Channel.App, "x"));
        Assert.NotEqual(EventKeys.Event(Channel.Pos, "O1"), EventKeys.Order("O1"));
        // Persisted in snapshots: must never change between versions or processes
        // (SHA-256 of "order\x1f\x1fO1", first 8 bytes little-endian).
        Assert.Equal(17308045707648789796UL, EventKeys.Order("O1"));
    }
}
