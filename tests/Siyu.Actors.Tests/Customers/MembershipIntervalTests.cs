using System.Text;
using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

/// <summary>
/// Issue #17: "at order time" reads the interval each group membership and guide contact was
/// in, not only its latest change. The rule: the order is credited from what the customer's state
/// knows when the order is processed, read at the order's occurred_at.
/// </summary>
public class MembershipIntervalTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    // A join at T0+1h and a leave at T0+3h; the order before, during or after that interval.
    private static readonly DateTimeOffset JoinAt = T0.AddHours(1);
    private static readonly DateTimeOffset LeaveAt = T0.AddHours(3);

    public enum When
    {
        Before,
        During,
        After,
    }

    private static DateTimeOffset OrderAt(When when) => when switch
    {
        When.Before => T0,
        When.During => T0.AddHours(2),
        _ => T0.AddHours(4),
    };

    /// <summary>
    /// Whether the order is credited to the group (group_assisted, in the private domain), given
    /// which of the join (J) and the leave (L) were processed before the order.
    /// </summary>
    private static bool Expected(When when, bool joinKnown, bool leaveKnown) => (joinKnown, leaveKnown) switch
    {
        (false, false) => false,                  // nothing known yet
        (true, false) => when != When.Before,     // joined, no leave known: a member from the join on
        (false, true) => when != When.After,      // a leave whose join is unknown: a member until the leave
        _ => when == When.During,                 // the interval itself
    };

    public static TheoryData<string, When> AllOrders()
    {
        var data = new TheoryData<string, When>();
        foreach (var order in new[] { "JLO", "JOL", "LJO", "LOJ", "OJL", "OLJ" })
        {
            foreach (var when in Enum.GetValues<When>())
            {
                data.Add(order, when);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(AllOrders))]
    public void Join_leave_and_order_in_every_processing_order(string processing, When when)
    {
        var c = new Customer();
        Attribution? attribution = null;
        bool joinKnown = false, leaveKnown = false, joinKnownAtOrder = false, leaveKnownAtOrder = false;
        foreach (var step in processing)
        {
            switch (step)
            {
                case 'J':
                    c.Observe(Ev.Join("GR1", JoinAt));
                    joinKnown = true;
                    break;
                case 'L':
                    c.Observe(Ev.Leave("GR1", LeaveAt));
                    leaveKnown = true;
                    break;
                default:
                    attribution = Assert.Single(c.Observe(Ev.Order("O1", 10m, OrderAt(when))).OfType<OrderRecorded>()).Attribution;
                    (joinKnownAtOrder, leaveKnownAtOrder) = (joinKnown, leaveKnown);
                    break;
            }
        }

        var credited = Expected(when, joinKnownAtOrder, leaveKnownAtOrder);
        Assert.Equal(
            credited ? new Attribution(AttributionRule.GroupAssisted, null, null, "GR1", null, true) : Attribution.Organic,
            attribution);
        // The attribution decided is the one kept for refunds.
        Assert.Equal(attribution, c.State.FindOrder(EventKeys.Order("O1"))!.Value.Attribution);
        // Whatever the arrival order, the customer ends with the same interval and is not in the group now.
        Assert.Empty(c.State.ActiveGroups);
        var g = Assert.Single(c.State.Groups);
        Assert.Equal(new Membership("GR1", LeaveAt, false, [new MembershipChange(JoinAt, true)]), g);
        Assert.False(g.MemberAt(JoinAt.AddTicks(-1)));
        Assert.True(g.MemberAt(JoinAt));
        Assert.True(g.MemberAt(LeaveAt.AddTicks(-1)));
        Assert.False(g.MemberAt(LeaveAt));
    }

    [Fact]
    public void The_reported_case_join_and_leave_after_the_order_processed_before_it_is_organic()
    {
        // A POS that syncs its orders late: the customer joined and left the group after buying.
        var c = new Customer().ObserveAll(Ev.Join("GR1", T0.AddHours(1)), Ev.Leave("GR1", T0.AddHours(2)));
        var recorded = Assert.Single(c.Observe(Ev.Order("O1", 59m, T0)).OfType<OrderRecorded>());
        Assert.Equal(Attribution.Organic, recorded.Attribution);
    }

    [Fact]
    public void Rejoining_keeps_every_interval_whatever_the_arrival_order()
    {
        InputEvent[] changes =
        [
            Ev.Join("GR1", T0.AddDays(1)), Ev.Leave("GR1", T0.AddDays(2)),
            Ev.Join("GR1", T0.AddDays(3)), Ev.Leave("GR1", T0.AddDays(4)),
            Ev.Join("GR1", T0.AddDays(5)),
        ];
        var expectedState = new Customer().ObserveAll(changes).State.Groups;
        for (var seed = 0; seed < 6; seed++)
        {
            var shuffled = changes.ToArray();
            new Random(seed).Shuffle(shuffled);
            var c = new Customer().ObserveAll(shuffled);
            Assert.Equal(expectedState, c.State.Groups);

            // In, out, in, out, in: each order is read against the interval it fell in.
            (double Days, bool Member)[] cases = [(0.5, false), (1.5, true), (2.5, false), (3.5, true), (4.5, false), (5.5, true)];
            foreach (var (days, member) in cases)
            {
                var a = Assert.Single(c.Observe(Ev.Order($"O-{seed}-{days}", 1m, T0.AddDays(days))).OfType<OrderRecorded>()).Attribution!;
                Assert.Equal(member ? AttributionRule.GroupAssisted : AttributionRule.Organic, a.Rule);
                Assert.Equal(member, a.InPrivateDomain);
            }
        }
        Assert.Equal(["GR1"], new Customer().ObserveAll(changes).State.ActiveGroups);
    }

    [Fact]
    public void A_late_older_join_is_recorded_for_the_past_without_changing_the_current_status()
    {
        var c = new Customer().ObserveAll(Ev.Leave("GR1", T0.AddDays(2)));
        // Before the join is known, the leave alone says "a member until then".
        Assert.Equal(AttributionRule.GroupAssisted, Assert.Single(c.Observe(Ev.Order("O1", 1m, T0)).OfType<OrderRecorded>()).Attribution!.Rule);

        var late = c.Observe(Ev.Join("GR1", T0.AddDays(1)));
        Assert.IsType<GroupJoinRecorded>(Assert.Single(late));
        Assert.Empty(c.State.ActiveGroups);
        Assert.Equal(AttributionRule.Organic, Assert.Single(c.Observe(Ev.Order("O2", 1m, T0)).OfType<OrderRecorded>()).Attribution!.Rule);
        Assert.Equal(AttributionRule.GroupAssisted, Assert.Single(c.Observe(Ev.Order("O3", 1m, T0.AddDays(1.5))).OfType<OrderRecorded>()).Attribution!.Rule);

        // No profile change: the customer did not join anything now.
        var before = c.State;
        c.Observe(Ev.Join("GR1", T0.AddHours(12)));
        Assert.DoesNotContain(Profile.Changes(before, c.State, c.Clock, c.Rules), ch => ch.Change is ProfileChanges.GroupJoined or ProfileChanges.JoinedPrivateDomain);

        // Redelivered with the dedup window forgotten: nothing new.
        var forgetful = c.State with { Seen = default };
        Assert.Empty(CustomerDecider.Decide(forgetful, new Observe(Ev.Join("GR1", T0.AddDays(1)), c.Clock), c.Rules));
        Assert.Empty(CustomerDecider.Decide(forgetful, new Observe(Ev.Leave("GR1", T0.AddDays(2)), c.Clock), c.Rules));
    }

    [Fact]
    public void A_merge_brings_the_other_half_membership_intervals()
    {
        // The absorbed half knew the customer joined and left GR1 (and was a guide's contact for a while).
        var other = new Customer("C-2").ObserveAll(
            Ev.Join("GR1", T0.AddDays(1)), Ev.Leave("GR1", T0.AddDays(3)),
            Ev.ContactAdd("G1", T0.AddDays(1)), Ev.ContactRemove("G1", T0.AddDays(3)));
        // The survivor only knew a later rejoin and a later contact.
        var survivor = new Customer("C-1").ObserveAll(Ev.PageView(T0.AddDays(-1)), Ev.Join("GR1", T0.AddDays(5)), Ev.ContactAdd("G2", T0.AddDays(5)));
        survivor.Send(new Absorb(other.State, survivor.Clock));

        var g = Assert.Single(survivor.State.Groups);
        Assert.Equal(new Membership("GR1", T0.AddDays(5), true, [new(T0.AddDays(1), true), new(T0.AddDays(3), false)]), g);
        Assert.Equal(["GR1"], survivor.State.ActiveGroups);
        Assert.Equal("G2", survivor.State.OwningGuideId);

        Attribution Order(string id, double days) => Assert.Single(survivor.Observe(Ev.Order(id, 1m, T0.AddDays(days))).OfType<OrderRecorded>()).Attribution!;
        Assert.Equal(Attribution.Organic, Order("O-before", 0.5));
        Assert.Equal(new Attribution(AttributionRule.GroupAssisted, null, null, "GR1", "G1", true), Order("O-in", 2));
        Assert.Equal(Attribution.Organic, Order("O-gap", 4));
        Assert.Equal(new Attribution(AttributionRule.GroupAssisted, null, null, "GR1", "G2", true), Order("O-again", 6));

        // Folding is symmetric in what it keeps: the other way round gives the same intervals.
        var reverse = new Customer("C-1").ObserveAll(Ev.Join("GR1", T0.AddDays(5)), Ev.ContactAdd("G2", T0.AddDays(5)));
        other.Send(new Absorb(reverse.State, other.Clock));
        Assert.Equal(survivor.State.Groups, other.State.Groups);
        Assert.Equal(survivor.State.Contacts, other.State.Contacts);
    }

    [Fact]
    public void The_owning_guide_at_order_time_reads_contact_intervals()
    {
        // Guide variant: added and removed after the order happened, processed before it.
        var c = new Customer().ObserveAll(Ev.ContactAdd("G1", T0.AddHours(1)), Ev.ContactRemove("G1", T0.AddHours(2)));
        var a = Assert.Single(c.Observe(Ev.Order("O1", 1m, T0)).OfType<OrderRecorded>()).Attribution!;
        Assert.Equal(Attribution.Organic, a);
        Assert.Null(a.GuideId);
        Assert.False(a.InPrivateDomain);

        // During the contact: that guide; after the removal: none.
        Assert.Equal("G1", Assert.Single(c.Observe(Ev.Order("O2", 1m, T0.AddHours(1.5))).OfType<OrderRecorded>()).Attribution!.GuideId);
        Assert.Null(Assert.Single(c.Observe(Ev.Order("O3", 1m, T0.AddHours(3))).OfType<OrderRecorded>()).Attribution!.GuideId);

        // Two guides: at each time the one added latest among those present then.
        c.ObserveAll(Ev.ContactAdd("G2", T0.AddHours(10)), Ev.ContactAdd("G1", T0.AddHours(12)), Ev.ContactRemove("G1", T0.AddHours(14)));
        Assert.Equal("G2", Assert.Single(c.Observe(Ev.Order("O4", 1m, T0.AddHours(11))).OfType<OrderRecorded>()).Attribution!.GuideId);
        Assert.Equal("G1", Assert.Single(c.Observe(Ev.Order("O5", 1m, T0.AddHours(13))).OfType<OrderRecorded>()).Attribution!.GuideId);
        Assert.Equal("G2", Assert.Single(c.Observe(Ev.Order("O6", 1m, T0.AddHours(15))).OfType<OrderRecorded>()).Attribution!.GuideId);
        Assert.Equal("G2", c.State.OwningGuideId);
    }

    [Fact]
    public void The_history_per_key_is_bounded_to_the_newest_changes()
    {
        var rules = CustomerRules.Default with { MaxMembershipChanges = 3 };
        var c = new Customer(rules: rules);
        for (var i = 0; i < 6; i++)
        {
            c.Observe(Ev.Join("GR1", T0.AddDays(2 * i)));
            c.Observe(Ev.Leave("GR1", T0.AddDays((2 * i) + 1)));
        }
        var g = Assert.Single(c.State.Groups);
        Assert.Equal(2, g.Earlier.Count);
        Assert.Equal([new MembershipChange(T0.AddDays(9), false), new MembershipChange(T0.AddDays(10), true)], g.Earlier);
        Assert.Equal((T0.AddDays(11), false), (g.At, g.Active));
        // A change older than everything kept would be dropped at once: nothing to record.
        Assert.Empty(CustomerDecider.Decide(c.State with { Seen = default }, new Observe(Ev.Join("GR1", T0.AddDays(1)), c.Clock), rules)
            .OfType<GroupJoinRecorded>());
        Assert.Contains("MaxMembershipChanges must be at least 1", (rules with { MaxMembershipChanges = 0 }).Problems());
    }

    [Fact]
    public void A_single_change_is_stored_as_before_and_an_old_snapshot_reads_as_its_latest_change()
    {
        var c = new Customer().ObserveAll(Ev.Join("GR1", T0), Ev.ContactAdd("G1", T0));
        var json = Encoding.UTF8.GetString(CustomerSnapshot.Serialize(c.State));
        // The format of states without any history is unchanged: no field for it.
        Assert.DoesNotContain("earlier", json, StringComparison.Ordinal);
        Assert.Contains("\"groups\":[{\"id\":\"GR1\",\"at\":", json, StringComparison.Ordinal);

        c.Observe(Ev.Leave("GR1", T0.AddDays(1)));
        var withHistory = CustomerSnapshot.Serialize(c.State);
        Assert.Contains("\"earlier\":[{\"at\":", Encoding.UTF8.GetString(withHistory), StringComparison.Ordinal);
        Assert.Equal(c.State, CustomerSnapshot.Deserialize(withHistory));

        // A snapshot written before intervals existed: a removed group, its join forgotten.
        var old = Encoding.UTF8.GetString(withHistory);
        var start = old.IndexOf(",\"earlier\":", StringComparison.Ordinal);
        var end = old.IndexOf(']', start) + 1;
        var state = CustomerSnapshot.Deserialize(Encoding.UTF8.GetBytes(old.Remove(start, end - start)));
        var g = Assert.Single(state.Groups);
        Assert.True(g.Earlier.IsEmpty);
        Assert.True(g.MemberAt(T0.AddDays(-30))); // a member until the leave, as before
        Assert.False(g.MemberAt(T0.AddDays(1)));
    }
}
