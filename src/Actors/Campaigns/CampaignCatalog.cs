using System.Collections;
using System.Collections.Immutable;
using System.Diagnostics.CodeAnalysis;

namespace Siyu.Actors.Campaigns;

/// <summary>
/// An immutable snapshot of every known campaign by campaign_id, as the siyu.campaigns topic
/// (compacted, keyed by campaign_id) defines them: the latest definition of an id wins and a
/// tombstone (null value) removes it. Updates return a new catalog and leave this one alone, so
/// the actor layer can hand the current catalog to <c>CustomerDecider.Decide</c> without locks.
/// Enumerates in campaign_id order (ordinal).
/// </summary>
public sealed class CampaignCatalog : IReadOnlyCollection<Campaign>
{
    public static CampaignCatalog Empty { get; } =
        new(ImmutableSortedDictionary<string, Campaign>.Empty.WithComparers(StringComparer.Ordinal), TimeSpan.Zero);

    private readonly ImmutableSortedDictionary<string, Campaign> _byId;

    private CampaignCatalog(ImmutableSortedDictionary<string, Campaign> byId, TimeSpan longestWindow)
    {
        _byId = byId;
        LongestWindow = longestWindow;
    }

    /// <summary>Builds a catalog from definitions in arrival order (a later one of the same id wins).</summary>
    public static CampaignCatalog Of(IEnumerable<Campaign> campaigns)
    {
        ArgumentNullException.ThrowIfNull(campaigns);
        var catalog = Empty;
        foreach (var c in campaigns)
        {
            catalog = catalog.With(c);
        }
        return catalog;
    }

    public int Count => _byId.Count;

    /// <summary>
    /// The longest attribution window of any campaign (zero when empty). A customer remembers its
    /// touches for <c>CustomerRules.TouchHorizon</c>; the actor layer can warn when this exceeds it.
    /// </summary>
    public TimeSpan LongestWindow { get; }

    public bool Contains(string? campaignId) => campaignId is not null && _byId.ContainsKey(campaignId);

    public bool TryGet(string? campaignId, [NotNullWhen(true)] out Campaign? campaign)
    {
        if (campaignId is null)
        {
            campaign = null;
            return false;
        }
        return _byId.TryGetValue(campaignId, out campaign);
    }

    public Campaign? Find(string? campaignId) => TryGet(campaignId, out var c) ? c : null;

    /// <summary>The definition replaces any earlier one of its id (it is validated first: throws <see cref="CampaignFormatException"/>).</summary>
    public CampaignCatalog With(Campaign campaign)
    {
        ArgumentNullException.ThrowIfNull(campaign);
        campaign.Validate();
        if (_byId.TryGetValue(campaign.CampaignId, out var current))
        {
            if (current.Equals(campaign))
            {
                return this;
            }
            var replaced = _byId.SetItem(campaign.CampaignId, campaign);
            return new CampaignCatalog(replaced, current.AttributionWindow == LongestWindow && campaign.AttributionWindow < LongestWindow
                ? Longest(replaced)
                : Max(LongestWindow, campaign.AttributionWindow));
        }
        return new CampaignCatalog(_byId.Add(campaign.CampaignId, campaign), Max(LongestWindow, campaign.AttributionWindow));
    }

    /// <summary>A tombstone: the id is no longer a known campaign (unknown ids are ignored).</summary>
    public CampaignCatalog Without(string campaignId)
    {
        ArgumentNullException.ThrowIfNull(campaignId);
        if (!_byId.TryGetValue(campaignId, out var removed))
        {
            return this;
        }
        var rest = _byId.Remove(campaignId);
        return new CampaignCatalog(rest, removed.AttributionWindow == LongestWindow ? Longest(rest) : LongestWindow);
    }

    /// <summary>The latest definition of <paramref name="campaignId"/>: a campaign replaces it, null removes it.</summary>
    public CampaignCatalog Apply(string campaignId, Campaign? definition)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(campaignId);
        if (definition is null)
        {
            return Without(campaignId);
        }
        if (!string.Equals(definition.CampaignId, campaignId, StringComparison.Ordinal))
        {
            throw new ArgumentException($"the definition of '{definition.CampaignId}' cannot be stored under '{campaignId}'", nameof(definition));
        }
        return With(definition);
    }

    public IEnumerator<Campaign> GetEnumerator() => _byId.Values.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static TimeSpan Longest(ImmutableSortedDictionary<string, Campaign> byId)
    {
        var longest = TimeSpan.Zero;
        foreach (var c in byId.Values)
        {
            longest = Max(longest, c.AttributionWindow);
        }
        return longest;
    }

    private static TimeSpan Max(TimeSpan a, TimeSpan b) => a > b ? a : b;
}
