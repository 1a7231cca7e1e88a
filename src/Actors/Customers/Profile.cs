using System.Text.Json;
using System.Text.Json.Serialization;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>
/// The contract's profile (siyu.profiles value, GET /v1/customers/...). Fields beyond the
/// contract's list are additive: created_at (the survivor rule needs it), merged_into (absorbed
/// customers), contacts (guide_id -> added_at, behind guide_id and in_private_domain),
/// stats.refund_amount and segment.as_of (the "now" the segment was computed at).
/// Every field is always written except birthday and merged_into, which are omitted when unset.
/// </summary>
public sealed record CustomerProfile
{
    public required string CustomerId { get; init; }
    public required DateTimeOffset CreatedAt { get; init; }

    /// <summary>Wire id type -> values (an array: some types allow several). Phones are hashes.</summary>
    public required IReadOnlyDictionary<string, IReadOnlyList<string>> Ids { get; init; }

    public required IReadOnlyList<string> MergedFrom { get; init; }
    public string? MergedInto { get; init; }
    public required bool InPrivateDomain { get; init; }
    public required IReadOnlyList<string> Groups { get; init; }

    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required string? GuideId { get; init; }

    public required IReadOnlyDictionary<string, DateTimeOffset> Contacts { get; init; }
    public required IReadOnlyDictionary<string, string> Tags { get; init; }
    public DateOnly? Birthday { get; init; }
    public required ProfileStats Stats { get; init; }
    public required ProfileSegment Segment { get; init; }
    public required ProfileService Service { get; init; }
    public required long Version { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
}

/// <summary>refunds is a count (like orders); refund_amount is the money refunded; revenue is net of refunds.</summary>
public sealed record ProfileStats(
    int Orders,
    decimal Revenue,
    int Refunds,
    decimal RefundAmount,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? FirstOrderAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? LastOrderAt,
    ProfileByChannel ByChannel);

public sealed record ProfileByChannel(
    ProfileChannel Pos,
    [property: JsonPropertyName("miniprogram")] ProfileChannel MiniProgram,
    ProfileChannel App);

public sealed record ProfileChannel(int Orders, decimal Revenue);

/// <summary>frequency: low|mid|high; state: new|active|at_risk|lapsed; as_of: the "now" they were computed at.</summary>
public sealed record ProfileSegment(string Frequency, string State, DateTimeOffset AsOf);

/// <summary>The open service task due first (both null when none): the task name and its due time.</summary>
public sealed record ProfileService(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? NextTask,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] DateTimeOffset? DueAt);

/// <summary>
/// A siyu.profile-changes value: {customer_id, change, at, change_id, ...}; the extra fields depend
/// on the change and are omitted when not relevant. Value equality (it is kept in the customer's
/// saved outbox until Kafka acknowledged it).
/// </summary>
public sealed record ProfileChange
{
    public required string CustomerId { get; init; }
    public required string Change { get; init; }
    public required DateTimeOffset At { get; init; }

    /// <summary>
    /// Stable id ("{customer_id}:{n}", or the notice id of an operations change): a change published
    /// again after a crash carries the same, so subscribers drop repeats by it. Null only in
    /// change values built outside a customer (tests, tools).
    /// </summary>
    public string? ChangeId { get; init; }

    public string? GroupId { get; init; }
    public string? Tag { get; init; }
    public string? Value { get; init; }
    public string? PreviousValue { get; init; }
    public ProfileSegment? Segment { get; init; }
    public ProfileSegment? PreviousSegment { get; init; }
    public EquatableArray<string>? MergedFrom { get; init; }

    public string? MergedInto { get; init; }

    // Operations (service_due, churn_risk, birthday_reminder, anniversary_reminder): see Operations/OperationsNotice.

    /// <summary>Stable id of an operations change: a republished one (after a crash) carries the same.</summary>
    public string? NoticeId { get; init; }
    public string? Task { get; init; }
    public string? OrderId { get; init; }
    public DateTimeOffset? DueAt { get; init; }
    public string? GuideId { get; init; }
    /// <summary>churn_risk: at_risk or lapsed, and what it was before.</summary>
    public string? State { get; init; }
    public string? PreviousState { get; init; }
    /// <summary>Reminders: the occasion's date and how many days ahead the reminder comes.</summary>
    public DateOnly? Date { get; init; }
    public int? DaysBefore { get; init; }
}

/// <summary>The change names of the contract (those this entity emits today, plus the later ones).</summary>
public static class ProfileChanges
{
    public const string Created = "created";
    public const string Merged = "merged";
    public const string JoinedPrivateDomain = "joined_private_domain";
    public const string LeftPrivateDomain = "left_private_domain";
    public const string GroupJoined = "group_joined";
    public const string GroupLeft = "group_left";
    public const string SegmentChanged = "segment_changed";
    public const string TagChanged = "tag_changed";
    public const string ServiceDue = "service_due";
    public const string ChurnRisk = "churn_risk";
    public const string Erased = "erased";
}

/// <summary>Projection of the state to the contract's profile, its JSON, and the change events between two profiles.</summary>
public static class Profile
{
    /// <summary>The profile as of <paramref name="now"/> (the segment depends on it).</summary>
    public static CustomerProfile Project(CustomerState state, DateTimeOffset now, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(rules);
        now = now.ToUniversalTime();
        // Loops, not LINQ: this runs once per save (profiled: the iterators were 8% of all allocations).
        var all = state.Ids.AsSpan();
        var ids = new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal);
        foreach (var type in IdTypes)
        {
            var n = 0;
            foreach (var i in all)
            {
                n += i.Type == type ? 1 : 0;
            }
            if (n == 0)
            {
                continue;
            }
            var values = new string[n];
            n = 0;
            foreach (var i in all)
            {
                if (i.Type == type)
                {
                    values[n++] = i.Value;
                }
            }
            ids[type.WireName()] = values;
        }
        var contacts = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var c in state.Contacts.AsSpan())
        {
            if (c.Active)
            {
                contacts[c.Id] = c.At;
            }
        }
        var tags = new Dictionary<string, string>(state.Tags.Count, StringComparer.Ordinal);
        foreach (var t in state.Tags.AsSpan())
        {
            tags[t.Name] = t.Value;
        }
        var segment = Segments.Of(state, now, rules);
        var s = state.Stats;
        return new CustomerProfile
        {
            CustomerId = state.CustomerId,
            CreatedAt = state.CreatedAt,
            Ids = ids,
            MergedFrom = state.MergedFrom.ToArray(),
            MergedInto = state.MergedInto,
            InPrivateDomain = state.InPrivateDomain,
            Groups = ActiveGroups(state),
            GuideId = state.OwningGuideId,
            Contacts = contacts,
            Tags = tags,
            Birthday = state.Birthday,
            Stats = new ProfileStats(
                s.Orders, s.Revenue, s.Refunds, s.RefundAmount, s.FirstOrderAt, s.LastOrderAt,
                new ProfileByChannel(
                    new ProfileChannel(s.Pos.Orders, s.Pos.Revenue),
                    new ProfileChannel(s.MiniProgram.Orders, s.MiniProgram.Revenue),
                    new ProfileChannel(s.App.Orders, s.App.Revenue))),
            Segment = new ProfileSegment(segment.Frequency.WireName(), segment.State.WireName(), now),
            Service = state.Ops.Tasks.IsEmpty
                ? new ProfileService(null, null)
                : new ProfileService(state.Ops.Tasks[0].Task, state.Ops.Tasks[0].DueAt),
            Version = state.Version,
            UpdatedAt = state.UpdatedAt,
        };
    }

    private static readonly IdType[] IdTypes = Enum.GetValues<IdType>();

    private static bool Same(IReadOnlyList<string> a, IReadOnlyList<string>? b)
    {
        if (b is null || a.Count != b.Count)
        {
            return b is null && a.Count == 0;
        }
        for (var i = 0; i < a.Count; i++)
        {
            if (!string.Equals(a[i], b[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    private static string[] ActiveGroups(CustomerState state)
    {
        var groups = state.Groups.AsSpan();
        var n = 0;
        foreach (var g in groups)
        {
            n += g.Active ? 1 : 0;
        }
        if (n == 0)
        {
            return [];
        }
        var active = new string[n];
        n = 0;
        foreach (var g in groups)
        {
            if (g.Active)
            {
                active[n++] = g.Id;
            }
        }
        return active;
    }

    /// <summary>The siyu.profiles value, with the segment as of the last change (updated_at).</summary>
    public static byte[] ToJson(CustomerState state, CustomerRules rules) => ToJson(state, state.UpdatedAt, rules);

    public static byte[] ToJson(CustomerState state, DateTimeOffset now, CustomerRules rules) =>
        ToJson(Project(state, now, rules));

    public static byte[] ToJson(CustomerProfile profile) =>
        JsonSerializer.SerializeToUtf8Bytes(profile, CustomerJsonContext.Default.CustomerProfile);

    /// <summary>Reads a siyu.profiles value back (what a downstream service does).</summary>
    public static CustomerProfile Parse(ReadOnlySpan<byte> json) =>
        JsonSerializer.Deserialize(json, CustomerJsonContext.Default.CustomerProfile)
        ?? throw new JsonException("a profile cannot be null (a null value is the erasure tombstone)");

    public static byte[] ToJson(ProfileChange change) =>
        JsonSerializer.SerializeToUtf8Bytes(change, CustomerJsonContext.Default.ProfileChange);

    /// <summary>
    /// Changes between two states, both projected at <paramref name="now"/>; <paramref name="before"/>
    /// null or new means the customer is being created. Use the profile overload with the profile
    /// last published as "before" to report segment moves caused by time passing alone.
    /// </summary>
    public static IReadOnlyList<ProfileChange> Changes(CustomerState? before, CustomerState after, DateTimeOffset now, CustomerRules rules)
    {
        // The same changes as diffing the two projected profiles (the overload below), read off
        // the states directly: a save announces its profile, and projecting the previous one
        // too only to compare it cost as much again (dictionaries, arrays) on every save.
        ArgumentNullException.ThrowIfNull(after);
        ArgumentNullException.ThrowIfNull(rules);
        var at = now.ToUniversalTime();
        var id = after.CustomerId;
        var b = before is null || before.IsNew ? null : before;
        List<ProfileChange>? changes = null;
        void Add(ProfileChange change) => (changes ??= []).Add(change);
        ProfileChange Change(string change) => new() { CustomerId = id, Change = change, At = at };

        ProfileSegment SegmentOf(CustomerState s)
        {
            var segment = Segments.Of(s, at, rules);
            return new ProfileSegment(segment.Frequency.WireName(), segment.State.WireName(), at);
        }
        if (after.MergedInto is { } into)
        {
            if (b is null)
            {
                // Absorbed before its first save: it existed all the same (subscribers saw no "created").
                Add(Change(ProfileChanges.Created) with { Segment = SegmentOf(after) });
            }
            if (b?.MergedInto != into)
            {
                Add(Change(ProfileChanges.Merged) with { MergedInto = into });
            }
            return (IReadOnlyList<ProfileChange>?)changes ?? [];
        }
        var segmentAfter = SegmentOf(after);
        if (b is null)
        {
            Add(Change(ProfileChanges.Created) with { Segment = segmentAfter });
        }
        string[]? absorbed = null;
        foreach (var m in after.MergedFrom.AsSpan())
        {
            if (b is null || b.MergedFrom.AsSpan().IndexOf(m) < 0)
            {
                absorbed = absorbed is null ? [m] : [.. absorbed, m];
            }
        }
        if (absorbed is not null)
        {
            Add(Change(ProfileChanges.Merged) with { MergedFrom = EquatableArray.Own(absorbed) });
        }
        var wasIn = b?.InPrivateDomain ?? false;
        if (after.InPrivateDomain != wasIn)
        {
            Add(Change(after.InPrivateDomain ? ProfileChanges.JoinedPrivateDomain : ProfileChanges.LeftPrivateDomain));
        }
        // Groups are kept sorted by id, so the active ones come out in ordinal order.
        foreach (var g in after.Groups.AsSpan())
        {
            if (g.Active && (b is null || !IsActiveGroup(b, g.Id)))
            {
                Add(Change(ProfileChanges.GroupJoined) with { GroupId = g.Id });
            }
        }
        if (b is not null)
        {
            foreach (var g in b.Groups.AsSpan())
            {
                if (g.Active && !IsActiveGroup(after, g.Id))
                {
                    Add(Change(ProfileChanges.GroupLeft) with { GroupId = g.Id });
                }
            }
        }
        // Tags are kept sorted by name.
        foreach (var tag in after.Tags.AsSpan())
        {
            string? previous = null;
            if (b is not null && TagValue(b, tag.Name) is { } p)
            {
                if (p == tag.Value)
                {
                    continue;
                }
                previous = p;
            }
            Add(Change(ProfileChanges.TagChanged) with { Tag = tag.Name, Value = tag.Value, PreviousValue = previous });
        }
        if (b is not null)
        {
            var segmentBefore = SegmentOf(b);
            if (segmentBefore.Frequency != segmentAfter.Frequency || segmentBefore.State != segmentAfter.State)
            {
                Add(Change(ProfileChanges.SegmentChanged) with { Segment = segmentAfter, PreviousSegment = segmentBefore });
            }
        }
        return (IReadOnlyList<ProfileChange>?)changes ?? [];
    }

    private static bool IsActiveGroup(CustomerState s, string groupId)
    {
        foreach (var g in s.Groups.AsSpan())
        {
            if (g.Id == groupId)
            {
                return g.Active;
            }
        }
        return false;
    }

    private static string? TagValue(CustomerState s, string name)
    {
        foreach (var t in s.Tags.AsSpan())
        {
            if (t.Name == name)
            {
                return t.Value;
            }
        }
        return null;
    }

    /// <summary>
    /// The change events from <paramref name="before"/> (null: not published yet) to
    /// <paramref name="after"/>, in a stable order: created, merged, private domain,
    /// group_joined/left (by group id), tag_changed (by tag), segment_changed.
    /// A customer that was just absorbed reports only "merged" (with merged_into; "created" first when it was never published): its groups and
    /// tags moved to the survivor, it did not leave them.
    /// </summary>
    public static IReadOnlyList<ProfileChange> Changes(CustomerProfile? before, CustomerProfile after, DateTimeOffset at)
    {
        ArgumentNullException.ThrowIfNull(after);
        at = at.ToUniversalTime();
        var id = after.CustomerId;
        var changes = new List<ProfileChange>();
        ProfileChange Change(string change) => new() { CustomerId = id, Change = change, At = at };

        if (after.MergedInto is { } into)
        {
            if (before is null)
            {
                changes.Add(Change(ProfileChanges.Created) with { Segment = after.Segment });
            }
            if (before?.MergedInto != into)
            {
                changes.Add(Change(ProfileChanges.Merged) with { MergedInto = into });
            }
            return changes;
        }
        if (before is null)
        {
            changes.Add(Change(ProfileChanges.Created) with { Segment = after.Segment });
        }
        // The usual save changes neither list: compared in place before any set operation.
        var absorbed = Same(after.MergedFrom, before?.MergedFrom) ? [] : after.MergedFrom.Except(before?.MergedFrom ?? [], StringComparer.Ordinal).ToArray();
        if (absorbed.Length > 0)
        {
            changes.Add(Change(ProfileChanges.Merged) with { MergedFrom = EquatableArray.Own(absorbed) });
        }
        var wasIn = before?.InPrivateDomain ?? false;
        if (after.InPrivateDomain != wasIn)
        {
            changes.Add(Change(after.InPrivateDomain ? ProfileChanges.JoinedPrivateDomain : ProfileChanges.LeftPrivateDomain));
        }
        var groupsBefore = before?.Groups ?? [];
        if (!Same(after.Groups, groupsBefore))
        {
            foreach (var g in after.Groups.Except(groupsBefore, StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                changes.Add(Change(ProfileChanges.GroupJoined) with { GroupId = g });
            }
            foreach (var g in groupsBefore.Except(after.Groups, StringComparer.Ordinal).Order(StringComparer.Ordinal))
            {
                changes.Add(Change(ProfileChanges.GroupLeft) with { GroupId = g });
            }
        }
        foreach (var (name, value) in after.Tags.OrderBy(t => t.Key, StringComparer.Ordinal))
        {
            string? previous = null;
            if (before?.Tags.TryGetValue(name, out previous) == true && previous == value)
            {
                continue;
            }
            changes.Add(Change(ProfileChanges.TagChanged) with { Tag = name, Value = value, PreviousValue = previous });
        }
        if (before is not null
            && (before.Segment.Frequency != after.Segment.Frequency || before.Segment.State != after.Segment.State))
        {
            changes.Add(Change(ProfileChanges.SegmentChanged) with { Segment = after.Segment, PreviousSegment = before.Segment });
        }
        return changes;
    }
}
