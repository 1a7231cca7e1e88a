using Akka.Actor;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Identity;
using Siyu.Actors.Operations;
using Siyu.Actors.Storage;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Wire;

/// <summary>
/// One sample of every wire message, written out literally (no test kit, no decider, no clock), so
/// that the golden bytes in this folder change only when a wire format does. Every optional part
/// is filled somewhere: a field the samples leave empty is a field the golden files do not guard.
/// </summary>
public static class WireSamples
{
    public static readonly DateTimeOffset T0 = new(2026, 3, 3, 10, 0, 0, 123, TimeSpan.FromHours(8));

    /// <summary>An ingesting node's reply actor on another node (a RemoteActorRef once resolved): its path is the same everywhere.</summary>
    public const string ReplyPath = "akka.tcp://siyu@10.1.2.3:4053/user/ingest-replies-0a1b2c3d#1234567";

    private const string Phone = "h1:00000000000000000000000000000000000000000000000000000000000000a1";

    /// <summary>One event of each input type, the envelope varied across them.</summary>
    public static IReadOnlyList<InputEvent> Events()
    {
        var all = new CustomerIds
        {
            MemberId = "M1", Phone = Phone, UnionId = "u1", OpenId = "o1", ExternalUserId = "wm1", AppUserId = "a1", DeviceId = "d1",
        };
        var member = new CustomerIds { MemberId = "M1" };
        var wecom = new CustomerIds { ExternalUserId = "wm1", UnionId = "u1" };
        var app = new CustomerIds { AppUserId = "a1", DeviceId = "d1" };
        var pos = Channel.Pos;
        var mini = Channel.MiniProgram;
        var group = Channel.Group;
        (InputEvent Event, Channel Channel, CustomerIds Ids)[] samples =
        [
            (new OrderPlaced
            {
                OrderId = "O1", Amount = 129.50m, Payment = Payment.WecomCollect, GuideId = "G1", CampaignId = "F1", ShareGroupId = "GR1",
                Items = [new LineItem("SKU-1", 2, 59.75m), new LineItem("童鞋-27", 1, 10.00m)],
            }, pos, all),
            (new OrderRefunded { OrderId = "O1", Amount = 59.75m }, mini, member),
            (new PageViewed { Page = "/pages/item?id=SKU-1" }, mini, member),
            (new CouponClaimed { CouponId = "CP1", CampaignId = "D1" }, mini, member),
            (new PhoneBound(), mini, new CustomerIds { OpenId = "o1", Phone = Phone }),
            (new AppOpened(), Channel.App, app),
            (new LoggedIn(), mini, member),
            (new ContactAdded { GuideId = "G1" }, group, wecom),
            (new ContactRemoved { GuideId = "G2" }, group, wecom),
            (new GroupJoined { GroupId = "GR1" }, group, wecom),
            (new GroupLeft { GroupId = "GR2" }, group, wecom),
            (new GroupMessagePosted { GroupId = "GR1" }, group, wecom),
            (new SolitaireJoined { GroupId = "GR1", CampaignId = "S1", Items = [new LineItem("SKU-2", 3, 19.9m)] }, group, wecom),
            (new FlashClaimed { GroupId = "GR1", CampaignId = "F1", Sku = "SKU-3" }, group, wecom),
            (new Tagged { Tags = new Dictionary<string, string>(StringComparer.Ordinal) { ["shoe_size"] = "27", ["宝宝月龄"] = "0-6" } }, mini, member),
            (new ProfileUpdated { Birthday = new DateOnly(1990, 7, 7), Name = "王小明" }, mini, member),
            (new ServiceDone { GuideId = "G1", Task = "comfort_check" }, group, wecom),
            (new MessageSent { GuideId = "G1" }, group, wecom),
        ];
        return samples.Select((s, i) => s.Event with
        {
            EventId = $"ev-{i:D2}",
            // Some in UTC, most at +08:00: the offset is part of occurred_at and must survive.
            OccurredAt = i % 3 == 2 ? T0.ToUniversalTime().AddMinutes(i) : T0.AddMinutes(i),
            Channel = s.Channel,
            Ids = s.Ids,
            StoreId = i == 0 ? "S-001" : null,
        }).ToList();
    }

    /// <summary>A customer with every part of the state filled (the persisted snapshot's sample too).</summary>
    public static CustomerState State()
    {
        var direct = new Attribution(AttributionRule.Direct, "F1", CampaignType.FlashSale, "GR1", "G1", true);
        return new CustomerState
        {
            CustomerId = "C-1",
            CreatedAt = T0.AddDays(-30),
            Version = 42,
            UpdatedAt = T0.AddHours(1),
            Ids = [new LinkedId(IdType.MemberId, "M1"), new LinkedId(IdType.Phone, Phone), new LinkedId(IdType.OpenId, "o1")],
            MergedFrom = ["C-0", "C-7"],
            MergedInto = null,
            HandOverPending = false,
            Groups = [new Membership("GR1", T0.AddDays(-20), true), new Membership("GR2", T0.AddDays(-2), false)],
            Contacts = [new Membership("G1", T0.AddDays(-25), true)],
            Tags = [new TagValue("shoe_size", "27", T0.AddDays(-1)), new TagValue("宝宝月龄", "0-6", T0.AddDays(-1))],
            Birthday = new DateOnly(1990, 7, 7),
            BirthdayAt = T0.AddDays(-10),
            Stats = new OrderStats(3, 250.25m, 1, 59.75m, T0.AddDays(-29), T0, new ChannelStats(2, 190.50m), new ChannelStats(1, 59.75m), default),
            RecentOrders =
            [
                new RecentOrder(0x1122334455667788, 129.50m, Channel.Pos, T0.AddDays(-3), direct, [new RefundEntry(0xabcdef, 59.75m)], Payment.WecomCollect),
                new RecentOrder(0x8877665544332211, 60.00m, Channel.MiniProgram, T0, Attribution.Organic, default),
            ],
            OrdersPrunedThrough = T0.AddDays(-29),
            Touches = [new RecentTouch("F1", "GR1", T0.AddDays(-4).UtcDateTime)],
            Seen = [new SeenEvent(0x0102030405060708, T0.UtcDateTime), new SeenEvent(ulong.MaxValue, T0.AddMinutes(1).UtcDateTime)],
            Operations = new OperationsState
            {
                Tasks = [new ServiceTask(0x1122334455667788, "O1", "comfort_check", T0.AddDays(4), "G1", T0.AddDays(4))],
                Touches = [T0.AddDays(-1).UtcDateTime],
                Churn = LifecycleState.AtRisk,
                BirthdayReminded = new DateOnly(2025, 7, 7),
                AnniversaryReminded = new DateOnly(2026, 2, 1),
                Audiences = ["vip"],
                Outbox =
                [
                    new OperationsNotice
                    {
                        Id = "C-1/service_due/O1/comfort_check", Kind = NoticeKinds.ServiceDue, At = T0, Task = "comfort_check", OrderId = "O1",
                        DueAt = T0.AddDays(4), GuideId = "G1", Outcome = ServiceOutcomes.OnTime, DoneAt = T0.AddDays(3), State = "at_risk",
                        PreviousState = "active", Date = new DateOnly(2026, 7, 7), DaysBefore = 7, Audience = "vip", Change = "entered",
                        TouchesInWindow = 2, ContactCap = 4,
                    },
                ],
            },
        };
    }

    /// <summary>
    /// The golden snapshots of the current format and their samples: <see cref="State"/> as format 1
    /// was defined, and the members added to it since (each omitted when empty, so the first file
    /// is still written byte for byte, and ignored by older code).
    /// </summary>
    public static IReadOnlyList<(string File, CustomerState State)> Snapshots()
    {
        var state = State();
        // Issue 17: a membership keeps its earlier joins and leaves (Membership.Earlier).
        var withHistory = state with
        {
            Groups = [state.Groups[0] with { Earlier = [new MembershipChange(T0.AddDays(-40), true), new MembershipChange(T0.AddDays(-30), false)] }, state.Groups[1]],
            Contacts = [state.Contacts[0] with { Earlier = [new MembershipChange(T0.AddDays(-35), true), new MembershipChange(T0.AddDays(-33), false)] }],
        };
        // Issue 17: profile changes saved until Kafka acknowledged them, and an erasure under way.
        var withChanges = state with
        {
            ChangesRecorded = 9,
            ChangeOutbox =
            [
                new ProfileChange { CustomerId = "C-1", Change = ProfileChanges.Merged, At = T0, ChangeId = "C-1:8", MergedFrom = EquatableArray.Create(["C-7"]) },
                new ProfileChange
                {
                    CustomerId = "C-1", Change = ProfileChanges.SegmentChanged, At = T0, ChangeId = "C-1:9",
                    Segment = new ProfileSegment("mid", "active", T0), PreviousSegment = new ProfileSegment("low", "new", T0),
                    GroupId = "GR1", Tag = "shoe_size", Value = "27", PreviousValue = "26", MergedInto = "C-9",
                },
            ],
        };
        var erasing = CustomerState.Empty("C-1") with
        {
            Version = 43,
            UpdatedAt = T0.AddHours(2),
            MergedFrom = ["C-0", "C-7"],
            Erasing = true,
            ChangesRecorded = 10,
            ChangeOutbox = [new ProfileChange { CustomerId = "C-1", Change = ProfileChanges.Erased, At = T0.AddHours(2), ChangeId = "C-1:10" }],
        };
        return
        [
            ($"snapshot-{CustomerSnapshot.CurrentFormat}.json", state),
            ($"snapshot-{CustomerSnapshot.CurrentFormat}-membership-history.json", withHistory),
            ($"snapshot-{CustomerSnapshot.CurrentFormat}-change-outbox.json", withChanges),
            ($"snapshot-{CustomerSnapshot.CurrentFormat}-erasing.json", erasing),
        ];
    }

    /// <summary>One sample per manifest, as the golden files hold them (sample name = manifest).</summary>
    public static IReadOnlyList<(string Manifest, object Message)> Messages(ActorSystem system)
    {
        var replyTo = ((ExtendedActorSystem)system).Provider.ResolveActorRef(ReplyPath);
        var events = Events();
        var batch = events.Select((e, i) => new BatchItem(1_000_000_000_000 + i, i < 9 ? "C-1" : "C-2", e, i % 4 == 3)).ToList();
        var key = IdHash.Of(IdType.MemberId, "M1");
        var phoneKey = IdHash.Of(IdType.Phone, Phone);
        return
        [
            ("cb1", new CustomerBatch(7, replyTo, batch)),
            ("eo1", new EventOutcome(1_000_000_000_003, "C-1", OutcomeKind.Rejected, "order_rejected", "order O1: older than retained orders")),
            ("ac1", new AbsorbCustomer("C-0", State())),
            ("aa1", new CustomerAbsorbedReply("C-0", "C-1")),
            ("mi1", new MergeInto("C-1", "C-0")),
            ("mr1", new MergedReply("C-1", "C-0")),
            ("ec1", new EraseCustomer("C-1")),
            ("ce1", new CustomerErased("C-1", true)),
            ("ea1", new EraseAbsorbed("C-2", "C-1")),
            ("pc1", new PokeCustomerShard(63)),
            ("sc1", StopCustomerShard.Instance),
            ("gc1", new GetCustomer("C-1")),
            ("st1", State()),
            ("gi1", new GetIdentity("C-1")),
            ("ci1", new CustomerIdentity("C-1", T0, "C-0", [new LinkedId(IdType.MemberId, "M1"), new LinkedId(IdType.DeviceId, "d1")], HandOverPending: true)),
            ("wc1", new WakeCustomer("C-1", T0.AddDays(4))),
            ("cw1", new CustomerWoken("C-1", T0.AddDays(4))),
            ("ir1", new IdentityRequest(5, [new IdOp(IdOpKind.Lookup, key), new IdOp(IdOpKind.Claim, phoneKey, "C-1"), new IdOp(IdOpKind.Repoint, key, "C-1", "C-0"), new IdOp(IdOpKind.Release, phoneKey, "C-0")])),
            ("iy1", new IdentityReply(["C-0", null, "C-1"])),
            ("pi1", new PokeIdentityShard(2)),
            ("si1", StopIdentityShard.Instance),
        ];
    }
}
