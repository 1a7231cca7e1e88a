using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

public class IdentityRulesTests
{
    private static readonly CustomerRules Rules = CustomerRules.Default;
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    [InlineData("0")]
    [InlineData("-1")]
    [InlineData("NULL")]
    [InlineData("Undefined")]
    [InlineData(" anonymous ")]
    [InlineData("unknown")]
    public void Blocked_placeholder_values_are_never_linked(string value)
    {
        var result = IdentityRules.Filter(new CustomerIds { MemberId = "M1", DeviceId = value }, [], Rules);

        Assert.Equal([new LinkedId(IdType.MemberId, "M1")], result.New);
        Assert.Equal([new RefusedId(IdType.DeviceId, value, IdRefusal.BlockedValue)], result.Refused);
    }

    [Fact]
    public void Blocked_values_are_configurable()
    {
        var rules = Rules with { BlockedIdValues = ["guest"] };
        Assert.Single(IdentityRules.Filter(new CustomerIds { OpenId = "GUEST" }, [], rules).Refused);
        Assert.Single(IdentityRules.Filter(new CustomerIds { OpenId = "null" }, [], rules).New);
    }

    [Fact]
    public void A_phone_that_is_not_hashed_is_refused_without_repeating_it()
    {
        var result = IdentityRules.Filter(new CustomerIds { Phone = "13800000000", OpenId = "o1" }, [], Rules);

        Assert.Equal([new LinkedId(IdType.OpenId, "o1")], result.New);
        var refused = Assert.Single(result.Refused);
        Assert.Equal((IdType.Phone, (string?)null, IdRefusal.PhoneNotHashed), (refused.Type, refused.Value, refused.Reason));
    }

    [Fact]
    public void Known_ids_are_accepted_but_not_new()
    {
        var known = new[] { new LinkedId(IdType.MemberId, "M1") };
        var result = IdentityRules.Filter(new CustomerIds { MemberId = "M1", OpenId = "o1" }, known, Rules);

        Assert.Equal([new LinkedId(IdType.MemberId, "M1"), new LinkedId(IdType.OpenId, "o1")], result.Accepted.OrderBy(i => i.Type));
        Assert.Equal([new LinkedId(IdType.OpenId, "o1")], result.New);
        Assert.Empty(result.Refused);
    }

    [Fact]
    public void A_shared_device_beyond_the_limit_is_refused_and_the_rest_of_the_event_applies()
    {
        var c = new Customer();
        for (var i = 1; i <= 5; i++)
        {
            c.Observe(Ev.AppOpen(T0.AddMinutes(i), new CustomerIds { MemberId = "M1", DeviceId = $"d{i}" }));
        }
        Assert.Equal(5, c.State.Ids.Count(i => i.Type == IdType.DeviceId));

        // A shop's shared tablet: sixth device for this member, with a new app user id.
        var events = c.Observe(Ev.Order("O1", 10m, T0.AddHours(1), Channel.App,
            ids: new CustomerIds { MemberId = "M1", DeviceId = "shop-tablet", AppUserId = "a1" }));

        var refused = Assert.Single(events.OfType<IdsRefused>());
        Assert.Equal([new RefusedId(IdType.DeviceId, "shop-tablet", IdRefusal.LimitExceeded)], refused.Ids);
        Assert.Equal("O1", Assert.Single(events.OfType<OrderRecorded>()).OrderId);
        Assert.Equal([new LinkedId(IdType.AppUserId, "a1")], Assert.Single(events.OfType<IdsLinked>()).Ids);
        Assert.DoesNotContain(new LinkedId(IdType.DeviceId, "shop-tablet"), c.State.Ids);
        Assert.Equal(1, c.State.Stats.Orders);
    }

    [Fact]
    public void A_second_member_id_is_refused_first_come_first_served()
    {
        var c = new Customer().ObserveAll(Ev.PageView(T0, new CustomerIds { MemberId = "M1" }));
        var events = c.Observe(Ev.PageView(T0.AddMinutes(1), new CustomerIds { MemberId = "M2", OpenId = "o1" }));

        Assert.Equal(IdRefusal.LimitExceeded, Assert.Single(Assert.Single(events.OfType<IdsRefused>()).Ids).Reason);
        Assert.Equal(["member_id=M1", "openid=o1"], c.State.Ids.Select(i => i.ToString()));
    }

    [Fact]
    public void Limits_are_configurable()
    {
        var rules = Rules with { IdLimits = new Dictionary<IdType, int>(Rules.IdLimits) { [IdType.OpenId] = 1 } };
        var known = new[] { new LinkedId(IdType.OpenId, "o1") };
        Assert.Single(IdentityRules.Filter(new CustomerIds { OpenId = "o2" }, known, rules).Refused);
        Assert.Single(IdentityRules.Filter(new CustomerIds { OpenId = "o2" }, known, Rules).New);
    }

    [Fact]
    public void Merge_violations_and_the_lowest_priority_id_guide_the_index()
    {
        LinkedId[] a = [new(IdType.MemberId, "M1"), new(IdType.DeviceId, "d1")];
        LinkedId[] b = [new(IdType.MemberId, "M2"), new(IdType.OpenId, "o1")];
        Assert.Equal([IdType.MemberId], IdentityRules.MergeViolations(a, b, Rules));
        Assert.Empty(IdentityRules.MergeViolations(a, [new(IdType.OpenId, "o1"), new(IdType.MemberId, "M1")], Rules));

        LinkedId[] eventIds = [new(IdType.MemberId, "M2"), new(IdType.OpenId, "o9"), new(IdType.DeviceId, "d1"), new(IdType.ExternalUserId, "wx1")];
        Assert.Equal(new LinkedId(IdType.DeviceId, "d1"), IdentityRules.LowestPriority(eventIds, Rules));
        Assert.Equal(new LinkedId(IdType.OpenId, "o9"), IdentityRules.LowestPriority(eventIds.Where(i => i.Type != IdType.DeviceId), Rules));
        Assert.True(Rules.PriorityRank(IdType.UnionId) < Rules.PriorityRank(IdType.AppUserId));
    }
}
