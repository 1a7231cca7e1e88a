using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

/// <summary>Each input event type changes the customer as the contract says.</summary>
public class ObserveTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void First_event_creates_the_customer_at_its_occurred_at_and_links_its_ids()
    {
        var c = new Customer();
        var ids = new CustomerIds { MemberId = "M1", Phone = Ev.PhoneHash(1) };

        var events = c.Observe(Ev.PageView(T0, ids));

        Assert.IsType<IdsLinked>(Assert.Single(events));
        Assert.Equal(1, c.State.Version);
        Assert.Equal(T0, c.State.CreatedAt);
        Assert.Equal(c.Clock, c.State.UpdatedAt);
        Assert.Equal([new LinkedId(IdType.MemberId, "M1"), new LinkedId(IdType.Phone, Ev.PhoneHash(1))], c.State.Ids);
    }

    [Fact]
    public void An_earlier_late_event_moves_created_at_back()
    {
        var c = new Customer().ObserveAll(Ev.PageView(T0));

        var events = c.Observe(Ev.PageView(T0.AddDays(-3)));

        Assert.IsType<EventSeen>(Assert.Single(events));
        Assert.Equal(T0.AddDays(-3), c.State.CreatedAt);
        Assert.Empty(c.Observe(Ev.PageView(T0.AddDays(1)))); // later and nothing new: no change at all
    }

    [Fact]
    public void Order_counts_in_totals_by_channel_and_first_last_order()
    {
        var c = new Customer();

        c.ObserveAll(
            Ev.Order("O1", 199.00m, T0, Channel.Pos),
            Ev.Order("O2", 39.90m, T0.AddDays(2), Channel.MiniProgram),
            Ev.Order("O3", 10.10m, T0.AddDays(-1), Channel.App));

        var s = c.State.Stats;
        Assert.Equal(3, s.Orders);
        Assert.Equal(249.00m, s.Revenue);
        Assert.Equal(new ChannelStats(1, 199.00m), s.Pos);
        Assert.Equal(new ChannelStats(1, 39.90m), s.MiniProgram);
        Assert.Equal(new ChannelStats(1, 10.10m), s.App);
        Assert.Equal(T0.AddDays(-1), s.FirstOrderAt);
        Assert.Equal(T0.AddDays(2), s.LastOrderAt);
        Assert.Equal(3, c.State.RecentOrders.Count);
        Assert.Equal(
            [T0.AddDays(-1), T0, T0.AddDays(2)],
            c.State.RecentOrders.Select(o => o.OccurredAt));
        var recorded = c.State.RecentOrders.Single(o => o.Key == EventKeys.Order("O2"));
        Assert.Equal(Channel.MiniProgram, recorded.Channel);
        Assert.Equal(Attribution.Organic, recorded.Attribution); // no campaign, group or guide
    }

    [Fact]
    public void Group_join_and_leave_set_groups_and_private_domain()
    {
        var c = new Customer();
        c.Observe(Ev.Join("GR1", T0));
        c.Observe(Ev.Join("GR2", T0.AddHours(1)));
        Assert.Equal(["GR1", "GR2"], c.State.ActiveGroups);
        Assert.True(c.State.InPrivateDomain);

        c.Observe(Ev.Leave("GR1", T0.AddHours(2)));
        Assert.Equal(["GR2"], c.State.ActiveGroups);
        Assert.True(c.State.InPrivateDomain);

        c.Observe(Ev.Leave("GR2", T0.AddHours(3)));
        Assert.Empty(c.State.ActiveGroups);
        Assert.False(c.State.InPrivateDomain);
    }

    [Fact]
    public void Contacts_decide_the_owning_guide_latest_added_not_removed()
    {
        var c = new Customer();
        c.Observe(Ev.ContactAdd("G1", T0));
        Assert.Equal("G1", c.State.OwningGuideId);
        Assert.True(c.State.InPrivateDomain);

        c.Observe(Ev.ContactAdd("G2", T0.AddDays(1)));
        Assert.Equal("G2", c.State.OwningGuideId);

        c.Observe(Ev.ContactRemove("G2", T0.AddDays(2)));
        Assert.Equal("G1", c.State.OwningGuideId);
        Assert.Equal(T0, c.State.Contacts.Single(x => x.Id == "G1").At); // added_at kept

        c.Observe(Ev.ContactRemove("G1", T0.AddDays(3)));
        Assert.Null(c.State.OwningGuideId);
        Assert.False(c.State.InPrivateDomain);
    }

    [Fact]
    public void A_late_added_contact_does_not_take_over_from_a_later_one()
    {
        var c = new Customer();
        c.Observe(Ev.ContactAdd("G2", T0.AddDays(5)));
        c.Observe(Ev.ContactAdd("G1", T0)); // arrives later, happened earlier
        Assert.Equal("G2", c.State.OwningGuideId);
    }

    [Fact]
    public void Tags_latest_occurred_at_wins_not_latest_arrival()
    {
        var c = new Customer();
        c.Observe(Ev.Tag(T0.AddDays(1), ("shoe_size", "42"), ("formula", "A2")));
        var late = c.Observe(Ev.Tag(T0, ("shoe_size", "41"), ("baby_birth_month", "2026-03")));

        var recorded = Assert.IsType<TagsRecorded>(Assert.Single(late));
        Assert.Equal(["baby_birth_month"], recorded.Tags.Select(t => t.Name)); // the stale shoe size lost
        Assert.Equal(
            [("baby_birth_month", "2026-03"), ("formula", "A2"), ("shoe_size", "42")],
            c.State.Tags.Select(t => (t.Name, t.Value)));

        c.Observe(Ev.Tag(T0.AddDays(2), ("shoe_size", "43")));
        Assert.Equal("43", c.State.Tags.Single(t => t.Name == "shoe_size").Value);
    }

    [Fact]
    public void Profile_update_keeps_the_latest_birthday_and_not_the_name()
    {
        var c = new Customer();
        c.Observe(Ev.Birthday(new DateOnly(1990, 7, 7), T0.AddDays(1), name: "Li Lei"));
        c.Observe(Ev.Birthday(new DateOnly(1991, 1, 1), T0)); // older correction arrives late

        Assert.Equal(new DateOnly(1990, 7, 7), c.State.Birthday);
        Assert.DoesNotContain("Li Lei", System.Text.Encoding.UTF8.GetString(CustomerSnapshot.Serialize(c.State)));

        // A name-only update is not a change to the profile (the name is not part of it).
        Assert.Empty(c.Observe(Ev.Birthday(null, T0.AddDays(2), name: "Han Meimei")));
    }

    [Fact]
    public void Bind_phone_and_login_link_the_ids_that_travel_together()
    {
        var c = new Customer();
        var bind = new PhoneBound
        {
            EventId = Ev.NextId(), OccurredAt = T0, Channel = Channel.MiniProgram,
            Ids = new CustomerIds { OpenId = "o1", UnionId = "u1", Phone = Ev.PhoneHash(7) },
        };
        var login = new LoggedIn
        {
            EventId = Ev.NextId(), OccurredAt = T0.AddMinutes(5), Channel = Channel.App,
            Ids = new CustomerIds { AppUserId = "a1", Phone = Ev.PhoneHash(7) },
        };

        c.ObserveAll(bind, login);

        Assert.Equal(
            ["phone=" + Ev.PhoneHash(7), "unionid=u1", "openid=o1", "app_user_id=a1"],
            c.State.Ids.Select(i => i.ToString()));
    }

    public static TheoryData<string> IdOnlyTypes() =>
        ["page_view", "app_open", "message", "service_done"]; // service_done of a task never planned; message_sent counts a guide touch (OperationsDeciderTests)

    [Theory]
    [MemberData(nameof(IdOnlyTypes))]
    public void Id_only_events_only_link_ids(string type)
    {
        var c = new Customer().ObserveAll(Ev.Join("GR1", T0), Ev.Order("O1", 10m, T0));
        var before = c.State;
        InputEvent touch = type switch
        {
            "page_view" => new PageViewed { Page = "/p" },
            "app_open" => new AppOpened(),
            "message" => new GroupMessagePosted { GroupId = "GR9" },
            "service_done" => new ServiceDone { GuideId = "G1", Task = "3d" },
            "message_sent" => new MessageSent { GuideId = "G1" },
            _ => throw new ArgumentOutOfRangeException(nameof(type)),
        };
        Assert.Equal(type, touch.Type);

        // Known ids only: nothing to change.
        Assert.Empty(c.Observe(touch with { EventId = Ev.NextId(), OccurredAt = T0.AddHours(1), Ids = Ev.Member() }));
        Assert.Equal(before, c.State);

        // A new id travels with it: linked, nothing else moves.
        var events = c.Observe(touch with { EventId = Ev.NextId(), OccurredAt = T0.AddHours(2), Ids = new CustomerIds { MemberId = "M1", DeviceId = "d1" } });
        Assert.IsType<IdsLinked>(Assert.Single(events));
        Assert.Contains(new LinkedId(IdType.DeviceId, "d1"), c.State.Ids);
        Assert.Equal(before.Stats, c.State.Stats);
        Assert.Equal(before.Groups, c.State.Groups);
        Assert.Equal(before.Contacts, c.State.Contacts);
        Assert.Equal(before.Tags, c.State.Tags);
    }

    [Fact]
    public void Version_counts_applied_changes_and_notices_do_not_count()
    {
        var c = new Customer();
        c.Observe(Ev.Order("O1", 10m, T0, ids: new CustomerIds { MemberId = "M1", DeviceId = "d1" })); // ids + order
        Assert.Equal(2, c.State.Version);

        var events = c.Observe(Ev.Refund("O-unknown", 5m, T0.AddHours(1)));
        Assert.IsType<RefundUnmatched>(Assert.Single(events));
        Assert.Equal(2, c.State.Version);
    }
}
