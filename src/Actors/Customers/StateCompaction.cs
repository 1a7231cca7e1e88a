namespace Siyu.Actors.Customers;

/// <summary>
/// Keeps the resident state small by sharing instances inside one customer. Every order carries
/// its <see cref="Attribution"/>, and the same few ids (a group, a guide, a campaign) recur in
/// the groups, contacts, touches and attributions. Without sharing, each order would hold its own
/// attribution object and id strings (~150 bytes an order); with it, a customer holds one
/// attribution per distinct value (orders usually share a handful) and one string per distinct
/// id. Values are unchanged: only which equal instance is referenced, so snapshots, equality and
/// every decision are the same with or without it.
/// </summary>
public static class StateCompaction
{
    /// <summary>An instance of <paramref name="value"/> the state already holds, else <paramref name="value"/> itself.</summary>
    public static string? Share(CustomerState state, string? value)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (value is null)
        {
            return null;
        }
        foreach (var g in state.Groups.AsSpan())
        {
            if (g.Id == value)
            {
                return g.Id;
            }
        }
        foreach (var c in state.Contacts.AsSpan())
        {
            if (c.Id == value)
            {
                return c.Id;
            }
        }
        foreach (var t in state.Touches.AsSpan())
        {
            if (t.CampaignId == value)
            {
                return t.CampaignId;
            }
            if (t.GroupId == value)
            {
                return t.GroupId;
            }
        }
        foreach (var o in state.RecentOrders.AsSpan())
        {
            if (o.Attribution is { } a && Match(a, value) is { } shared)
            {
                return shared;
            }
        }
        return value;
    }

    /// <summary>An equal attribution the state's orders already reference, else one whose ids are shared with the state.</summary>
    public static Attribution? Share(CustomerState state, Attribution? attribution)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (attribution is null)
        {
            return null;
        }
        if (attribution.Equals(Attribution.Organic))
        {
            return Attribution.Organic;
        }
        foreach (var o in state.RecentOrders.AsSpan())
        {
            if (o.Attribution is { } a && (ReferenceEquals(a, attribution) || a.Equals(attribution)))
            {
                return a;
            }
        }
        var campaign = Share(state, attribution.CampaignId);
        var group = Share(state, attribution.GroupId);
        var guide = Share(state, attribution.GuideId);
        return ReferenceEquals(campaign, attribution.CampaignId) && ReferenceEquals(group, attribution.GroupId) && ReferenceEquals(guide, attribution.GuideId)
            ? attribution
            : attribution with { CampaignId = campaign, GroupId = group, GuideId = guide };
    }

    /// <summary>
    /// The same state with equal ids and attributions sharing one instance each (after a snapshot
    /// is read, where every occurrence is its own string, or after a merge).
    /// </summary>
    public static CustomerState Compact(CustomerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.RecentOrders.IsEmpty && state.Touches.IsEmpty)
        {
            return state;
        }
        var pool = new Dictionary<string, string>(StringComparer.Ordinal);
        string? Pool(string? s)
        {
            if (s is null)
            {
                return null;
            }
            if (pool.TryGetValue(s, out var shared))
            {
                return shared;
            }
            pool[s] = s;
            return s;
        }
        foreach (var g in state.Groups)
        {
            Pool(g.Id);
        }
        foreach (var c in state.Contacts)
        {
            Pool(c.Id);
        }

        var touches = state.Touches.ToArray();
        for (var i = 0; i < touches.Length; i++)
        {
            touches[i] = touches[i] with { CampaignId = Pool(touches[i].CampaignId)!, GroupId = Pool(touches[i].GroupId)! };
        }

        var attributions = new Dictionary<Attribution, Attribution> { [Attribution.Organic] = Attribution.Organic };
        var orders = state.RecentOrders.ToArray();
        for (var i = 0; i < orders.Length; i++)
        {
            if (orders[i].Attribution is not { } a)
            {
                continue;
            }
            if (!attributions.TryGetValue(a, out var shared))
            {
                shared = a with { CampaignId = Pool(a.CampaignId), GroupId = Pool(a.GroupId), GuideId = Pool(a.GuideId) };
                attributions[shared] = shared;
            }
            orders[i] = orders[i] with { Attribution = shared };
        }
        return state with { Touches = EquatableArray.Own(touches), RecentOrders = EquatableArray.Own(orders) };
    }

    private static string? Match(Attribution a, string value) =>
        a.CampaignId == value ? a.CampaignId
        : a.GroupId == value ? a.GroupId
        : a.GuideId == value ? a.GuideId
        : null;
}
