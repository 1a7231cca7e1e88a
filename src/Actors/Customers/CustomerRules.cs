using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>
/// The tunable business rules of the customer entity. Decide and Apply take them as an argument
/// (they are settings, not state), so an operator can move a threshold without a migration.
/// Apply uses only the bounding rules (dedup window, retained orders, tombstones); a replay
/// with different bounds keeps a different but equally valid window, never different totals.
/// </summary>
public sealed record CustomerRules
{
    public static CustomerRules Default { get; } = new();

    // --- segment.frequency: orders in a trailing window (inclusive: an order exactly
    //     FrequencyWindow before "now" still counts) ---
    public TimeSpan FrequencyWindow { get; init; } = TimeSpan.FromDays(90);

    /// <summary>mid from this many orders in the window (fewer is low).</summary>
    public int MidFrequencyMinOrders { get; init; } = 2;

    /// <summary>high from this many orders in the window.</summary>
    public int HighFrequencyMinOrders { get; init; } = 6;

    // --- segment.state ---
    /// <summary>new while no order yet, or while the first order is at most this old.</summary>
    public TimeSpan NewCustomerWindow { get; init; } = TimeSpan.FromDays(30);

    /// <summary>at_risk when the last order is more than this old.</summary>
    public TimeSpan AtRiskAfter { get; init; } = TimeSpan.FromDays(60);

    /// <summary>lapsed when the last order is more than this old.</summary>
    public TimeSpan LapsedAfter { get; init; } = TimeSpan.FromDays(180);

    /// <summary>
    /// Churn: at_risk also needs the time since the last order to exceed this many times the
    /// customer's usual interval between orders (AtRiskAfter is then the floor).
    /// </summary>
    public double ChurnFactor { get; init; } = 2.0;

    /// <summary>lapsed also needs more than this many usual intervals (LapsedAfter is the floor).</summary>
    public double LapsedFactor { get; init; } = 4.0;

    /// <summary>Service tasks, reminders, the contact cap and audiences.</summary>
    public Siyu.Actors.Operations.OperationsRules Operations { get; init; } = Siyu.Actors.Operations.OperationsRules.Default;

    // --- dedup window (see SeenWindow) ---
    public int MaxSeenEvents { get; init; } = 512;
    public TimeSpan SeenHorizon { get; init; } = TimeSpan.FromDays(7);

    // --- orders kept for refund matching, order-id dedup and the frequency window ---
    public int MaxRecentOrders { get; init; } = 100;
    public TimeSpan RecentOrderHorizon { get; init; } = TimeSpan.FromDays(400);

    // --- recent campaign touches for last_touch attribution (see TouchMemory) ---
    /// <summary>At most this many touches per customer (the newest by occurred_at); 0 turns last_touch off.</summary>
    public int MaxTouches { get; init; } = 16;

    /// <summary>
    /// Touches older than this before the customer's newest touch or order are forgotten. Cuts any
    /// longer campaign attribution window, and bounds how late an order can arrive and still find
    /// its touch: (horizon - window), 6 days for the default 24-hour window.
    /// </summary>
    public TimeSpan TouchHorizon { get; init; } = TimeSpan.FromDays(7);

    /// <summary>Left groups / removed contacts remembered (newest first) so that a late "join" older than the "leave" loses.</summary>
    public int MaxTombstones { get; init; } = 16;

    /// <summary>
    /// Joins and leaves remembered per group (adds and removals per guide), newest first, so that
    /// "at order time" reads the interval the order fell in (see <see cref="Membership"/>). A
    /// customer who leaves and rejoins more often than this forgets the oldest intervals.
    /// </summary>
    public int MaxMembershipChanges { get; init; } = 8;

    // --- identity guard rails (Segment-style) ---
    /// <summary>Placeholder values producers send instead of a real id; compared case-insensitively after trimming.</summary>
    public IReadOnlyList<string> BlockedIdValues { get; init; } = ["", "0", "-1", "null", "undefined", "anonymous", "unknown"];

    /// <summary>At most this many distinct values of a type per customer; a type missing here cannot be linked.</summary>
    public IReadOnlyDictionary<IdType, int> IdLimits { get; init; } = new Dictionary<IdType, int>
    {
        [IdType.MemberId] = 1,
        [IdType.Phone] = 1,
        [IdType.UnionId] = 1,
        [IdType.OpenId] = 3,
        [IdType.ExternalUserId] = 3,
        [IdType.AppUserId] = 2,
        [IdType.DeviceId] = 5,
    };

    /// <summary>Highest priority first; when linking would break a limit the lowest-priority id gives way.</summary>
    public IReadOnlyList<IdType> IdPriority { get; init; } =
    [
        IdType.MemberId, IdType.Phone, IdType.UnionId, IdType.AppUserId,
        IdType.ExternalUserId, IdType.OpenId, IdType.DeviceId,
    ];

    /// <summary>
    /// Id types that name a thing several people may use (a shared in-store tablet's device_id)
    /// rather than a person. A weak id is recorded on the customer the event's strong ids lead
    /// to, but never decides which customer that is: it never links a strong id to a customer
    /// and never merges two. An event with weak ids only goes to the weak id's anonymous
    /// customer (docs/architecture.md, "Identity and merges").
    /// </summary>
    public IReadOnlyList<IdType> WeakIdTypes { get; init; } = [IdType.DeviceId];

    public int IdLimit(IdType type) => IdLimits.TryGetValue(type, out var limit) ? limit : 0;

    public bool IsWeak(IdType type)
    {
        for (var i = 0; i < WeakIdTypes.Count; i++)
        {
            if (WeakIdTypes[i] == type)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>0 is the highest priority; larger is lower.</summary>
    public int PriorityRank(IdType type)
    {
        for (var i = 0; i < IdPriority.Count; i++)
        {
            if (IdPriority[i] == type)
            {
                return i;
            }
        }
        return int.MaxValue;
    }

    public bool IsBlocked(string? value)
    {
        if (value is null)
        {
            return true;
        }
        // Per id of every event: a span trim and an indexed loop allocate nothing.
        var v = value.AsSpan().Trim();
        var blockedValues = BlockedIdValues;
        for (var i = 0; i < blockedValues.Count; i++)
        {
            if (blockedValues[i] is { } blocked && v.Equals(blocked, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Every inconsistency, empty when the rules are usable.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        void Positive(TimeSpan value, string name)
        {
            if (value <= TimeSpan.Zero)
            {
                problems.Add($"{name} must be positive");
            }
        }
        Positive(FrequencyWindow, nameof(FrequencyWindow));
        Positive(NewCustomerWindow, nameof(NewCustomerWindow));
        Positive(AtRiskAfter, nameof(AtRiskAfter));
        Positive(LapsedAfter, nameof(LapsedAfter));
        Positive(SeenHorizon, nameof(SeenHorizon));
        Positive(RecentOrderHorizon, nameof(RecentOrderHorizon));
        Positive(TouchHorizon, nameof(TouchHorizon));
        if (MidFrequencyMinOrders < 1 || HighFrequencyMinOrders <= MidFrequencyMinOrders)
        {
            problems.Add("frequency thresholds must satisfy 1 <= MidFrequencyMinOrders < HighFrequencyMinOrders");
        }
        if (ChurnFactor < 1 || LapsedFactor <= ChurnFactor)
        {
            problems.Add("churn factors must satisfy 1 <= ChurnFactor < LapsedFactor");
        }
        problems.AddRange(Operations.Problems());
        if (LapsedAfter <= AtRiskAfter)
        {
            problems.Add("LapsedAfter must be longer than AtRiskAfter");
        }
        if (MaxSeenEvents < 1)
        {
            problems.Add("MaxSeenEvents must be at least 1");
        }
        if (MaxTouches < 0)
        {
            problems.Add("MaxTouches cannot be negative");
        }
        if (MaxTombstones < 0)
        {
            problems.Add("MaxTombstones cannot be negative");
        }
        if (MaxMembershipChanges < 1)
        {
            problems.Add("MaxMembershipChanges must be at least 1");
        }
        // The frequency tier is read from the retained orders; it is exact only if they cover the
        // window, or if the retained ones alone already reach "high".
        if (MaxRecentOrders < HighFrequencyMinOrders)
        {
            problems.Add("MaxRecentOrders must be at least HighFrequencyMinOrders");
        }
        if (RecentOrderHorizon < FrequencyWindow)
        {
            problems.Add("RecentOrderHorizon must cover FrequencyWindow");
        }
        foreach (var type in Enum.GetValues<IdType>())
        {
            if (!IdLimits.TryGetValue(type, out var limit))
            {
                problems.Add($"IdLimits has no limit for {type.WireName()}");
            }
            else if (limit < 0)
            {
                problems.Add($"IdLimits for {type.WireName()} cannot be negative");
            }
        }
        if (IdPriority.Count != Enum.GetValues<IdType>().Length || IdPriority.Distinct().Count() != IdPriority.Count)
        {
            problems.Add("IdPriority must name every id type exactly once");
        }
        if (WeakIdTypes.Count >= Enum.GetValues<IdType>().Length)
        {
            problems.Add("WeakIdTypes must leave at least one strong id type");
        }
        return problems;
    }

    /// <summary>Throws when <see cref="Problems"/> is not empty; returns the rules for chaining.</summary>
    public CustomerRules Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw new ArgumentException("invalid customer rules: " + string.Join("; ", problems));
        }
        return this;
    }
}
