namespace Siyu.Sinks.Rows;

/// <summary>
/// One version of a customer's profile in <c>siyu.profiles</c> (ReplacingMergeTree(version,
/// is_deleted): read with FINAL, the highest <see cref="Version"/> wins). Only what the
/// dashboards need is kept: no ids, no phone hash, no name or birthday.
/// </summary>
public sealed record ProfileRow
{
    public required string CustomerId { get; init; }

    /// <summary>The survivor this customer was absorbed into (its last profile), else empty.</summary>
    public string MergedInto { get; init; } = "";

    /// <summary>Every customer folded into this one (contract: merged_from); see 004_profile_merges.sql.</summary>
    public IReadOnlyList<string> MergedFrom { get; init; } = [];

    /// <summary>The profile's version; strictly increasing per customer.</summary>
    public required ulong Version { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }

    /// <summary>When the customer was first seen; after a merge the earliest of them (006_audit.sql).</summary>
    public DateTimeOffset? CreatedAt { get; init; }

    public bool InPrivateDomain { get; init; }

    public IReadOnlyList<string> Groups { get; init; } = [];

    /// <summary>The owning guide, or empty.</summary>
    public string GuideId { get; init; } = "";

    /// <summary><c>segment.frequency</c>: low, mid or high.</summary>
    public string Frequency { get; init; } = "";

    /// <summary><c>segment.state</c>: new, active, at_risk or lapsed.</summary>
    public string State { get; init; } = "";

    public uint Orders { get; init; }

    /// <summary>Net of refunds.</summary>
    public decimal Revenue { get; init; }

    public uint Refunds { get; init; }

    public decimal RefundAmount { get; init; }

    public DateTimeOffset? FirstOrderAt { get; init; }

    public DateTimeOffset? LastOrderAt { get; init; }

    /// <summary>Orders by channel (pos, miniprogram, app).</summary>
    public IReadOnlyDictionary<string, uint> ByChannel { get; init; } = new Dictionary<string, uint>();

    public IReadOnlyDictionary<string, string> Tags { get; init; } = new Dictionary<string, string>();

    /// <summary>
    /// Always 0 from Siyu: an erasure deletes the customer's rows (<see cref="CustomerErasure"/>)
    /// rather than adding a row that still names them. The column (001_tables.sql) stays for
    /// rows written by other tools.
    /// </summary>
    public byte IsDeleted { get; init; }
}
