namespace Siyu.Actors.Campaigns;

/// <summary>
/// Where and when a siyu.campaigns message was written: its Kafka timestamp (milliseconds since
/// the epoch), partition and offset. Ordered by timestamp, then partition, then offset.
/// </summary>
public readonly record struct DefinitionStamp(long TimestampMs, int Partition, long Offset) : IComparable<DefinitionStamp>
{
    public int CompareTo(DefinitionStamp other)
    {
        var c = TimestampMs.CompareTo(other.TimestampMs);
        if (c == 0)
        {
            c = Partition.CompareTo(other.Partition);
        }
        return c != 0 ? c : Offset.CompareTo(other.Offset);
    }

    /// <summary>
    /// The ClickHouse <c>campaigns.version</c> of this definition: the same order as the stamp, so
    /// ReplacingMergeTree keeps the definition the feed chose, across restarts (a counter would
    /// start again at 1 and lose to the rows written before).
    /// </summary>
    public ulong Version => ((ulong)Math.Max(0, TimestampMs) << 12) | (uint)Math.Clamp(Partition, 0, 4095);

    public static bool operator <(DefinitionStamp a, DefinitionStamp b) => a.CompareTo(b) < 0;
    public static bool operator >(DefinitionStamp a, DefinitionStamp b) => a.CompareTo(b) > 0;
    public static bool operator <=(DefinitionStamp a, DefinitionStamp b) => a.CompareTo(b) <= 0;
    public static bool operator >=(DefinitionStamp a, DefinitionStamp b) => a.CompareTo(b) >= 0;
}

/// <summary>What one siyu.campaigns message did.</summary>
/// <param name="CampaignId">The campaign it is about; null when that cannot be told (a tombstone without key, an unreadable value).</param>
/// <param name="Applied">It is now the campaign's latest definition (or removed it).</param>
/// <param name="Definition">The campaign as now defined; null when removed or not applied.</param>
/// <param name="Warning">Why it was not applied, or what was wrong with it although it was (no key).</param>
public readonly record struct DefinitionOutcome(string? CampaignId, bool Applied, Campaign? Definition, string? Warning);

/// <summary>
/// The campaigns as siyu.campaigns defines them, whatever order its messages are read in. The
/// rule: of all messages about one campaign_id, the one with the latest Kafka timestamp wins
/// (ties: higher partition, then higher offset); a tombstone is a message like any other, so a
/// later definition brings a removed campaign back and an earlier one does not. Since the rule
/// depends only on the messages, not on when each partition is read, every node and every
/// restart arrives at the same catalog, even for a campaign whose definitions sit in several
/// partitions (produced without a key). A message without a key is about its value's
/// campaign_id, and is applied with a warning; one whose key is not its campaign_id is not.
/// Single-threaded (the feed's consumer loop).
/// </summary>
public sealed class CampaignDefinitions
{
    private readonly Dictionary<string, DefinitionStamp> _latest = new(StringComparer.Ordinal);

    public CampaignCatalog Catalog { get; private set; } = CampaignCatalog.Empty;

    public DefinitionOutcome Apply(string? key, byte[]? value, DefinitionStamp stamp)
    {
        string id;
        Campaign? campaign = null;
        string? warning = null;
        if (value is null)
        {
            if (string.IsNullOrWhiteSpace(key))
            {
                return new(null, false, null, "a campaign tombstone needs the campaign_id as its key; ignored");
            }
            id = key;
        }
        else
        {
            if (!Campaign.TryParse(value, out campaign, out var error))
            {
                return new(string.IsNullOrEmpty(key) ? null : key, false, null, error + "; ignored");
            }
            id = campaign.CampaignId;
            if (string.IsNullOrEmpty(key))
            {
                warning = $"no message key; taken as campaign {id} (produce campaigns keyed by campaign_id: unkeyed, "
                    + "one campaign's definitions land in different partitions)";
            }
            else if (!string.Equals(key, id, StringComparison.Ordinal))
            {
                return new(key, false, null, $"message key '{key}' is not the campaign_id '{id}' of its value; ignored");
            }
        }
        if (_latest.TryGetValue(id, out var current) && stamp <= current)
        {
            return new(id, false, null, (warning is null ? "" : warning + "; ")
                + $"older than the definition already applied (written {Time(stamp)}, the applied one {Time(current)}: the latest by Kafka timestamp wins); ignored");
        }
        _latest[id] = stamp;
        Catalog = campaign is null ? Catalog.Without(id) : Catalog.With(campaign);
        return new(id, true, campaign, warning);
    }

    private static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Time(DefinitionStamp s) => $"{Time(DateTimeOffset.FromUnixTimeMilliseconds(s.TimestampMs))} in partition {s.Partition} at offset {s.Offset}";
}
