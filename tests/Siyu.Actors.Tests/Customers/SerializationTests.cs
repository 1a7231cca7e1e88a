using System.Text;
using System.Text.Json;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

public class SerializationTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;
    private static readonly CustomerRules Rules = CustomerRules.Default;

    /// <summary>A customer that uses every part of the state.</summary>
    private static CustomerState Rich()
    {
        var other = new Customer("C-2").ObserveAll(
            Ev.Order("O9", 12.30m, T0.AddDays(-2), Channel.App, new CustomerIds { AppUserId = "a1", DeviceId = "d1" }));
        var c = new Customer("C-1", Rules with { MaxRecentOrders = 6 });
        c.ObserveAll(
            Ev.PageView(T0, new CustomerIds { MemberId = "M1", Phone = Ev.PhoneHash(1), OpenId = "o1" }),
            Ev.Join("GR1", T0), Ev.Join("GR2", T0), Ev.Leave("GR2", T0.AddHours(1)),
            Ev.ContactAdd("G1", T0), Ev.ContactAdd("G2", T0.AddHours(1)), Ev.ContactRemove("G2", T0.AddHours(2)),
            Ev.Tag(T0, ("shoe_size", "42"), ("宝宝月龄", "0-6")),
            Ev.Birthday(new DateOnly(1990, 7, 7), T0));
        for (var i = 0; i < 8; i++)
        {
            c.Observe(Ev.Order($"O{i}", 10.5m + i, T0.AddDays(i), (Channel)(i % 3)));
        }
        c.Observe(Ev.Refund("O7", 1.25m, T0.AddDays(8), Channel.App));
        c.Send(new Absorb(other.State with { MergedFrom = ["C-0"] }, c.Clock));
        var s = c.State;
        // Parts later issues fill: they must survive the snapshot too.
        var orders = s.RecentOrders.ToArray();
        orders[^1] = orders[^1] with { Attribution = new Attribution(AttributionRule.Direct, "C1", CampaignType.FlashSale, null, "G1", true) };
        return s with
        {
            RecentOrders = orders.ToEquatableArray(),
            Touches = [new RecentTouch("C1", "GR1", T0.UtcDateTime), new RecentTouch("C2", "GR1", T0.AddHours(1).UtcDateTime)],
            Operations = new Siyu.Actors.Operations.OperationsState
            {
                Tasks = [new Siyu.Actors.Operations.ServiceTask(7, "O1", "comfort_check", T0.AddDays(3), "G1", T0.AddDays(3))],
                Touches = [T0.UtcDateTime],
                Churn = LifecycleState.AtRisk,
                BirthdayReminded = new DateOnly(2026, 5, 1),
                Audiences = ["vip"],
                Outbox = [new Siyu.Actors.Operations.OperationsNotice { Id = "c1/service_due/x/comfort_check", Kind = "service_due", At = T0, Task = "comfort_check" }],
            },
        };
    }

    [Fact]
    public void Snapshot_round_trips_exactly()
    {
        var state = Rich();
        Assert.NotNull(state.OrdersPrunedThrough);
        Assert.Contains(state.Groups, g => !g.Active);
        Assert.NotEmpty(state.Seen);

        var bytes = CustomerSnapshot.Serialize(state);
        var back = CustomerSnapshot.Deserialize(bytes);

        Assert.Equal(state, back);
        Assert.Equal(bytes, CustomerSnapshot.Serialize(back));
        Assert.Equal(Profile.ToJson(state, Rules), Profile.ToJson(back, Rules));
        // The state keeps refunds, dedup keys and LWW times; the absorbed history too.
        Assert.Equal(state.RecentOrders.Single(o => o.Key == EventKeys.Order("O7")).Refunds, back.RecentOrders.Single(o => o.Key == EventKeys.Order("O7")).Refunds);
    }

    [Fact]
    public void Snapshot_of_a_new_and_of_an_absorbed_customer_round_trip()
    {
        var empty = CustomerState.Empty("C-1");
        Assert.Equal(empty, CustomerSnapshot.Deserialize(CustomerSnapshot.Serialize(empty)));

        var b = new Customer("C-2").ObserveAll(Ev.Order("O1", 1m, T0));
        b.Send(new MarkMergedInto("C-1", b.Clock));
        Assert.Equal(b.State, CustomerSnapshot.Deserialize(CustomerSnapshot.Serialize(b.State)));
    }

    [Fact]
    public void Snapshot_of_an_unknown_format_is_refused()
    {
        var json = Encoding.UTF8.GetString(CustomerSnapshot.Serialize(Rich()));
        Assert.StartsWith("{\"format\":1,", json, StringComparison.Ordinal);
        Assert.Throws<JsonException>(() => CustomerSnapshot.Deserialize(Encoding.UTF8.GetBytes(json.Replace("\"format\":1", "\"format\":2", StringComparison.Ordinal))));
    }

    [Fact]
    public void Profile_json_has_the_contract_field_names()
    {
        var state = Rich();
        using var doc = JsonDocument.Parse(Profile.ToJson(state, T0.AddDays(10), Rules));
        var root = doc.RootElement;

        Assert.Equal(
            ["customer_id", "created_at", "ids", "merged_from", "in_private_domain", "groups", "guide_id", "contacts",
             "tags", "birthday", "stats", "segment", "service", "version", "updated_at"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("C-1", root.GetProperty("customer_id").GetString());
        Assert.Equal(["member_id", "phone", "openid", "app_user_id", "device_id"], root.GetProperty("ids").EnumerateObject().Select(p => p.Name));
        Assert.Equal(Ev.PhoneHash(1), root.GetProperty("ids").GetProperty("phone")[0].GetString());
        Assert.Equal(["C-0", "C-2"], root.GetProperty("merged_from").EnumerateArray().Select(e => e.GetString()));
        Assert.True(root.GetProperty("in_private_domain").GetBoolean());
        Assert.Equal(["GR1"], root.GetProperty("groups").EnumerateArray().Select(e => e.GetString()));
        Assert.Equal("G1", root.GetProperty("guide_id").GetString());
        Assert.Equal("42", root.GetProperty("tags").GetProperty("shoe_size").GetString());
        Assert.Equal("0-6", root.GetProperty("tags").GetProperty("宝宝月龄").GetString());
        Assert.Equal("1990-07-07", root.GetProperty("birthday").GetString());

        var stats = root.GetProperty("stats");
        Assert.Equal(
            ["orders", "revenue", "refunds", "refund_amount", "first_order_at", "last_order_at", "by_channel"],
            stats.EnumerateObject().Select(p => p.Name));
        Assert.Equal(9, stats.GetProperty("orders").GetInt32());
        Assert.Equal(state.Stats.Revenue, stats.GetProperty("revenue").GetDecimal());
        Assert.Equal(1, stats.GetProperty("refunds").GetInt32());
        Assert.Equal(["pos", "miniprogram", "app"], stats.GetProperty("by_channel").EnumerateObject().Select(p => p.Name));
        Assert.Equal(["orders", "revenue"], stats.GetProperty("by_channel").GetProperty("miniprogram").EnumerateObject().Select(p => p.Name));

        var segment = root.GetProperty("segment");
        Assert.Equal(["frequency", "state", "as_of"], segment.EnumerateObject().Select(p => p.Name));
        Assert.Equal("high", segment.GetProperty("frequency").GetString());
        Assert.Equal("new", segment.GetProperty("state").GetString());

        var service = root.GetProperty("service");
        Assert.Equal(["next_task", "due_at"], service.EnumerateObject().Select(p => p.Name));
        Assert.Equal(state.Version, root.GetProperty("version").GetInt64());
    }

    [Fact]
    public void Profile_json_of_a_plain_customer_writes_unknowns_as_null_and_omits_birthday()
    {
        var c = new Customer().ObserveAll(Ev.PageView(T0));
        using var doc = JsonDocument.Parse(Profile.ToJson(c.State, Rules));
        var root = doc.RootElement;

        Assert.Equal(JsonValueKind.Null, root.GetProperty("guide_id").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("stats").GetProperty("first_order_at").ValueKind);
        Assert.Equal(JsonValueKind.Null, root.GetProperty("service").GetProperty("next_task").ValueKind);
        Assert.False(root.TryGetProperty("birthday", out _));
        Assert.False(root.TryGetProperty("merged_into", out _));
        Assert.False(root.GetProperty("in_private_domain").GetBoolean());
        Assert.Equal("M1", root.GetProperty("ids").GetProperty("member_id")[0].GetString());
    }

    [Fact]
    public void An_absorbed_customer_publishes_merged_into()
    {
        var b = new Customer("C-2").ObserveAll(Ev.Join("GR1", T0));
        b.Send(new MarkMergedInto("C-1", b.Clock));
        using var doc = JsonDocument.Parse(Profile.ToJson(b.State, Rules));
        Assert.Equal("C-1", doc.RootElement.GetProperty("merged_into").GetString());
        Assert.Equal(0, doc.RootElement.GetProperty("groups").GetArrayLength());
    }

    [Fact]
    public void A_downstream_service_rebuilds_the_profile_from_the_json_alone()
    {
        var state = Rich();
        var now = T0.AddDays(10);
        var json = Profile.ToJson(state, now, Rules);

        var rebuilt = Profile.Parse(json);

        Assert.Equal(json, Profile.ToJson(rebuilt));
        Assert.Equal(state.OwningGuideId, rebuilt.GuideId);
        Assert.Equal(state.Stats.Revenue, rebuilt.Stats.Revenue);
        Assert.Equal(state.Stats.MiniProgram.Revenue, rebuilt.Stats.ByChannel.MiniProgram.Revenue);
        Assert.Equal(["GR1"], rebuilt.Groups);
        Assert.Equal(now.ToUniversalTime(), rebuilt.Segment.AsOf);
    }

    [Fact]
    public void Change_events_serialize_with_snake_case_and_only_their_fields()
    {
        var change = new ProfileChange { CustomerId = "C-1", Change = ProfileChanges.GroupJoined, At = T0, GroupId = "GR1" };
        using var doc = JsonDocument.Parse(Profile.ToJson(change));
        Assert.Equal(["customer_id", "change", "at", "group_id"], doc.RootElement.EnumerateObject().Select(p => p.Name));
        Assert.Equal("group_joined", doc.RootElement.GetProperty("change").GetString());
    }

    [Fact]
    public void No_raw_phone_is_ever_stored_or_published()
    {
        var c = new Customer();
        c.Observe(Ev.PageView(T0, new CustomerIds { MemberId = "M1", Phone = "13800000000" }));

        Assert.DoesNotContain("13800000000", Encoding.UTF8.GetString(CustomerSnapshot.Serialize(c.State)), StringComparison.Ordinal);
        Assert.DoesNotContain("13800000000", Encoding.UTF8.GetString(Profile.ToJson(c.State, Rules)), StringComparison.Ordinal);
        Assert.DoesNotContain(c.State.Ids, i => i.Type == IdType.Phone);
    }
}
