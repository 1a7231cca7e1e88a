using Siyu.Actors.Customers;
using Siyu.Actors.Identity;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Identity;

public sealed class IdentityDeciderTests
{
    private static readonly CustomerRules Rules = CustomerRules.Default;

    private sealed class Known(Dictionary<string, LinkedId[]> held) : IIdentityView
    {
        public bool TryGetIds(string customerId, out IReadOnlyList<LinkedId> ids)
        {
            var found = held.TryGetValue(customerId, out var h);
            ids = h ?? [];
            return found;
        }
    }

    private static readonly LinkedId M1 = new(IdType.MemberId, "M1");
    private static readonly LinkedId M2 = new(IdType.MemberId, "M2");
    private static readonly LinkedId A1 = new(IdType.AppUserId, "A1");
    private static readonly LinkedId O1 = new(IdType.OpenId, "o1");

    [Fact]
    public void Device_ids_are_weak_and_an_event_with_only_one_is_anchored_on_it()
    {
        var app = EventIdentity.Of(new CustomerIds { AppUserId = "A1", DeviceId = "dev-TABLET-S001" }, Rules);
        Assert.Equal([A1], app.Strong);
        Assert.Equal([new LinkedId(IdType.DeviceId, "dev-TABLET-S001")], app.Weak);
        Assert.Equal([A1], app.Indexed.ToArray()); // the index decides by the app user only
        Assert.Equal([A1, new LinkedId(IdType.DeviceId, "dev-TABLET-S001")], app.All);

        var open = EventIdentity.Of(new CustomerIds { DeviceId = "d1" }, Rules);
        Assert.True(open.WeakOnly);
        Assert.Equal([new LinkedId(IdType.DeviceId, "d1")], open.Indexed.ToArray());
    }

    [Fact]
    public void Ids_are_in_priority_order_and_unusable_ones_are_refused()
    {
        var ev = EventIdentity.Of(new CustomerIds { OpenId = "o1", MemberId = "M1", Phone = "13800000000", DeviceId = "null" }, Rules);
        Assert.Equal([M1, O1], ev.Strong);
        Assert.Empty(ev.Weak);
        Assert.Equal([IdRefusal.PhoneNotHashed, IdRefusal.BlockedValue], ev.Refused.Select(r => r.Reason));
        Assert.True(EventIdentity.Of(new CustomerIds { MemberId = "0" }, Rules).IsEmpty);
    }

    [Fact]
    public void Ids_all_owned_by_one_customer_go_there_without_allocating()
    {
        LinkedId[] strong = [M1, O1];
        string?[] owners = ["c1", "c1"];
        var view = new Known([]);
        IdentityDecider.Decide(strong, owners, view, Rules); // warm up
        var before = GC.GetAllocatedBytesForCurrentThread();
        var decision = IdentityDecider.Decide(strong, owners, view, Rules);
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(new IdentityDecision(IdentityVerdict.Owned, "c1", 2), decision);
        Assert.Equal(0, allocated);
    }

    [Fact]
    public void Unknown_ids_make_a_new_customer()
    {
        Assert.Equal(new IdentityDecision(IdentityVerdict.New, null, 2), IdentityDecider.Decide([M1, O1], [null, null], new Known([]), Rules));
    }

    [Fact]
    public void A_new_id_joins_the_customer_of_the_known_one_within_the_limits()
    {
        var view = new Known(new() { ["c1"] = [M1, new LinkedId(IdType.DeviceId, "d1")] });
        Assert.Equal(new IdentityDecision(IdentityVerdict.Join, "c1", 2), IdentityDecider.Decide([M1, A1], ["c1", null], view, Rules));
    }

    [Fact]
    public void A_second_member_id_is_not_joined_the_guard_rail_drops_the_lowest_priority_id()
    {
        // A1 belongs to M1's customer; an event {M2, A1} would give it two member ids: the app
        // user id (lower priority) gives way and M2 is a customer of its own.
        var view = new Known(new() { ["c1"] = [M1, A1] });
        Assert.Equal(new IdentityDecision(IdentityVerdict.New, null, 1), IdentityDecider.Decide([M2, A1], [null, "c1"], view, Rules));
    }

    [Fact]
    public void Ids_of_two_customers_merge_them_into_the_older()
    {
        var view = new Known(new() { ["c2"] = [M1], ["c1"] = [O1] });
        Assert.Equal(new IdentityDecision(IdentityVerdict.Merge, "c1", 2), IdentityDecider.Decide([M1, O1], ["c2", "c1"], view, Rules));
    }

    [Fact]
    public void What_a_customer_holds_is_asked_for_when_not_known()
    {
        Assert.Equal(new IdentityDecision(IdentityVerdict.NeedIds, "c1", 2), IdentityDecider.Decide([M1, A1], ["c1", null], new Known([]), Rules));
    }

    [Fact]
    public void Weak_ids_never_count_against_the_strong_limits()
    {
        var devices = Enumerable.Range(0, 5).Select(i => new LinkedId(IdType.DeviceId, $"d{i}")).ToArray();
        var view = new Known(new() { ["c1"] = devices.Prepend(M1).ToArray() });
        Assert.Equal(IdentityVerdict.Join, IdentityDecider.Decide([M1, A1], ["c1", null], view, Rules).Verdict);
    }

    [Fact]
    public void The_weak_types_are_a_rule_and_validated()
    {
        Assert.True(Rules.IsWeak(IdType.DeviceId));
        Assert.False(Rules.IsWeak(IdType.AppUserId));
        var allWeak = Rules with { WeakIdTypes = Enum.GetValues<IdType>() };
        Assert.Contains(allWeak.Problems(), p => p.Contains("WeakIdTypes", StringComparison.Ordinal));
    }
}
