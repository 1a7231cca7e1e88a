using System.Text.Json.Serialization;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>
/// What <see cref="CustomerDecider.Decide"/> returns. Two kinds:
/// state changes (persist them, then <see cref="CustomerDecider.Apply"/> them; each one bumps the
/// version) and <see cref="CustomerNotice"/>s, which tell the actor something (an id was refused,
/// a refund has no order yet, forward to the survivor) and leave the state untouched; the actor
/// acts on them and need not persist them.
/// </summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "$type")]
[JsonDerivedType(typeof(IdsLinked), "ids_linked")]
[JsonDerivedType(typeof(EventSeen), "event_seen")]
[JsonDerivedType(typeof(OrderRecorded), "order_recorded")]
[JsonDerivedType(typeof(RefundRecorded), "refund_recorded")]
[JsonDerivedType(typeof(TouchRecorded), "touch_recorded")]
[JsonDerivedType(typeof(GroupJoinRecorded), "group_join_recorded")]
[JsonDerivedType(typeof(GroupLeaveRecorded), "group_leave_recorded")]
[JsonDerivedType(typeof(ContactAddRecorded), "contact_add_recorded")]
[JsonDerivedType(typeof(ContactRemoveRecorded), "contact_remove_recorded")]
[JsonDerivedType(typeof(TagsRecorded), "tags_recorded")]
[JsonDerivedType(typeof(BirthdayRecorded), "birthday_recorded")]
[JsonDerivedType(typeof(CustomerAbsorbed), "customer_absorbed")]
[JsonDerivedType(typeof(MergedIntoRecorded), "merged_into_recorded")]
[JsonDerivedType(typeof(HandOverStarted), "hand_over_started")]
[JsonDerivedType(typeof(Siyu.Actors.Operations.ServiceDoneRecorded), "service_done_recorded")]
[JsonDerivedType(typeof(Siyu.Actors.Operations.GuideTouchRecorded), "guide_touch_recorded")]
[JsonDerivedType(typeof(Siyu.Actors.Operations.ServiceTaskFired), "service_task_fired")]
[JsonDerivedType(typeof(Siyu.Actors.Operations.ServiceTaskMissed), "service_task_missed")]
[JsonDerivedType(typeof(Siyu.Actors.Operations.ChurnRecorded), "churn_recorded")]
[JsonDerivedType(typeof(Siyu.Actors.Operations.ReminderFired), "reminder_fired")]
[JsonDerivedType(typeof(Siyu.Actors.Operations.AudiencesChanged), "audiences_changed")]
public abstract record CustomerEvent
{
    /// <summary>Processing time of the command that produced the event (becomes updated_at).</summary>
    public DateTimeOffset At { get; init; }
}

/// <summary>
/// A change derived from one input event. Applying it also remembers the input in the dedup
/// window (when <see cref="EventKey"/> is set) and moves created_at back if
/// <see cref="OccurredAt"/> is earlier.
/// </summary>
public abstract record ObservedEvent : CustomerEvent
{
    /// <summary><see cref="EventKeys.Event"/> of the input; null when the input must stay re-deliverable (its refund is not matched yet).</summary>
    public ulong? EventKey { get; init; }

    public DateTimeOffset OccurredAt { get; init; }
}

/// <summary>New ids linked to the customer (already filtered by <see cref="IdentityRules"/>).</summary>
public sealed record IdsLinked(EquatableArray<LinkedId> Ids) : ObservedEvent;

/// <summary>An input that changes nothing else, but is this customer's first event or an earlier one than created_at.</summary>
public sealed record EventSeen : ObservedEvent;

/// <summary>
/// A new order, with its attribution decided as the order is processed (<see cref="OrderAttribution"/>).
/// <see cref="EventId"/>, <see cref="StoreId"/>, <see cref="Payment"/> and <see cref="Items"/> come
/// from the input so that the attributed_sales row (<see cref="SalesProjection"/>) can be derived
/// from this event alone; the state keeps none of them.
/// </summary>
public sealed record OrderRecorded(ulong OrderKey, string OrderId, decimal Amount, Channel Channel, Attribution? Attribution) : ObservedEvent
{
    public string? EventId { get; init; }
    public string? StoreId { get; init; }
    public Payment? Payment { get; init; }
    public EquatableArray<LineItem> Items { get; init; }
}

/// <summary>
/// A refund matched to its order; it reverses the order's channel and attribution: <see cref="Attribution"/>
/// is the order's, copied, never re-decided. <see cref="EventId"/> / <see cref="StoreId"/> are the refund's.
/// </summary>
public sealed record RefundRecorded(ulong OrderKey, string OrderId, ulong RefundKey, decimal Amount, Channel OrderChannel, Attribution? Attribution) : ObservedEvent
{
    public string? EventId { get; init; }
    public string? StoreId { get; init; }
    /// <summary>The refunded order's payment, so its row reverses a wecom_collect sale as one.</summary>
    public Payment? OrderPayment { get; init; }
}

/// <summary>The input types that are campaign touches (wire names as the input's type).</summary>
public enum TouchKind : byte
{
    [JsonStringEnumMemberName("solitaire_join")]
    SolitaireJoin,

    [JsonStringEnumMemberName("flash_claim")]
    FlashClaim,

    [JsonStringEnumMemberName("coupon_claim")]
    CouponClaim,
}

public static class TouchKinds
{
    public static string WireName(this TouchKind kind) => kind switch
    {
        TouchKind.SolitaireJoin => "solitaire_join",
        TouchKind.FlashClaim => "flash_claim",
        TouchKind.CouponClaim => "coupon_claim",
        _ => throw new ArgumentOutOfRangeException(nameof(kind), kind, null),
    };

    /// <summary>Whether the contract's last_touch rule considers this kind (coupon claims are recorded but do not attribute).</summary>
    public static bool Attributes(this TouchKind kind) => kind is TouchKind.SolitaireJoin or TouchKind.FlashClaim;
}

/// <summary>
/// A campaign touch: solitaire_join and flash_claim are remembered for last_touch
/// (<see cref="CustomerState.Touches"/>); coupon_claim only feeds the touches table. Carries what
/// the touches row needs (<see cref="SalesProjection.Touch"/>): the flash claim's <see cref="Sku"/>,
/// the solitaire's <see cref="Items"/>, the claim's <see cref="CouponId"/>.
/// </summary>
public sealed record TouchRecorded(TouchKind Kind, string? CampaignId, string? GroupId) : ObservedEvent
{
    public string? EventId { get; init; }
    public Channel Channel { get; init; }
    public string? StoreId { get; init; }
    public string? CouponId { get; init; }
    public string? Sku { get; init; }
    public EquatableArray<LineItem> Items { get; init; }
}

public sealed record GroupJoinRecorded(string GroupId) : ObservedEvent;

public sealed record GroupLeaveRecorded(string GroupId) : ObservedEvent;

public sealed record ContactAddRecorded(string GuideId) : ObservedEvent;

public sealed record ContactRemoveRecorded(string GuideId) : ObservedEvent;

/// <summary>The tags of a tag event that win over what the state holds (At = the event's occurred_at).</summary>
public sealed record TagsRecorded(EquatableArray<TagValue> Tags) : ObservedEvent;

public sealed record BirthdayRecorded(DateOnly Birthday) : ObservedEvent;

/// <summary>Another customer folded into this one; carries its state as it was when absorbed.</summary>
public sealed record CustomerAbsorbed(CustomerState Other) : CustomerEvent;

/// <summary>This customer was absorbed; from now on it only points at the survivor.</summary>
public sealed record MergedIntoRecorded(string SurvivorId) : CustomerEvent;

/// <summary>This customer will be absorbed by the survivor: its state is frozen (saved) before it is handed over.</summary>
public sealed record HandOverStarted(string SurvivorId) : CustomerEvent;

/// <summary>Information for the actor; Apply ignores it and it bumps no version.</summary>
public abstract record CustomerNotice : CustomerEvent;

/// <summary>
/// Ids that were not linked (guard rails). <see cref="EventId"/> names the input, or
/// <see cref="AbsorbedCustomerId"/> the customer whose ids were being folded. The identity index
/// must not point these ids at this customer.
/// </summary>
public sealed record IdsRefused(string? EventId, string? AbsorbedCustomerId, EquatableArray<RefusedId> Ids) : CustomerNotice;

/// <summary>
/// A refund that matches no refundable order (<see cref="RefundUnmatchedReasons"/>). Revenue is
/// untouched and the event is not remembered, so the caller can retry it after a grace period
/// (the order may still be on its way) and dead-letter it if it still does not match.
/// </summary>
public sealed record RefundUnmatched(string EventId, Channel Channel, string OrderId, decimal Amount, DateTimeOffset OccurredAt, string Reason) : CustomerNotice;

public static class RefundUnmatchedReasons
{
    /// <summary>No order with this order_id among the customer's retained orders.</summary>
    public const string UnknownOrder = "unknown_order";

    /// <summary>The refund is larger than what is left of the order after earlier refunds.</summary>
    public const string ExceedsOrder = "refund_exceeds_order";
}

/// <summary>
/// An order that cannot be told apart from a redelivery of an order already dropped from the
/// retained window (it is older than <see cref="CustomerState.OrdersPrunedThrough"/>): not
/// counted; the caller dead-letters it with <see cref="Reason"/>.
/// </summary>
public sealed record OrderRejected(string EventId, Channel Channel, string OrderId, string Reason) : CustomerNotice
{
    public const string OlderThanRetainedOrders = "order_older_than_retained_orders";
}

/// <summary>This customer was absorbed: the actor forwards <see cref="Command"/> to <see cref="SurvivorId"/>.</summary>
public sealed record RedirectRequired(string SurvivorId, CustomerCommand Command) : CustomerNotice;
