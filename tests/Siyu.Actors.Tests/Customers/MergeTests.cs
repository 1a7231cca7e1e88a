using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

public class MergeTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void A_customer_handing_over_is_frozen_so_a_repeated_hand_over_carries_the_same_state()
    {
        var absorbed = new Customer("C-2").ObserveAll(Ev.Order("O1", 10m, T0));
        absorbed.Send(new BeginHandOver("C-1", absorbed.Clock));
        Assert.Equal(("C-1", true, 1), (absorbed.State.MergedInto, absorbed.State.HandOverPending, absorbed.State.Stats.Orders));
        var frozen = absorbed.State;

        // Anything arriving now goes to the survivor: applied here, it would miss a hand-over
        // repeated after a crash, which the survivor ignores as already absorbed.
        Assert.IsType<RedirectRequired>(Assert.Single(absorbed.Observe(Ev.Order("O2", 5m, T0.AddMinutes(1)))));
        Assert.Empty(absorbed.Send(new BeginHandOver("C-0", absorbed.Clock)));
        Assert.Equal(frozen, absorbed.State);

        // Confirmed by the survivor: only the pointer remains.
        absorbed.Send(new MarkMergedInto("C-1", absorbed.Clock));
        Assert.Equal(("C-1", false, 0), (absorbed.State.MergedInto, absorbed.State.HandOverPending, absorbed.State.Stats.Orders));
    }

    [Fact]
    public void Created_at_after_a_merge_is_the_earliest_of_the_customers_that_saw_an_event()
    {
        // The resolver's common case: an event brings a new member_id (claimed for a fresh
        // customer that never observes anything) beside a phone an older customer already has.
        // The fresh one is handed over with no history; its unset created_at must not win.
        var survivor = new Customer("C-1").ObserveAll(Ev.PageView(T0.AddHours(2)));
        var fresh = new Customer("C-2");
        fresh.Send(new BeginHandOver("C-1", fresh.Clock));
        survivor.Send(new Absorb(fresh.State, survivor.Clock));
        Assert.Equal(T0.AddHours(2), survivor.State.CreatedAt);

        // Then the event itself, and a later merge with a customer seen earlier: the earliest wins.
        survivor.Observe(Ev.Order("O1", 10m, T0.AddHours(3)));
        var earlier = new Customer("C-3").ObserveAll(Ev.PageView(T0, new CustomerIds { OpenId = "o1" }));
        earlier.Send(new BeginHandOver("C-1", earlier.Clock));
        survivor.Send(new Absorb(earlier.State, survivor.Clock));
        Assert.Equal(T0, survivor.State.CreatedAt);
        Assert.Equal(T0, survivor.Profile().CreatedAt);

        // A survivor that had not observed anything yet either takes the absorbed one's.
        var empty = new Customer("C-0");
        empty.Send(new Absorb(fresh.State, empty.Clock));
        empty.Send(new Absorb(earlier.State, empty.Clock));
        Assert.Equal(T0, empty.State.CreatedAt);
        empty.Observe(Ev.PageView(T0.AddDays(1)));
        Assert.Equal(T0, empty.State.CreatedAt);

        // Two customers with no history: the first event sets it.
        var bare = new Customer("C-4");
        bare.Send(new Absorb(fresh.State with { CustomerId = "C-5" }, bare.Clock));
        bare.Observe(Ev.PageView(T0.AddHours(5)));
        Assert.Equal(T0.AddHours(5), bare.State.CreatedAt);
    }

    [Fact]
    public void The_older_customer_survives_then_the_smaller_id()
    {
        var older = new Customer("C-9").ObserveAll(Ev.PageView(T0)).State;
        var younger = new Customer("C-1").ObserveAll(Ev.PageView(T0.AddSeconds(1))).State;
        Assert.True(CustomerState.Survives(older, younger));
        Assert.False(CustomerState.Survives(younger, older));

        var twin = new Customer("C-1").ObserveAll(Ev.PageView(T0)).State;
        Assert.True(CustomerState.Survives(twin, older)); // same created_at: "C-1" < "C-9"
        Assert.False(CustomerState.Survives(older, twin));

        var empty = CustomerState.Empty("C-0");
        Assert.False(CustomerState.Survives(empty, younger)); // nothing observed yet: the youngest
        Assert.True(CustomerState.Survives(younger, empty));
    }

    [Fact]
    public void Absorb_folds_ids_groups_contacts_tags_birthday_and_history()
    {
        var survivor = new Customer("C-1");
        survivor.ObserveAll(
            Ev.PageView(T0, new CustomerIds { MemberId = "M1", DeviceId = "d1" }),
            Ev.Join("GR1", T0.AddHours(1)),
            Ev.Tag(T0.AddHours(1), ("shoe_size", "42"), ("formula", "A2")),
            Ev.Order("O1", 100m, T0.AddHours(2)));
        var other = new Customer("C-2");
        var ids = new CustomerIds { OpenId = "o1", UnionId = "u1", DeviceId = "d2" };
        var otherRefund = Ev.Refund("O2", 10m, T0.AddHours(7), Channel.MiniProgram, ids);
        other.ObserveAll(
            Ev.PageView(T0.AddDays(-1), ids),
            Ev.Join("GR2", T0.AddHours(3), ids),
            Ev.Leave("GR1", T0.AddHours(4), ids), // left GR1 later than the survivor saw the join
            Ev.ContactAdd("G7", T0.AddHours(3), ids),
            Ev.Tag(T0.AddHours(5), ("shoe_size", "43")) with { Ids = ids },
            Ev.Birthday(new DateOnly(1990, 7, 7), T0.AddHours(5)) with { Ids = ids },
            Ev.Order("O2", 30m, T0.AddHours(6), Channel.MiniProgram, ids),
            otherRefund);
        var otherState = other.State with { MergedFrom = ["C-0"] };

        var events = survivor.Send(new Absorb(otherState, survivor.Clock));

        Assert.IsType<CustomerAbsorbed>(Assert.Single(events));
        var s = survivor.State;
        Assert.Equal("C-1", s.CustomerId);
        Assert.Equal(T0.AddDays(-1), s.CreatedAt);
        Assert.Equal(["member_id=M1", "unionid=u1", "openid=o1", "device_id=d1", "device_id=d2"], s.Ids.Select(i => i.ToString()));
        Assert.Equal(["C-0", "C-2"], s.MergedFrom);
        Assert.Equal(["GR2"], s.ActiveGroups);
        Assert.Equal("G7", s.OwningGuideId);
        Assert.Equal([("formula", "A2"), ("shoe_size", "43")], s.Tags.Select(t => (t.Name, t.Value)));
        Assert.Equal(new DateOnly(1990, 7, 7), s.Birthday);
        Assert.Equal(2, s.Stats.Orders);
        Assert.Equal(120m, s.Stats.Revenue);
        Assert.Equal((1, 10m), (s.Stats.Refunds, s.Stats.RefundAmount));
        Assert.Equal(new ChannelStats(1, 20m), s.Stats.MiniProgram);
        Assert.Equal(T0.AddHours(6), s.Stats.LastOrderAt);
        Assert.Equal(2, s.RecentOrders.Count);
        Assert.Equal(otherState.Seen.Count + 4, s.Seen.Count);

        // Events the absorbed customer had already applied are duplicates for the survivor too.
        Assert.Empty(survivor.Observe(otherRefund));
        Assert.Empty(survivor.Observe(Ev.Order("O2", 30m, T0.AddHours(6), Channel.MiniProgram, ids))); // same order_id
        Assert.Equal(120m, survivor.State.Stats.Revenue);
    }

    [Fact]
    public void An_event_seen_by_the_absorbed_customer_is_not_applied_again_by_the_survivor()
    {
        var survivor = new Customer("C-1").ObserveAll(Ev.PageView(T0));
        var other = new Customer("C-2");
        var join = Ev.Join("GR1", T0.AddHours(1), new CustomerIds { OpenId = "o1" });
        other.Observe(join);
        other.Observe(Ev.Leave("GR1", T0.AddHours(2), new CustomerIds { OpenId = "o1" }));

        survivor.Send(new Absorb(other.State, survivor.Clock));

        Assert.Empty(survivor.Observe(join));
        Assert.Empty(survivor.State.ActiveGroups);
    }

    [Fact]
    public void An_order_both_customers_recorded_counts_once_and_keeps_every_distinct_refund()
    {
        // The same till order reached both customers before their ids were known to be one person.
        var a = new Customer("C-1").ObserveAll(
            Ev.Order("O1", 100m, T0, Channel.Pos, eventId: "pos-1"),
            Ev.Refund("O1", 10m, T0.AddHours(1), Channel.Pos, eventId: "pos-r1"));
        var b = new Customer("C-2").ObserveAll(
            Ev.Order("O1", 100m, T0, Channel.Pos, new CustomerIds { OpenId = "o1" }, eventId: "mp-1"),
            Ev.Refund("O1", 10m, T0.AddHours(1), Channel.Pos, new CustomerIds { OpenId = "o1" }, eventId: "pos-r1"),
            Ev.Refund("O1", 5m, T0.AddHours(2), Channel.Pos, new CustomerIds { OpenId = "o1" }, eventId: "pos-r2"),
            Ev.Order("O2", 40m, T0.AddHours(3), Channel.App, new CustomerIds { OpenId = "o1" }));

        a.Send(new Absorb(b.State, a.Clock));

        var s = a.State.Stats;
        Assert.Equal(2, s.Orders);
        Assert.Equal(2, s.Refunds);
        Assert.Equal(15m, s.RefundAmount);
        Assert.Equal(100m + 40m - 15m, s.Revenue);
        Assert.Equal(new ChannelStats(1, 85m), s.Pos);
        Assert.Equal(new ChannelStats(1, 40m), s.App);
        Assert.Equal(15m, a.State.FindOrder(EventKeys.Order("O1"))!.Value.Refunded);
        Assert.Empty(a.Observe(Ev.Refund("O1", 5m, T0.AddHours(2), Channel.Pos, eventId: "pos-r2")));
    }

    [Fact]
    public void Redelivered_absorb_and_self_absorb_change_nothing()
    {
        var a = new Customer("C-1").ObserveAll(Ev.Order("O1", 10m, T0));
        var b = new Customer("C-2").ObserveAll(Ev.Order("O2", 20m, T0, ids: new CustomerIds { OpenId = "o1" }));
        a.Send(new Absorb(b.State, a.Clock));
        var after = a.State;

        Assert.Empty(a.Send(new Absorb(b.State, a.Clock.AddMinutes(1))));
        Assert.Empty(a.Send(new Absorb(a.State, a.Clock)));
        Assert.Equal(after, a.State);
        Assert.Equal(30m, a.State.Stats.Revenue);
    }

    [Fact]
    public void Ids_beyond_a_limit_are_not_folded_and_are_reported()
    {
        var a = new Customer("C-1").ObserveAll(Ev.PageView(T0, new CustomerIds { MemberId = "M1" }));
        var b = new Customer("C-2").ObserveAll(Ev.PageView(T0.AddHours(1), new CustomerIds { MemberId = "M2", OpenId = "o2" }));

        var events = a.Send(new Absorb(b.State, a.Clock));

        var refused = Assert.Single(events.OfType<IdsRefused>());
        Assert.Equal("C-2", refused.AbsorbedCustomerId);
        Assert.Equal([new RefusedId(IdType.MemberId, "M2", IdRefusal.LimitExceeded)], refused.Ids);
        Assert.Equal(["member_id=M1", "openid=o2"], a.State.Ids.Select(i => i.ToString()));
    }

    [Fact]
    public void The_absorbed_customer_keeps_only_a_pointer_and_forwards_what_it_receives()
    {
        var b = new Customer("C-2").ObserveAll(Ev.Order("O1", 10m, T0), Ev.Join("GR1", T0));
        var version = b.State.Version;

        var events = b.Send(new MarkMergedInto("C-1", b.Clock));

        Assert.IsType<MergedIntoRecorded>(Assert.Single(events));
        Assert.Equal("C-1", b.State.MergedInto);
        Assert.Equal(version + 1, b.State.Version);
        Assert.Equal(T0, b.State.CreatedAt);
        Assert.Empty(b.State.Ids);
        Assert.Empty(b.State.Groups);
        Assert.Equal(default, b.State.Stats);

        var order = Ev.Order("O2", 5m, T0.AddHours(1));
        var redirect = Assert.IsType<RedirectRequired>(Assert.Single(b.Observe(order)));
        Assert.Equal("C-1", redirect.SurvivorId);
        Assert.Equal(order, Assert.IsType<Observe>(redirect.Command).Event);
        Assert.Empty(b.Send(new MarkMergedInto("C-1", b.Clock)));
        Assert.Equal(version + 1, b.State.Version);
    }
}
