using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

/// <summary>Late and out-of-order delivery converges to the in-order state.</summary>
public class OrderingTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;
    private static readonly DateTimeOffset Now = T0.AddDays(60);

    /// <summary>A few weeks of one customer, in occurred_at order, with two redeliveries.</summary>
    private static List<InputEvent> History()
    {
        var o1 = Ev.Order("O1", 100m, T0, Channel.Pos, guideId: "G1");
        var join = Ev.Join("GR1", T0.AddHours(1));
        List<InputEvent> events =
        [
            Ev.PageView(T0.AddMinutes(-5), new CustomerIds { OpenId = "o1", UnionId = "u1" }),
            o1,
            join,
            Ev.ContactAdd("G1", T0.AddHours(2)),
            Ev.Tag(T0.AddHours(3), ("shoe_size", "42"), ("formula", "A2")),
            Ev.Join("GR2", T0.AddDays(1)),
            Ev.Order("O2", 50m, T0.AddDays(1), Channel.MiniProgram, new CustomerIds { OpenId = "o1" }),
            Ev.Birthday(new DateOnly(1990, 7, 7), T0.AddDays(1)),
            Ev.Leave("GR2", T0.AddDays(2)),
            Ev.Order("O3", 20m, T0.AddDays(2), Channel.App, new CustomerIds { MemberId = "M1", AppUserId = "a1", DeviceId = "d1" }),
            Ev.Refund("O1", 30m, T0.AddDays(3)),
            Ev.Tag(T0.AddDays(3), ("shoe_size", "43")),
            Ev.Refund("O2", 50m, T0.AddDays(4), Channel.MiniProgram),
            Ev.ContactAdd("G2", T0.AddDays(5)),
            Ev.Refund("O1", 20m, T0.AddDays(5)),
            Ev.Birthday(new DateOnly(1990, 7, 8), T0.AddDays(6)),
            Ev.ContactRemove("G2", T0.AddDays(6)),
            Ev.ContactRemove("G1", T0.AddDays(7)),
            Ev.ContactAdd("G1", T0.AddDays(8)),
            Ev.Leave("GR1", T0.AddDays(10)),
            Ev.Join("GR1", T0.AddDays(20)),
            Ev.Order("O4", 10m, T0.AddDays(40), Channel.Pos),
            o1,   // redelivered
            join, // redelivered
        ];
        return events;
    }

    /// <summary>Delivers the events, then retries unmatched refunds (the caller's grace period) until none match any more.</summary>
    private static Customer Deliver(IEnumerable<InputEvent> events)
    {
        var c = new Customer { Clock = Now };
        var pending = new List<InputEvent>();
        foreach (var e in events)
        {
            if (c.Observe(e).Any(x => x is RefundUnmatched))
            {
                pending.Add(e);
            }
        }
        while (pending.Count > 0)
        {
            var retry = pending.ToList();
            pending.Clear();
            foreach (var e in retry)
            {
                if (c.Observe(e).Any(x => x is RefundUnmatched))
                {
                    pending.Add(e);
                }
            }
            Assert.True(pending.Count < retry.Count, "an unmatched refund never matched");
        }
        return c;
    }

    /// <summary>
    /// What may depend on arrival: how many changes it took, which inputs are in the dedup window,
    /// and the orders' attributions (contract: decided when the order is processed, from what has
    /// arrived by then).
    /// </summary>
    private static CustomerState Comparable(CustomerState s) => s with
    {
        Version = 0,
        Seen = default,
        RecentOrders = s.RecentOrders.Select(o => o with { Attribution = null }).ToEquatableArray(),
    };

    [Fact]
    public void In_order_delivery_gives_the_expected_customer()
    {
        var s = Deliver(History()).State;

        Assert.Equal(4, s.Stats.Orders);
        Assert.Equal(3, s.Stats.Refunds);
        Assert.Equal(180m - 100m, s.Stats.Revenue);
        Assert.Equal(new ChannelStats(2, 60m), s.Stats.Pos);
        Assert.Equal(new ChannelStats(1, 0m), s.Stats.MiniProgram);
        Assert.Equal(["GR1"], s.ActiveGroups);
        Assert.Equal("G1", s.OwningGuideId);
        Assert.Equal(T0.AddDays(8), s.Contacts.Single(c => c.Id == "G1").At);
        Assert.Equal([("formula", "A2"), ("shoe_size", "43")], s.Tags.Select(t => (t.Name, t.Value)));
        Assert.Equal(new DateOnly(1990, 7, 8), s.Birthday);
        Assert.Equal(T0.AddMinutes(-5), s.CreatedAt);
        Assert.Equal(["member_id=M1", "unionid=u1", "openid=o1", "app_user_id=a1", "device_id=d1"], s.Ids.Select(i => i.ToString()));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(42)]
    [InlineData(2026)]
    public void Shuffled_delivery_gives_the_same_customer(int seed)
    {
        var inOrder = History();
        var shuffled = inOrder.ToArray();
        new Random(seed).Shuffle(shuffled);
        Assert.NotEqual(inOrder, shuffled);

        var expected = Deliver(inOrder);
        var actual = Deliver(shuffled);

        Assert.Equal(Comparable(expected.State), Comparable(actual.State));
        Assert.Equal(
            Profile.ToJson(Comparable(expected.State), Now, CustomerRules.Default),
            Profile.ToJson(Comparable(actual.State), Now, CustomerRules.Default));
    }

    [Fact]
    public void Reversed_delivery_gives_the_same_customer()
    {
        var inOrder = History();
        var reversed = Enumerable.Reverse(inOrder).ToList();
        Assert.Equal(Comparable(Deliver(inOrder).State), Comparable(Deliver(reversed).State));
    }

    [Fact]
    public void A_late_leave_older_than_a_rejoin_does_not_remove_the_member()
    {
        var c = new Customer().ObserveAll(Ev.Join("GR1", T0), Ev.Join("GR1", T0.AddDays(2)));
        c.Observe(Ev.Leave("GR1", T0.AddDays(1)));
        Assert.Equal(["GR1"], c.State.ActiveGroups);

        var d = new Customer().ObserveAll(Ev.Leave("GR1", T0.AddDays(1)));
        d.Observe(Ev.Join("GR1", T0)); // older than the leave: loses even though it arrives later
        Assert.Empty(d.State.ActiveGroups);
    }

    [Fact]
    public void Conflicts_at_the_same_instant_resolve_the_same_way_in_either_arrival_order()
    {
        InputEvent[] events =
        [
            Ev.Tag(T0, ("shoe_size", "42")),
            Ev.Tag(T0, ("shoe_size", "43")),
            Ev.Join("GR1", T0),
            Ev.Leave("GR1", T0),
            Ev.Birthday(new DateOnly(1990, 7, 7), T0),
            Ev.Birthday(new DateOnly(1990, 7, 8), T0),
        ];
        var forward = new Customer().ObserveAll(events);
        var backward = new Customer().ObserveAll(events.Reverse().ToArray());

        Assert.Equal(Comparable(forward.State), Comparable(backward.State));
        Assert.Equal("43", forward.State.Tags.Single().Value); // the larger value wins a tie
        Assert.Empty(forward.State.ActiveGroups);               // a removal wins a tie
        Assert.Equal(new DateOnly(1990, 7, 8), forward.State.Birthday);

        // Redelivered with the window forgotten, the loser still loses.
        var forgetful = forward.State with { Seen = default };
        foreach (var e in events)
        {
            Assert.Empty(CustomerDecider.Decide(forgetful, new Observe(e, forward.Clock), forward.Rules));
        }
    }

    [Fact]
    public void Tombstones_are_bounded()
    {
        var rules = CustomerRules.Default with { MaxTombstones = 2 };
        var c = new Customer(rules: rules);
        for (var i = 0; i < 5; i++)
        {
            c.Observe(Ev.Join($"GR{i}", T0.AddHours(i)));
            c.Observe(Ev.Leave($"GR{i}", T0.AddHours(i).AddMinutes(30)));
        }
        c.Observe(Ev.Join("GR-live", T0));
        Assert.Equal(["GR-live", "GR3", "GR4"], c.State.Groups.Select(g => g.Id));
    }
}
