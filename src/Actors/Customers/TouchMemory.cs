namespace Siyu.Actors.Customers;

/// <summary>
/// A remembered campaign touch (solitaire_join or flash_claim) for last_touch attribution:
/// the campaign, the group it happened in, and when. 24 bytes in the array; the two ids are
/// shared with the catalog (live path) or within the customer (see <see cref="StateCompaction"/>).
/// The touch's own skus are not kept: the contract matches the CAMPAIGN's skus against the order.
/// </summary>
public readonly record struct RecentTouch(string CampaignId, string GroupId, DateTime OccurredAtUtc) : IComparable<RecentTouch>
{
    /// <summary>By occurred_at, then campaign_id, then group_id (ordinal): the array order, and the "latest" tie-break.</summary>
    public int CompareTo(RecentTouch other)
    {
        var c = OccurredAtUtc.CompareTo(other.OccurredAtUtc);
        if (c == 0)
        {
            c = string.CompareOrdinal(CampaignId, other.CampaignId);
        }
        return c != 0 ? c : string.CompareOrdinal(GroupId, other.GroupId);
    }
}

/// <summary>
/// The bounded memory of recent touches (<see cref="CustomerState.Touches"/>).
///
/// Scheme: a touch is kept while it is BOTH among the newest <see cref="CustomerRules.MaxTouches"/>
/// (16 by default, by occurred_at) AND no older than <see cref="CustomerRules.TouchHorizon"/>
/// (7 days) before the customer's newest touch or order (occurred_at). The array is sorted by
/// (occurred_at, campaign_id, group_id) and holds each (campaign, group, instant) once.
///
/// Why that is enough: last_touch only looks back one attribution window (24 h by default) from
/// an order, and an order is attributed when it is processed. A touch older than the horizon
/// before the newest activity can only matter to an order that arrives more than
/// (horizon - window) late; more than 16 touches inside one window are a bot, not a shopper, and
/// the newest of them are the ones last_touch picks anyway. A campaign whose window is longer than
/// the horizon is in effect cut to it (<see cref="Campaigns.CampaignCatalog.LongestWindow"/> lets
/// the caller warn). The horizon is a rule, not read from the catalog, so that replaying the same
/// events always rebuilds the same state.
///
/// Cost: 24 bytes a touch plus a 24-byte array header; nothing for a customer without touches
/// (the typical one), ~100 bytes for a customer with a few touches a week, and at most
/// 16 x 24 + 24 = 408 bytes plus the distinct campaign/group ids. Keep-newest-within-horizon is
/// monotone, so the result does not depend on the order touches and orders arrive in.
/// </summary>
public static class TouchMemory
{
    public static EquatableArray<RecentTouch> Add(EquatableArray<RecentTouch> touches, RecentTouch touch, DateTimeOffset? lastOrderAt, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var span = touches.AsSpan();
        var i = span.BinarySearch(touch);
        if (i >= 0)
        {
            return touches; // the same touch again (another event_id at the same instant): kept once
        }
        i = ~i;
        var items = new RecentTouch[span.Length + 1];
        span[..i].CopyTo(items);
        items[i] = touch;
        span[i..].CopyTo(items.AsSpan(i + 1));
        return Bound(items, lastOrderAt, rules);
    }

    /// <summary>Re-applies the bounds after the newest order moved (a touch may have left the horizon).</summary>
    public static EquatableArray<RecentTouch> Bound(EquatableArray<RecentTouch> touches, DateTimeOffset? lastOrderAt, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var first = FirstKept(touches.AsSpan(), lastOrderAt, rules);
        return first == 0 ? touches : touches.AsSpan()[first..].ToArray().ToEquatableArray();
    }

    /// <summary>Union of two customers' touches (a merge), bounded.</summary>
    public static EquatableArray<RecentTouch> Merge(EquatableArray<RecentTouch> a, EquatableArray<RecentTouch> b, DateTimeOffset? lastOrderAt, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var items = a.Concat(b).Distinct().ToArray();
        Array.Sort(items);
        return Bound(items, lastOrderAt, rules);
    }

    /// <summary><paramref name="sorted"/> is sorted, distinct, and owned by the callee.</summary>
    private static EquatableArray<RecentTouch> Bound(RecentTouch[] sorted, DateTimeOffset? lastOrderAt, CustomerRules rules)
    {
        var first = FirstKept(sorted, lastOrderAt, rules);
        return first == 0 ? EquatableArray.Own(sorted) : EquatableArray.Own(sorted[first..]);
    }

    /// <summary>Index of the first touch kept: everything before it is beyond the count or the horizon.</summary>
    private static int FirstKept(ReadOnlySpan<RecentTouch> sorted, DateTimeOffset? lastOrderAt, CustomerRules rules)
    {
        if (sorted.IsEmpty)
        {
            return 0;
        }
        if (rules.MaxTouches <= 0)
        {
            return sorted.Length;
        }
        var newest = sorted[^1].OccurredAtUtc;
        if (lastOrderAt is { } o && o.UtcDateTime > newest)
        {
            newest = o.UtcDateTime;
        }
        var floor = newest - rules.TouchHorizon;
        var first = Math.Max(0, sorted.Length - rules.MaxTouches);
        while (first < sorted.Length && sorted[first].OccurredAtUtc < floor)
        {
            first++;
        }
        return first;
    }
}
