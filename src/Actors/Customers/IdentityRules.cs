using Siyu.Contracts.Events;
using Siyu.Contracts.Privacy;

namespace Siyu.Actors.Customers;

/// <summary>Why an id was not linked.</summary>
public enum IdRefusal
{
    /// <summary>A placeholder such as "", "0", "null", "anonymous" (<see cref="CustomerRules.BlockedIdValues"/>).</summary>
    BlockedValue,

    /// <summary>The customer already has as many ids of this type as <see cref="CustomerRules.IdLimits"/> allows.</summary>
    LimitExceeded,

    /// <summary>A phone that is not a keyed hash: never stored; the value is not even echoed back.</summary>
    PhoneNotHashed,
}

public static class IdRefusalNames
{
    public static string WireName(this IdRefusal reason) => reason switch
    {
        IdRefusal.BlockedValue => "blocked_value",
        IdRefusal.LimitExceeded => "limit_exceeded",
        IdRefusal.PhoneNotHashed => "phone_not_hashed",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };
}

/// <summary>An id that was not linked. <see cref="Value"/> is null when it must not be repeated (a raw phone).</summary>
public readonly record struct RefusedId(IdType Type, string? Value, IdRefusal Reason);

/// <summary>
/// <see cref="Accepted"/>: every incoming id that belongs to the customer (already known or new);
/// <see cref="New"/>: the subset to link now; <see cref="Refused"/>: the rest, with the reason.
/// </summary>
public sealed record IdFilterResult(EquatableArray<LinkedId> Accepted, EquatableArray<LinkedId> New, EquatableArray<RefusedId> Refused);

/// <summary>
/// Identity guard rails in the manner of Segment's identity resolution, as pure functions so
/// that the customer entity and the identity index apply the same rules:
/// blocked placeholder values are ignored, phones must be hashed, and each id type has a limit
/// per customer. An id that would exceed its type's limit is not linked (the event is still
/// applied with its other ids); the customer is not split and nothing is merged because of it.
/// Limits are first come, first served: the ids already linked keep their place.
/// </summary>
public static class IdentityRules
{
    /// <summary>Which of an event's ids may be linked to a customer who already has <paramref name="known"/>.</summary>
    public static IdFilterResult Filter(CustomerIds incoming, IReadOnlyCollection<LinkedId> known, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        return Filter(incoming.All().Select(x => new LinkedId(x.Type, x.Value)), known, rules);
    }

    /// <summary>
    /// The general form (also used to fold an absorbed customer's ids): candidates are taken
    /// highest priority first, then by value, so the outcome does not depend on their order.
    /// </summary>
    public static IdFilterResult Filter(IEnumerable<LinkedId> incoming, IReadOnlyCollection<LinkedId> known, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(incoming);
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(rules);
        var accepted = new List<LinkedId>();
        var added = new List<LinkedId>();
        var refused = new List<RefusedId>();
        var ordered = incoming
            .Distinct()
            .OrderBy(id => rules.PriorityRank(id.Type))
            .ThenBy(id => id.Value, StringComparer.Ordinal);
        foreach (var id in ordered)
        {
            if (rules.IsBlocked(id.Value))
            {
                refused.Add(new RefusedId(id.Type, id.Value, IdRefusal.BlockedValue));
            }
            else if (id.Type == IdType.Phone && !PhoneHasher.IsHash(id.Value))
            {
                refused.Add(new RefusedId(id.Type, null, IdRefusal.PhoneNotHashed));
            }
            else if (known.Contains(id))
            {
                accepted.Add(id);
            }
            else if (known.Count(k => k.Type == id.Type) + added.Count(a => a.Type == id.Type) >= rules.IdLimit(id.Type))
            {
                refused.Add(new RefusedId(id.Type, id.Value, IdRefusal.LimitExceeded));
            }
            else
            {
                accepted.Add(id);
                added.Add(id);
            }
        }
        return new IdFilterResult(accepted.ToEquatableArray(), added.ToEquatableArray(), refused.ToEquatableArray());
    }

    /// <summary>
    /// The id types whose limit two customers' ids would exceed together (empty: they may merge).
    /// The index uses it before merging: when a merge would break a limit, it drops the event's
    /// lowest-priority id that points at the other customer (<see cref="LowestPriority"/>)
    /// and links the rest, rather than merging.
    /// </summary>
    public static IReadOnlyList<IdType> MergeViolations(IEnumerable<LinkedId> a, IEnumerable<LinkedId> b, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        var union = a.Concat(b).Distinct().ToList();
        return Enum.GetValues<IdType>().Where(t => union.Count(id => id.Type == t) > rules.IdLimit(t)).ToList();
    }

    /// <summary>The id of lowest priority (the one that gives way), or null if there is none.</summary>
    public static LinkedId? LowestPriority(IEnumerable<LinkedId> ids, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(rules);
        LinkedId? lowest = null;
        foreach (var id in ids)
        {
            if (lowest is not { } l || rules.PriorityRank(id.Type) > rules.PriorityRank(l.Type)
                || (id.Type == l.Type && string.CompareOrdinal(id.Value, l.Value) > 0))
            {
                lowest = id;
            }
        }
        return lowest;
    }

    /// <summary>Sorted (type, value) union, as the state keeps its ids.</summary>
    internal static EquatableArray<LinkedId> Union(EquatableArray<LinkedId> ids, IEnumerable<LinkedId> more) =>
        ids.Concat(more).Distinct().OrderBy(i => i.Type).ThenBy(i => i.Value, StringComparer.Ordinal).ToEquatableArray();
}
