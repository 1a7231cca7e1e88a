using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

/// <summary>Builders for input events; every event gets a fresh event_id unless one is given.</summary>
internal static class Ev
{
    /// <summary>A Tuesday morning in Shanghai time.</summary>
    public static readonly DateTimeOffset T0 = new(2026, 3, 3, 10, 0, 0, TimeSpan.FromHours(8));

    private static int _next;

    public static string NextId(string prefix = "e") => $"{prefix}-{Interlocked.Increment(ref _next):D6}";

    /// <summary>A well-formed phone hash ("h1:" + 64 hex digits); raw phones never reach the entity.</summary>
    public static string PhoneHash(int n) => "h1:" + n.ToString("x", System.Globalization.CultureInfo.InvariantCulture).PadLeft(64, '0');

    public static CustomerIds Member(string memberId = "M1") => new() { MemberId = memberId };

    private static T Stamp<T>(T e, DateTimeOffset at, CustomerIds? ids, Channel channel, string? eventId) where T : InputEvent =>
        e with { EventId = eventId ?? NextId(), OccurredAt = at, Ids = ids ?? Member(), Channel = channel, StoreId = "S001" };

    public static OrderPlaced Order(string orderId, decimal amount, DateTimeOffset at, Channel channel = Channel.Pos,
        CustomerIds? ids = null, string? eventId = null, string? guideId = null, string? campaignId = null,
        string? shareGroupId = null, Payment payment = Payment.WechatPay, string[]? skus = null) =>
        Stamp(new OrderPlaced
        {
            OrderId = orderId,
            Amount = amount,
            Items = (skus ?? ["CHERRY-5J"]).Select(sku => new LineItem(sku, 1, amount)).ToArray(),
            Payment = payment,
            GuideId = guideId,
            CampaignId = campaignId,
            ShareGroupId = shareGroupId,
        }, at, ids, channel, eventId);

    public static SolitaireJoined Solitaire(string campaignId, string groupId, DateTimeOffset at, string[]? skus = null, string? eventId = null) =>
        Stamp(new SolitaireJoined
        {
            CampaignId = campaignId,
            GroupId = groupId,
            Items = (skus ?? ["CHERRY-5J"]).Select(sku => new LineItem(sku, 2, 99.5m)).ToArray(),
        }, at, null, Channel.Group, eventId);

    public static FlashClaimed Flash(string campaignId, string groupId, DateTimeOffset at, string sku = "DURIAN-1", string? eventId = null) =>
        Stamp(new FlashClaimed { CampaignId = campaignId, GroupId = groupId, Sku = sku }, at, null, Channel.Group, eventId);

    public static CouponClaimed Coupon(string couponId, string? campaignId, DateTimeOffset at, string? eventId = null) =>
        Stamp(new CouponClaimed { CouponId = couponId, CampaignId = campaignId }, at, null, Channel.MiniProgram, eventId);

    public static OrderRefunded Refund(string orderId, decimal amount, DateTimeOffset at, Channel channel = Channel.Pos,
        CustomerIds? ids = null, string? eventId = null) =>
        Stamp(new OrderRefunded { OrderId = orderId, Amount = amount }, at, ids, channel, eventId);

    public static GroupJoined Join(string groupId, DateTimeOffset at, CustomerIds? ids = null, string? eventId = null) =>
        Stamp(new GroupJoined { GroupId = groupId }, at, ids, Channel.Group, eventId);

    public static GroupLeft Leave(string groupId, DateTimeOffset at, CustomerIds? ids = null, string? eventId = null) =>
        Stamp(new GroupLeft { GroupId = groupId }, at, ids, Channel.Group, eventId);

    public static ContactAdded ContactAdd(string guideId, DateTimeOffset at, CustomerIds? ids = null, string? eventId = null) =>
        Stamp(new ContactAdded { GuideId = guideId }, at, ids, Channel.Group, eventId);

    public static ContactRemoved ContactRemove(string guideId, DateTimeOffset at, CustomerIds? ids = null, string? eventId = null) =>
        Stamp(new ContactRemoved { GuideId = guideId }, at, ids, Channel.Group, eventId);

    public static Tagged Tag(DateTimeOffset at, params (string Name, string Value)[] tags) =>
        Stamp(new Tagged { Tags = tags.ToDictionary(t => t.Name, t => t.Value) }, at, null, Channel.Group, null);

    public static ProfileUpdated Birthday(DateOnly? birthday, DateTimeOffset at, string? name = null) =>
        Stamp(new ProfileUpdated { Birthday = birthday, Name = name }, at, null, Channel.Group, null);

    public static PageViewed PageView(DateTimeOffset at, CustomerIds? ids = null, string? eventId = null) =>
        Stamp(new PageViewed { Page = "/home" }, at, ids, Channel.MiniProgram, eventId);

    public static AppOpened AppOpen(DateTimeOffset at, CustomerIds ids, string? eventId = null) =>
        Stamp(new AppOpened(), at, ids, Channel.App, eventId);
}

/// <summary>
/// Plays the role of the actor shell: Decide, then persist (through the journal format, which
/// must round-trip every state-changing event) and Apply.
/// </summary>
internal sealed class Customer(string customerId = "C-0001", CustomerRules? rules = null, CampaignCatalog? campaigns = null)
{
    public CustomerRules Rules { get; } = rules ?? CustomerRules.Default;

    /// <summary>The catalog passed to Decide (the actor layer's current one).</summary>
    public CampaignCatalog Campaigns { get; set; } = campaigns ?? CampaignCatalog.Empty;

    public CustomerState State { get; private set; } = CustomerState.Empty(customerId);

    /// <summary>Processing time passed with commands (becomes updated_at).</summary>
    public DateTimeOffset Clock { get; set; } = Ev.T0.AddDays(1);

    public IReadOnlyList<CustomerEvent> Send(CustomerCommand command)
    {
        var events = CustomerDecider.Decide(State, command, Rules, Campaigns);
        foreach (var e in events)
        {
            State = CustomerDecider.Apply(State, e, Rules);
        }
        return events;
    }

    public IReadOnlyList<CustomerEvent> Observe(InputEvent evt) => Send(new Observe(evt, Clock));

    public Customer ObserveAll(params InputEvent[] events)
    {
        foreach (var e in events)
        {
            Observe(e);
        }
        return this;
    }

    public CustomerProfile Profile(DateTimeOffset? now = null) =>
        Siyu.Actors.Customers.Profile.Project(State, now ?? Clock, Rules);
}

/// <summary>Campaign definitions for attribution tests (running around <see cref="Ev.T0"/>).</summary>
internal static class Camps
{
    public static Campaign Of(string id, CampaignType type, string[]? skus = null, double windowHours = 24, string[]? groups = null) => new()
    {
        CampaignId = id,
        Type = type,
        Name = "campaign " + id,
        Skus = (skus ?? []).Order(StringComparer.Ordinal).ToEquatableArray(),
        GroupIds = (groups ?? []).Order(StringComparer.Ordinal).ToEquatableArray(),
        StartsAt = Ev.T0.AddDays(-1),
        EndsAt = Ev.T0.AddDays(1),
        AttributionWindow = TimeSpan.FromHours(windowHours),
    };

    /// <summary>FLASH: flash sale of durian (24 h window); SOL: cherry solitaire (2 h window); DAY: coupon day, any sku (24 h).</summary>
    public static CampaignCatalog Catalog { get; } = CampaignCatalog.Of(
    [
        Of("FLASH", CampaignType.FlashSale, ["DURIAN-1"]),
        Of("SOL", CampaignType.Solitaire, ["CHERRY-5J", "MANGO-3J"], windowHours: 2),
        Of("DAY", CampaignType.CouponDay),
    ]);
}
