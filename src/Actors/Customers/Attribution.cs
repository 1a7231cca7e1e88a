using System.Text.Json.Serialization;
using Siyu.Actors.Campaigns;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>The contract's attribution rules, in precedence order (wire names direct, last_touch, group_assisted, organic).</summary>
public enum AttributionRule : byte
{
    [JsonStringEnumMemberName("direct")]
    Direct,

    [JsonStringEnumMemberName("last_touch")]
    LastTouch,

    [JsonStringEnumMemberName("group_assisted")]
    GroupAssisted,

    [JsonStringEnumMemberName("organic")]
    Organic,
}

public static class AttributionRules
{
    public static string WireName(this AttributionRule rule) => rule switch
    {
        AttributionRule.Direct => "direct",
        AttributionRule.LastTouch => "last_touch",
        AttributionRule.GroupAssisted => "group_assisted",
        AttributionRule.Organic => "organic",
        _ => throw new ArgumentOutOfRangeException(nameof(rule), rule, null),
    };
}

/// <summary>
/// How an order is attributed (contract: Attribution), decided once when the order is processed
/// (<see cref="OrderAttribution.Decide"/>) and kept with the order, so that a refund reverses it
/// with exactly this attribution, never re-decided.
/// - <see cref="CampaignId"/>, <see cref="CampaignType"/>: the campaign credited (direct, last_touch), else null.
/// - <see cref="GroupId"/>: last_touch: the touch's group; direct: the order's share_group_id (if any);
///   group_assisted: the group credited; organic: null.
/// - <see cref="GuideId"/>: the guide credited (any rule), null when none.
/// - <see cref="InPrivateDomain"/>: the customer was a guide's contact or a group member at order time.
/// A customer holds one instance per distinct attribution (orders share it; see <see cref="StateCompaction"/>):
/// 48 bytes, the ids being shared with the rest of the state.
/// </summary>
public sealed record Attribution(
    AttributionRule Rule,
    string? CampaignId,
    CampaignType? CampaignType,
    string? GroupId,
    string? GuideId,
    bool InPrivateDomain)
{
    /// <summary>An organic order with no guide, outside the private domain (the most common one: shared by everyone).</summary>
    public static Attribution Organic { get; } = new(AttributionRule.Organic, null, null, null, null, false);
}

/// <summary>
/// The attribution decision (contract: Attribution), pure: from the customer's state as it is when
/// the order is processed, read at the order's occurred_at, and the current campaign catalog.
/// 1. direct: the order names a campaign_id the catalog knows.
/// 2. last_touch: else the latest remembered solitaire_join / flash_claim (<see cref="CustomerState.Touches"/>)
///    at or before the order whose campaign the catalog knows, applies to one of the order's skus
///    (or names none), and whose window covers it: touch in [order - window, order].
///    Equal times: the ordinally larger campaign_id, then group_id.
/// 3. group_assisted: else the customer was in a WeCom group at order time: the order's
///    share_group_id if it is one of them, else the most recently joined.
/// 4. organic.
/// Guide credit: a wecom_collect payment's guide_id, else the order's guide_id (the same field:
/// the contract's first two steps read it alike), else the owning guide at order time, else none.
///
/// "At order time" reads each group's and guide's intervals (<see cref="Membership"/>: its joins
/// and leaves, a short history per key, folded under merges): the customer was a member at the
/// order's occurred_at if the latest change at or before it is a join (an add), or if the first
/// change known is a leave after it (joined before anything Siyu has seen). A join and a leave
/// that both happened after the order, processed before it, do not credit the order. What the
/// state does not know yet when the order is processed cannot count (the contract decides once);
/// a customer who changed one membership more than CustomerRules.MaxMembershipChanges times has
/// forgotten the oldest intervals.
/// </summary>
public static class OrderAttribution
{
    public static Attribution Decide(CustomerState state, OrderPlaced order, CampaignCatalog campaigns)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(order);
        ArgumentNullException.ThrowIfNull(campaigns);
        var at = order.OccurredAt.ToUniversalTime();
        var guide = GuideCredit(state, order, at);
        var inPrivateDomain = InPrivateDomainAt(state, at);

        if (campaigns.TryGet(order.CampaignId, out var direct))
        {
            var shareGroup = Blank(order.ShareGroupId) ? null : Shared(state, order.ShareGroupId!);
            return Attribute(state, AttributionRule.Direct, direct.CampaignId, direct.Type, shareGroup, guide, inPrivateDomain);
        }

        if (LastTouch(state, order, at, campaigns) is { } touch)
        {
            return Attribute(state, AttributionRule.LastTouch, touch.Campaign.CampaignId, touch.Campaign.Type, touch.Touch.GroupId, guide, inPrivateDomain);
        }

        if (GroupAt(state, order.ShareGroupId, at) is { } group)
        {
            return Attribute(state, AttributionRule.GroupAssisted, null, null, group, guide, inPrivateDomain);
        }

        return guide is null && !inPrivateDomain
            ? Attribution.Organic
            : Attribute(state, AttributionRule.Organic, null, null, null, guide, inPrivateDomain);
    }

    /// <summary>
    /// The attribution with these values: the instance the state's orders already share when one
    /// of them has it (a customer's orders mostly repeat a handful), else a new one. Values are
    /// the same either way (<see cref="StateCompaction"/> would share it when the order is applied).
    /// </summary>
    private static Attribution Attribute(CustomerState state, AttributionRule rule, string? campaignId, CampaignType? campaignType,
        string? groupId, string? guideId, bool inPrivateDomain)
    {
        foreach (var o in state.RecentOrders.AsSpan())
        {
            if (o.Attribution is { } a && a.Rule == rule && a.CampaignId == campaignId && a.CampaignType == campaignType
                && a.GroupId == groupId && a.GuideId == guideId && a.InPrivateDomain == inPrivateDomain)
            {
                return a;
            }
        }
        return new Attribution(rule, campaignId, campaignType, groupId, guideId, inPrivateDomain);
    }

    /// <summary>Contract (guide credit); see the class summary.</summary>
    public static string? GuideCredit(CustomerState state, OrderPlaced order, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(order);
        if (order.Payment == Payment.WecomCollect && !Blank(order.GuideId))
        {
            return Shared(state, order.GuideId!); // guide-collected payment (对外收款): that guide's sale
        }
        if (!Blank(order.GuideId))
        {
            return Shared(state, order.GuideId!);
        }
        return OwningGuideAt(state, at);
    }

    /// <summary>Contract: a WeCom contact of a guide or a member of a group, at <paramref name="at"/>.</summary>
    public static bool InPrivateDomainAt(CustomerState state, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(state);
        var t = at.ToUniversalTime();
        foreach (var c in state.Contacts.AsSpan())
        {
            if (MemberAt(c, t))
            {
                return true;
            }
        }
        foreach (var g in state.Groups.AsSpan())
        {
            if (MemberAt(g, t))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The latest contact_added not removed, at <paramref name="at"/> (ties: the larger guide id).</summary>
    public static string? OwningGuideAt(CustomerState state, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(state);
        return Latest(state.Contacts, at.ToUniversalTime());
    }

    /// <summary>The group credited for group_assisted, or null when the customer was in none at <paramref name="at"/>.</summary>
    public static string? GroupAt(CustomerState state, string? shareGroupId, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(state);
        var t = at.ToUniversalTime();
        if (!Blank(shareGroupId))
        {
            foreach (var g in state.Groups.AsSpan())
            {
                if (g.Id == shareGroupId && MemberAt(g, t))
                {
                    return g.Id;
                }
            }
        }
        return Latest(state.Groups, t);
    }

    private static (RecentTouch Touch, Campaign Campaign)? LastTouch(CustomerState state, OrderPlaced order, DateTimeOffset at, CampaignCatalog campaigns)
    {
        if (campaigns.Count == 0)
        {
            return null;
        }
        var orderAt = at.UtcDateTime;
        (RecentTouch, Campaign)? best = null;
        // Touches are sorted by (occurred_at, campaign_id, group_id): the last match is the latest.
        foreach (var t in state.Touches.AsSpan())
        {
            if (t.OccurredAtUtc > orderAt)
            {
                break;
            }
            if (campaigns.TryGet(t.CampaignId, out var campaign)
                && t.OccurredAtUtc >= orderAt - campaign.AttributionWindow
                && campaign.AppliesTo(order.Items))
            {
                best = (t, campaign);
            }
        }
        return best;
    }

    /// <summary>See <see cref="Membership.MemberAt(DateTimeOffset, out DateTimeOffset?)"/>.</summary>
    internal static bool MemberAt(Membership m, DateTimeOffset t) => m.MemberAt(t);

    /// <summary>
    /// Among entries that were present at <paramref name="t"/>: the latest joined (added) at or
    /// before it (ties: the larger id); entries whose join is not known only when no other qualifies.
    /// </summary>
    private static string? Latest(EquatableArray<Membership> set, DateTimeOffset t)
    {
        string? best = null;
        DateTimeOffset? bestSince = null;
        foreach (var m in set.AsSpan())
        {
            if (!m.MemberAt(t, out var since))
            {
                continue;
            }
            if (best is null
                || (since is { } s && (bestSince is not { } b || s > b))
                || (since == bestSince && string.CompareOrdinal(m.Id, best) > 0))
            {
                best = m.Id;
                bestSince = since;
            }
        }
        return best;
    }

    /// <summary>The state's own instance of an id when it holds one (see <see cref="StateCompaction"/>).</summary>
    private static string Shared(CustomerState state, string id) => StateCompaction.Share(state, id)!;

    private static bool Blank(string? s) => string.IsNullOrWhiteSpace(s);
}
