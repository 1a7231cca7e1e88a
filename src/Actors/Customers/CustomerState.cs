using System.Text.Json.Serialization;
using Siyu.Actors.Operations;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>
/// One customer, exactly what the contract's profile needs and no more (the input events
/// themselves are not kept). Immutable: <see cref="CustomerDecider.Apply"/> returns a new
/// version. Collections are small sorted arrays of structs rather than dictionaries or hash
/// sets: a typical profile (a few ids, groups, tags, a dozen orders) stays under 3 KB.
/// All instants are kept in UTC.
/// </summary>
public sealed record CustomerState
{
    public required string CustomerId { get; init; }

    /// <summary>The earliest occurred_at of any event of this customer (or of an absorbed one).</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>+1 per applied domain event (notices excluded); 0 until the first event.</summary>
    public long Version { get; init; }

    /// <summary>The processing time of the latest applied change (never goes back).</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Every linked id, sorted by type then value. Phones are keyed hashes ("h1:...").</summary>
    public EquatableArray<LinkedId> Ids { get; init; }

    /// <summary>Customer ids absorbed into this one (directly or through them), sorted.</summary>
    public EquatableArray<string> MergedFrom { get; init; }

    /// <summary>Set when this customer was absorbed; the rest of the state is then cleared.</summary>
    public string? MergedInto { get; init; }

    /// <summary>
    /// <see cref="MergedInto"/> is set but the state is not yet handed over: the customer already
    /// routes everything to the survivor, so the state it hands over (again, after a crash) is
    /// exactly the one saved with this flag, which the survivor may ignore as already absorbed.
    /// </summary>
    public bool HandOverPending { get; init; }

    /// <summary>Group memberships by group_id (sorted): the latest change decides the current status, earlier ones the past intervals; a few tombstones.</summary>
    public EquatableArray<Membership> Groups { get; init; }

    /// <summary>Guide contacts by guide_id; <see cref="Membership.At"/> of an active one is its added_at.</summary>
    public EquatableArray<Membership> Contacts { get; init; }

    /// <summary>Tags by name (latest occurred_at wins), sorted by name.</summary>
    public EquatableArray<TagValue> Tags { get; init; }

    public DateOnly? Birthday { get; init; }

    /// <summary>occurred_at of the profile_update that set <see cref="Birthday"/> (latest wins).</summary>
    public DateTimeOffset? BirthdayAt { get; init; }

    /// <summary>Lifetime totals; they outlive <see cref="RecentOrders"/>.</summary>
    public OrderStats Stats { get; init; }

    /// <summary>Orders still refundable and countable, sorted by occurred_at (bounded by the rules).</summary>
    public EquatableArray<RecentOrder> RecentOrders { get; init; }

    /// <summary>
    /// The newest occurred_at among orders dropped from <see cref="RecentOrders"/>. An unknown
    /// order at or before it cannot be told from a redelivery of a dropped one, so it is refused
    /// (notice) rather than risk counting an order twice.
    /// </summary>
    public DateTimeOffset? OrdersPrunedThrough { get; init; }

    /// <summary>
    /// Recent solitaire_join / flash_claim touches for last_touch attribution, sorted by occurred_at
    /// and bounded (see <see cref="TouchMemory"/>).
    /// </summary>
    public EquatableArray<RecentTouch> Touches { get; init; }

    /// <summary>Recently applied input events (see <see cref="SeenWindow"/>), in arrival order.</summary>
    public EquatableArray<SeenEvent> Seen { get; init; }

    /// <summary>Private-domain operations (service tasks, reminders, contact cap, audiences); null while there is nothing.</summary>
    public OperationsState? Operations { get; init; }

    [JsonIgnore]
    public OperationsState Ops => Operations ?? OperationsState.Empty;

    /// <summary>
    /// The siyu.profile-changes outbox: changes recorded when a save began, saved with it, published
    /// after it and dropped only once Kafka acknowledged them (the shorter outbox rides along with
    /// the next save). Not written while empty, so most snapshots carry nothing for it.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public EquatableArray<ProfileChange> ChangeOutbox { get; init; }

    /// <summary>How many profile changes this customer has recorded: the sequence in their change_id.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public long ChangesRecorded { get; init; }

    /// <summary>
    /// Being erased: every personal field is already gone (the state is empty but for the customer
    /// ids it absorbed and the "erased" change in <see cref="ChangeOutbox"/>); once Kafka confirmed
    /// that change the row becomes a tombstone. Saved with a wake, so a crash before that resumes it.
    /// </summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)]
    public bool Erasing { get; init; }

    /// <summary>This state with <paramref name="ops"/> (kept null when empty, so most snapshots carry nothing for it).</summary>
    public CustomerState WithOps(OperationsState ops) => this with { Operations = ops.IsEmpty ? null : ops };

    public static CustomerState Empty(string customerId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(customerId);
        return new CustomerState { CustomerId = customerId };
    }

    /// <summary>No event applied yet.</summary>
    [JsonIgnore]
    public bool IsNew => Version == 0;

    /// <summary>Contract: a WeCom contact of a guide or a member of a group.</summary>
    [JsonIgnore]
    public bool InPrivateDomain => AnyActive(Contacts) || AnyActive(Groups);

    private static bool AnyActive(EquatableArray<Membership> set)
    {
        foreach (var m in set.AsSpan())
        {
            if (m.Active)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The group ids currently joined, sorted.</summary>
    [JsonIgnore]
    public IEnumerable<string> ActiveGroups => Groups.Where(g => g.Active).Select(g => g.Id);

    /// <summary>Contract: the latest contact_added (by occurred_at) not removed; ties go to the larger guide id.</summary>
    [JsonIgnore]
    public string? OwningGuideId
    {
        get
        {
            Membership? best = null;
            foreach (var c in Contacts)
            {
                if (c.Active && (best is not { } b || c.At > b.At || (c.At == b.At && string.CompareOrdinal(c.Id, b.Id) > 0)))
                {
                    best = c;
                }
            }
            return best?.Id;
        }
    }

    public bool HasSeen(ulong eventKey)
    {
        foreach (var s in Seen.AsSpan())
        {
            if (s.Key == eventKey)
            {
                return true;
            }
        }
        return false;
    }

    public RecentOrder? FindOrder(ulong orderKey)
    {
        foreach (var o in RecentOrders.AsSpan())
        {
            if (o.Key == orderKey)
            {
                return o;
            }
        }
        return null;
    }

    /// <summary>
    /// Contract (Identity): the older customer survives a merge: earlier <see cref="CreatedAt"/>,
    /// then the ordinally smaller customer_id. A customer with no event yet is the youngest.
    /// </summary>
    public static bool Survives(CustomerState a, CustomerState b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a.IsNew != b.IsNew)
        {
            return b.IsNew;
        }
        return Survives(a.CreatedAt, a.CustomerId, b.CreatedAt, b.CustomerId);
    }

    /// <summary>The same rule for callers (the identity index) that hold only created_at and id.</summary>
    public static bool Survives(DateTimeOffset aCreatedAt, string aId, DateTimeOffset bCreatedAt, string bId) =>
        aCreatedAt != bCreatedAt ? aCreatedAt < bCreatedAt : string.CompareOrdinal(aId, bId) <= 0;
}

/// <summary>An id linked to the customer.</summary>
public readonly record struct LinkedId(IdType Type, string Value)
{
    public override string ToString() => $"{Type.WireName()}={Value}";
}

/// <summary>
/// A group membership or a guide contact, keyed by <see cref="Id"/> (group_id or guide_id): its
/// latest change (<see cref="At"/>, <see cref="Active"/>: joined/added or left/removed, by
/// occurred_at; a removal wins a tie), which decides the current profile, and the changes before
/// it (<see cref="Earlier"/>, oldest first, bounded by CustomerRules.MaxMembershipChanges), which
/// with it give the intervals the customer was a member in. Most entries have one change and no
/// <see cref="Earlier"/> (nothing is written for it), so the state stays as compact as before.
/// Removed entries are tombstones that make a late older "join" lose the current status.
/// Snapshots saved before <see cref="Earlier"/> existed read as a latest change alone: a removed
/// entry whose join is not known counts as a member before its removal, as it did then.
/// </summary>
public readonly record struct Membership(
    string Id,
    DateTimeOffset At,
    bool Active,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] EquatableArray<MembershipChange> Earlier = default)
{
    /// <summary>
    /// Whether the customer was a member at <paramref name="t"/>: the latest change at or before
    /// it decides; before every known change, a member only if the first known change is a removal
    /// (joined before anything Siyu has seen, e.g. before its data begins).
    /// <paramref name="since"/> is the latest join at or before <paramref name="t"/> (null: unknown).
    /// </summary>
    public bool MemberAt(DateTimeOffset t, out DateTimeOffset? since)
    {
        since = null;
        if (At <= t)
        {
            if (Active)
            {
                since = At;
                return true;
            }
            return false;
        }
        var earlier = Earlier.AsSpan();
        for (var i = earlier.Length - 1; i >= 0; i--)
        {
            if (earlier[i].At <= t)
            {
                if (!earlier[i].Active)
                {
                    return false;
                }
                since = earlier[i].At;
                return true;
            }
        }
        return !(earlier.Length > 0 ? earlier[0].Active : Active);
    }

    public bool MemberAt(DateTimeOffset t) => MemberAt(t, out _);

    /// <summary>Whether this exact change (time and direction) is already known.</summary>
    public bool Has(DateTimeOffset at, bool active)
    {
        if (At == at && Active == active)
        {
            return true;
        }
        foreach (var c in Earlier.AsSpan())
        {
            if (c.At == at && c.Active == active)
            {
                return true;
            }
        }
        return false;
    }
}

/// <summary>One join/add (<see cref="Active"/>) or leave/removal of a <see cref="Membership"/>, at occurred_at.</summary>
public readonly record struct MembershipChange(DateTimeOffset At, bool Active) : IComparable<MembershipChange>
{
    /// <summary>By time; at the same instant the removal sorts last, so it wins the tie.</summary>
    public int CompareTo(MembershipChange other)
    {
        var c = At.UtcDateTime.CompareTo(other.At.UtcDateTime);
        return c != 0 ? c : (Active ? 0 : 1).CompareTo(other.Active ? 0 : 1);
    }
}

public readonly record struct TagValue(string Name, string Value, DateTimeOffset At);

/// <summary>
/// A remembered input event: a 64-bit digest of (channel, event_id) and its occurred_at.
/// 16 bytes; <see cref="DateTime"/> (UTC) rather than DateTimeOffset to save 8 bytes an entry.
/// </summary>
public readonly record struct SeenEvent(ulong Key, DateTime OccurredAtUtc);

/// <summary>A refund applied to an order: digest of the refund's (channel, event_id), and its amount.</summary>
public readonly record struct RefundEntry(ulong Key, decimal Amount);

/// <summary>
/// An order kept for refunds, order-id dedup and the frequency window. The order id is kept as
/// a 64-bit digest (<see cref="EventKeys.Order"/>): refunds and duplicates are matched by it and
/// the text is not needed for anything else. <see cref="Attribution"/> is the one decided when the
/// order was processed (null only for orders recorded before attribution existed); its refunds
/// reverse it as is.
/// </summary>
public readonly record struct RecentOrder(
    ulong Key,
    decimal Amount,
    Channel Channel,
    DateTimeOffset OccurredAt,
    Attribution? Attribution,
    EquatableArray<RefundEntry> Refunds,
    // Kept so a refund's row carries its order's payment: a refunded wecom_collect sale must
    // also come off the guide's "collected via WeCom" figure. Null in states saved before it.
    Payment? Payment = null)
{
    [JsonIgnore]
    public decimal Refunded
    {
        get
        {
            var sum = 0m;
            foreach (var r in Refunds.AsSpan())
            {
                sum += r.Amount;
            }
            return sum;
        }
    }

    /// <summary>Refunds are kept sorted by key, so the state does not depend on their arrival order.</summary>
    public RecentOrder WithRefund(RefundEntry refund) =>
        HasRefund(refund.Key) ? this : this with { Refunds = Refunds.Append(refund).OrderBy(r => r.Key).ToEquatableArray() };

    public bool HasRefund(ulong refundKey)
    {
        foreach (var r in Refunds.AsSpan())
        {
            if (r.Key == refundKey)
            {
                return true;
            }
        }
        return false;
    }
}

public readonly record struct ChannelStats(int Orders, decimal Revenue);

/// <summary>
/// Lifetime order totals. <see cref="Revenue"/> is net of refunds; refunds reduce the revenue
/// of their order's channel.
/// </summary>
public readonly record struct OrderStats(
    int Orders,
    decimal Revenue,
    int Refunds,
    decimal RefundAmount,
    DateTimeOffset? FirstOrderAt,
    DateTimeOffset? LastOrderAt,
    ChannelStats Pos,
    ChannelStats MiniProgram,
    ChannelStats App)
{
    public ChannelStats ByChannel(Channel channel) => channel switch
    {
        Channel.Pos => Pos,
        Channel.MiniProgram => MiniProgram,
        Channel.App => App,
        _ => default,
    };

    private OrderStats WithChannel(Channel channel, int orders, decimal revenue) => channel switch
    {
        Channel.Pos => this with { Pos = new(Pos.Orders + orders, Pos.Revenue + revenue) },
        Channel.MiniProgram => this with { MiniProgram = new(MiniProgram.Orders + orders, MiniProgram.Revenue + revenue) },
        Channel.App => this with { App = new(App.Orders + orders, App.Revenue + revenue) },
        _ => this, // orders only come from pos, miniprogram and app; totals still count anything else
    };

    public OrderStats AddOrder(decimal amount, Channel channel, DateTimeOffset occurredAt) =>
        (this with
        {
            Orders = Orders + 1,
            Revenue = Revenue + amount,
            FirstOrderAt = Min(FirstOrderAt, occurredAt),
            LastOrderAt = Max(LastOrderAt, occurredAt),
        }).WithChannel(channel, 1, amount);

    public OrderStats AddRefund(decimal amount, Channel orderChannel) =>
        (this with { Refunds = Refunds + 1, RefundAmount = RefundAmount + amount, Revenue = Revenue - amount })
            .WithChannel(orderChannel, 0, -amount);

    /// <summary>Takes out an order and its refunds (a duplicate found when merging). First/last are left alone: the survivor has the same order.</summary>
    internal OrderStats RemoveOrder(RecentOrder order)
    {
        var s = (this with { Orders = Orders - 1, Revenue = Revenue - order.Amount }).WithChannel(order.Channel, -1, -order.Amount);
        foreach (var r in order.Refunds)
        {
            s = (s with { Refunds = s.Refunds - 1, RefundAmount = s.RefundAmount - r.Amount, Revenue = s.Revenue + r.Amount })
                .WithChannel(order.Channel, 0, r.Amount);
        }
        return s;
    }

    public OrderStats Plus(OrderStats other) => new(
        Orders + other.Orders,
        Revenue + other.Revenue,
        Refunds + other.Refunds,
        RefundAmount + other.RefundAmount,
        MinN(FirstOrderAt, other.FirstOrderAt),
        MaxN(LastOrderAt, other.LastOrderAt),
        new(Pos.Orders + other.Pos.Orders, Pos.Revenue + other.Pos.Revenue),
        new(MiniProgram.Orders + other.MiniProgram.Orders, MiniProgram.Revenue + other.MiniProgram.Revenue),
        new(App.Orders + other.App.Orders, App.Revenue + other.App.Revenue));

    private static DateTimeOffset Min(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x < b ? x : b;
    private static DateTimeOffset Max(DateTimeOffset? a, DateTimeOffset b) => a is { } x && x > b ? x : b;
    private static DateTimeOffset? MinN(DateTimeOffset? a, DateTimeOffset? b) => b is { } y ? Min(a, y) : a;
    private static DateTimeOffset? MaxN(DateTimeOffset? a, DateTimeOffset? b) => b is { } y ? Max(a, y) : a;
}
