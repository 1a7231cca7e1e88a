using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

public class ProfileChangeTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;
    private static readonly CustomerRules Rules = CustomerRules.Default;

    /// <summary>Observes one event and returns the change events between before and after.</summary>
    private static IReadOnlyList<ProfileChange> Step(Customer c, InputEvent evt)
    {
        var before = c.State;
        c.Observe(evt);
        return Profile.Changes(before, c.State, c.Clock, Rules);
    }

    private static string[] Names(IEnumerable<ProfileChange> changes) => changes.Select(c => c.Change).ToArray();

    [Fact]
    public void The_first_event_creates_the_profile_with_its_segment()
    {
        var c = new Customer("C-7");
        var changes = Step(c, Ev.PageView(T0));

        var created = Assert.Single(changes);
        Assert.Equal((ProfileChanges.Created, "C-7", c.Clock), (created.Change, created.CustomerId, created.At));
        Assert.Equal(new ProfileSegment("low", "new", c.Clock.ToUniversalTime()), created.Segment);
    }

    [Fact]
    public void Joining_and_leaving_groups_and_the_private_domain()
    {
        var c = new Customer().ObserveAll(Ev.PageView(T0));

        var first = Step(c, Ev.Join("GR1", T0.AddHours(1)));
        Assert.Equal([ProfileChanges.JoinedPrivateDomain, ProfileChanges.GroupJoined], Names(first));
        Assert.Equal("GR1", first[1].GroupId);

        Assert.Equal([ProfileChanges.GroupJoined], Names(Step(c, Ev.Join("GR2", T0.AddHours(2)))));

        var left = Step(c, Ev.Leave("GR1", T0.AddHours(3)));
        Assert.Equal([ProfileChanges.GroupLeft], Names(left));
        Assert.Equal("GR1", left[0].GroupId);

        Assert.Equal([ProfileChanges.LeftPrivateDomain, ProfileChanges.GroupLeft], Names(Step(c, Ev.Leave("GR2", T0.AddHours(4)))));
        Assert.Equal([ProfileChanges.JoinedPrivateDomain], Names(Step(c, Ev.ContactAdd("G1", T0.AddHours(5)))));
    }

    [Fact]
    public void Tag_changes_carry_the_previous_value_and_refreshing_a_value_is_silent()
    {
        var c = new Customer().ObserveAll(Ev.PageView(T0));

        var added = Assert.Single(Step(c, Ev.Tag(T0.AddHours(1), ("shoe_size", "42"))));
        Assert.Equal((ProfileChanges.TagChanged, "shoe_size", "42", (string?)null), (added.Change, added.Tag, added.Value, added.PreviousValue));

        var changed = Assert.Single(Step(c, Ev.Tag(T0.AddHours(2), ("shoe_size", "43"))));
        Assert.Equal(("43", "42"), (changed.Value, changed.PreviousValue));

        var version = c.State.Version;
        Assert.Empty(Step(c, Ev.Tag(T0.AddHours(3), ("shoe_size", "43")))); // same value, newer time
        Assert.Equal(version + 1, c.State.Version); // the state still moved (the newer time matters for later events)
    }

    [Fact]
    public void Orders_that_move_the_segment_report_segment_changed()
    {
        var c = new Customer { Clock = T0.AddDays(40) }.ObserveAll(Ev.Order("O1", 10m, T0));

        var changes = Step(c, Ev.Order("O2", 10m, T0.AddDays(39)));

        var moved = Assert.Single(changes);
        Assert.Equal(ProfileChanges.SegmentChanged, moved.Change);
        Assert.Equal(("low", "active"), (moved.PreviousSegment!.Frequency, moved.PreviousSegment.State));
        Assert.Equal(("mid", "active"), (moved.Segment!.Frequency, moved.Segment.State));
    }

    [Fact]
    public void Time_passing_alone_moves_the_segment_between_published_profiles()
    {
        var c = new Customer().ObserveAll(Ev.Order("O1", 10m, T0), Ev.Order("O2", 10m, T0.AddDays(40)));
        var published = Profile.Project(c.State, T0.AddDays(41), Rules);
        var now = T0.AddDays(121); // more than 2 x the 40-day usual interval since the last order

        var changes = Profile.Changes(published, Profile.Project(c.State, now, Rules), now);

        var moved = Assert.Single(changes);
        Assert.Equal((ProfileChanges.SegmentChanged, "at_risk", "active"), (moved.Change, moved.Segment!.State, moved.PreviousSegment!.State));
        Assert.Equal(("low", "mid"), (moved.Segment.Frequency, moved.PreviousSegment.Frequency));
    }

    [Fact]
    public void A_merge_is_reported_by_both_sides()
    {
        var a = new Customer("C-1").ObserveAll(Ev.PageView(T0));
        var b = new Customer("C-2").ObserveAll(
            Ev.Join("GR1", T0.AddHours(1), new CustomerIds { OpenId = "o1" }),
            Ev.Tag(T0.AddHours(2), ("formula", "A2")) with { Ids = new CustomerIds { OpenId = "o1" } });
        var survivorBefore = a.State;
        var absorbedBefore = b.State;

        a.Send(new Absorb(b.State with { MergedFrom = ["C-0"] }, a.Clock));
        b.Send(new MarkMergedInto("C-1", b.Clock));

        var survivor = Profile.Changes(survivorBefore, a.State, a.Clock, Rules);
        Assert.Equal(
            [ProfileChanges.Merged, ProfileChanges.JoinedPrivateDomain, ProfileChanges.GroupJoined, ProfileChanges.TagChanged],
            Names(survivor));
        Assert.Equal(["C-0", "C-2"], survivor[0].MergedFrom!.Value);

        var absorbed = Assert.Single(Profile.Changes(absorbedBefore, b.State, b.Clock, Rules));
        Assert.Equal((ProfileChanges.Merged, "C-1"), (absorbed.Change, absorbed.MergedInto));
        Assert.Empty(Profile.Changes(b.State, b.State, b.Clock, Rules));
    }

    [Fact]
    public void No_change_no_change_events()
    {
        var c = new Customer().ObserveAll(Ev.Join("GR1", T0), Ev.Order("O1", 10m, T0));
        Assert.Empty(Profile.Changes(c.State, c.State, c.Clock, Rules));
        Assert.Empty(Step(c, Ev.Join("GR1", T0.AddHours(1)))); // refreshes the join time only
    }
}

/// <summary>The state-based change diff (what a save announces) equals the diff of the two projected profiles.</summary>
public sealed class ProfileChangeEquivalenceTests
{
    private static readonly CustomerRules Rules = CustomerRules.Default;

    [Fact]
    public void Changes_read_off_the_states_equal_the_diff_of_their_profiles()
    {
        var rng = new Random(11);
        var t = Ev.T0;
        var states = new List<CustomerState> { CustomerState.Empty("c-eq") };
        var state = states[0];
        for (var i = 0; i < 300; i++)
        {
            t = t.AddHours(rng.Next(1, 200));
            InputEvent e = rng.Next(7) switch
            {
                0 => Ev.Join($"GR{rng.Next(4)}", t),
                1 => Ev.Leave($"GR{rng.Next(4)}", t),
                2 => Ev.Tag(t, ($"tag{rng.Next(3)}", $"v{rng.Next(3)}")),
                3 => Ev.ContactAdd($"G{rng.Next(2)}", t),
                4 => Ev.ContactRemove($"G{rng.Next(2)}", t),
                _ => Ev.Order($"O{i}", 10m, t),
            };
            state = CustomerDecider.ApplyAll(state, CustomerDecider.Decide(state, new Observe(e, t), Rules), Rules);
            states.Add(state);
        }
        var other = CustomerDecider.ApplyAll(CustomerState.Empty("c-other"),
            CustomerDecider.Decide(CustomerState.Empty("c-other"), new Observe(Ev.Order("X1", 5m, Ev.T0, ids: new CustomerIds { MemberId = "MX" }), Ev.T0), Rules), Rules);
        var absorbed = CustomerDecider.ApplyAll(state, CustomerDecider.Decide(state, new Absorb(other, t), Rules), Rules);
        states.Add(absorbed);
        var pointer = CustomerDecider.ApplyAll(other, CustomerDecider.Decide(other, new MarkMergedInto("c-eq", t), Rules), Rules);

        var pairs = new List<(CustomerState? Before, CustomerState After)> { (null, states[1]), (states[^2], absorbed), (other, pointer), (null, pointer) };
        for (var i = 1; i < states.Count; i++)
        {
            pairs.Add((states[i - 1], states[i]));
            pairs.Add((states[rng.Next(states.Count)], states[i]));
        }
        foreach (var now in new[] { t, t.AddDays(45), t.AddDays(400) })
        {
            foreach (var (before, after) in pairs)
            {
                var expected = Profile.Changes(before is null || before.IsNew ? null : Profile.Project(before, now, Rules), Profile.Project(after, now, Rules), now);
                var actual = Profile.Changes(before, after, now, Rules);
                Assert.Equal(Json(expected), Json(actual));
            }
        }
    }

    private static string Json(IEnumerable<ProfileChange> changes) => string.Join("\n", changes.Select(c => System.Text.Encoding.UTF8.GetString(Profile.ToJson(c))));
}
