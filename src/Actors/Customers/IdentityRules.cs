using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
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
        ArgumentNullException.ThrowIfNull(known);
        ArgumentNullException.ThrowIfNull(rules);
        var buffer = default(IdBuffer);
        var candidates = Collect(incoming, buffer);
        var (accepted, added, refused) = Classify(candidates, Span(known), rules, wantAccepted: true);
        return new IdFilterResult(accepted, added, refused);
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
        var distinct = new List<LinkedId>();
        foreach (var id in incoming)
        {
            if (!distinct.Contains(id))
            {
                distinct.Add(id);
            }
        }
        var (accepted, added, refused) = Classify(CollectionsMarshal.AsSpan(distinct), Span(known), rules, wantAccepted: true);
        return new IdFilterResult(accepted, added, refused);
    }

    /// <summary>
    /// <see cref="Filter(CustomerIds, IReadOnlyCollection{LinkedId}, CustomerRules)"/> without the accepted
    /// list, for the decider: it runs for every event, and usually every id is known (nothing allocated then).
    /// </summary>
    internal static (EquatableArray<LinkedId> New, EquatableArray<RefusedId> Refused) FilterNew(CustomerIds incoming, EquatableArray<LinkedId> known, CustomerRules rules)
    {
        var buffer = default(IdBuffer);
        var candidates = Collect(incoming, buffer);
        var (_, added, refused) = Classify(candidates, known.AsSpan(), rules, wantAccepted: false);
        return (added, refused);
    }

    /// <summary>One slot per id type: an event carries at most one id of each.</summary>
    [InlineArray(8)]
    private struct IdBuffer
    {
        private LinkedId _first;
    }

    private static readonly IdType[] AllTypes = Enum.GetValues<IdType>();

    /// <summary>The event's ids, in the contract's order (as <see cref="CustomerIds.All"/> gives them).</summary>
    private static Span<LinkedId> Collect(CustomerIds incoming, Span<LinkedId> buffer)
    {
        if (AllTypes.Length > buffer.Length)
        {
            buffer = new LinkedId[AllTypes.Length];
        }
        var n = 0;
        foreach (var t in AllTypes)
        {
            if (incoming.Get(t) is { } v)
            {
                buffer[n++] = new LinkedId(t, v);
            }
        }
        return buffer[..n];
    }

    private static ReadOnlySpan<LinkedId> Span(IReadOnlyCollection<LinkedId> known) => known switch
    {
        EquatableArray<LinkedId> a => a.AsSpan(),
        LinkedId[] a => a,
        List<LinkedId> l => CollectionsMarshal.AsSpan(l),
        _ => known.ToArray(),
    };

    private enum Verdict : byte
    {
        Known,
        New,
        Blocked,
        PhoneNotHashed,
        LimitExceeded,
    }

    /// <summary>
    /// The rules over distinct <paramref name="candidates"/> (reordered in place: priority, then
    /// value, stable), without LINQ or intermediate lists: only the result arrays are allocated,
    /// and none when empty.
    /// </summary>
    private static (EquatableArray<LinkedId> Accepted, EquatableArray<LinkedId> New, EquatableArray<RefusedId> Refused) Classify(
        Span<LinkedId> candidates, ReadOnlySpan<LinkedId> known, CustomerRules rules, bool wantAccepted)
    {
        // Stable insertion sort (OrderBy(rank).ThenBy(value, ordinal) kept equal keys in input order).
        for (var i = 1; i < candidates.Length; i++)
        {
            var x = candidates[i];
            var rank = rules.PriorityRank(x.Type);
            var j = i - 1;
            while (j >= 0 && Precedes(rank, x.Value, rules.PriorityRank(candidates[j].Type), candidates[j].Value))
            {
                candidates[j + 1] = candidates[j];
                j--;
            }
            candidates[j + 1] = x;
        }
        Span<Verdict> verdicts = candidates.Length <= 64 ? stackalloc Verdict[candidates.Length] : new Verdict[candidates.Length];
        int accepted = 0, added = 0, refused = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var id = candidates[i];
            Verdict v;
            if (rules.IsBlocked(id.Value))
            {
                v = Verdict.Blocked;
            }
            else if (id.Type == IdType.Phone && !PhoneHasher.IsHash(id.Value))
            {
                v = Verdict.PhoneNotHashed;
            }
            else if (known.Contains(id))
            {
                v = Verdict.Known;
            }
            else if (CountOfType(known, id.Type) + CountNew(candidates[..i], verdicts[..i], id.Type) >= rules.IdLimit(id.Type))
            {
                v = Verdict.LimitExceeded;
            }
            else
            {
                v = Verdict.New;
            }
            verdicts[i] = v;
            switch (v)
            {
                case Verdict.Known:
                    accepted++;
                    break;
                case Verdict.New:
                    accepted++;
                    added++;
                    break;
                default:
                    refused++;
                    break;
            }
        }
        var acceptedItems = wantAccepted && accepted > 0 ? new LinkedId[accepted] : null;
        var addedItems = added > 0 ? new LinkedId[added] : null;
        var refusedItems = refused > 0 ? new RefusedId[refused] : null;
        int a = 0, n = 0, r = 0;
        for (var i = 0; i < candidates.Length; i++)
        {
            var id = candidates[i];
            switch (verdicts[i])
            {
                case Verdict.Known:
                    if (acceptedItems is not null)
                    {
                        acceptedItems[a++] = id;
                    }
                    break;
                case Verdict.New:
                    if (acceptedItems is not null)
                    {
                        acceptedItems[a++] = id;
                    }
                    addedItems![n++] = id;
                    break;
                case Verdict.Blocked:
                    refusedItems![r++] = new RefusedId(id.Type, id.Value, IdRefusal.BlockedValue);
                    break;
                case Verdict.PhoneNotHashed:
                    refusedItems![r++] = new RefusedId(id.Type, null, IdRefusal.PhoneNotHashed);
                    break;
                case Verdict.LimitExceeded:
                    refusedItems![r++] = new RefusedId(id.Type, id.Value, IdRefusal.LimitExceeded);
                    break;
            }
        }
        return (Own(acceptedItems), Own(addedItems), Own(refusedItems));
    }

    private static EquatableArray<T> Own<T>(T[]? items) where T : IEquatable<T> => items is null ? default : EquatableArray.Own(items);

    private static bool Precedes(int rank, string value, int otherRank, string otherValue) =>
        rank < otherRank || (rank == otherRank && string.CompareOrdinal(value, otherValue) < 0);

    private static int CountOfType(ReadOnlySpan<LinkedId> ids, IdType type)
    {
        var n = 0;
        foreach (var id in ids)
        {
            if (id.Type == type)
            {
                n++;
            }
        }
        return n;
    }

    private static int CountNew(ReadOnlySpan<LinkedId> ids, ReadOnlySpan<Verdict> verdicts, IdType type)
    {
        var n = 0;
        for (var i = 0; i < ids.Length; i++)
        {
            if (verdicts[i] == Verdict.New && ids[i].Type == type)
            {
                n++;
            }
        }
        return n;
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
    internal static EquatableArray<LinkedId> Union(EquatableArray<LinkedId> ids, IEnumerable<LinkedId> more)
    {
        ArgumentNullException.ThrowIfNull(more);
        return more is EquatableArray<LinkedId> m ? Union(ids, m.AsSpan()) : Union(ids, (ReadOnlySpan<LinkedId>)more.ToArray());
    }

    /// <summary>The same without LINQ: one array for the result (none when nothing is new).</summary>
    internal static EquatableArray<LinkedId> Union(EquatableArray<LinkedId> ids, ReadOnlySpan<LinkedId> more)
    {
        var current = ids.AsSpan();
        if (IsSortedSet(current) && ContainsAll(current, more))
        {
            return ids; // nothing new (the usual case): the same instance, nothing allocated
        }
        var all = new LinkedId[current.Length + more.Length];
        current.CopyTo(all);
        more.CopyTo(all.AsSpan(current.Length));
        // (type, value) is the whole identity of an id, so any sort gives the one order; equal ids end up adjacent.
        Array.Sort(all, static (x, y) => Compare(x, y));
        var n = 0;
        for (var i = 0; i < all.Length; i++)
        {
            if (n == 0 || all[i] != all[n - 1])
            {
                all[n++] = all[i];
            }
        }
        if (n == current.Length && current.SequenceEqual(all.AsSpan(0, n)))
        {
            return ids; // nothing new: the same instance
        }
        return EquatableArray.Own(n == all.Length ? all : all[..n]);
    }

    /// <summary>The state's order of ids: type, then value (ordinal).</summary>
    private static int Compare(LinkedId x, LinkedId y) =>
        x.Type != y.Type ? ((int)x.Type).CompareTo((int)y.Type) : string.CompareOrdinal(x.Value, y.Value);

    private static bool IsSortedSet(ReadOnlySpan<LinkedId> ids)
    {
        for (var i = 1; i < ids.Length; i++)
        {
            if (Compare(ids[i - 1], ids[i]) >= 0)
            {
                return false;
            }
        }
        return true;
    }

    private static bool ContainsAll(ReadOnlySpan<LinkedId> set, ReadOnlySpan<LinkedId> items)
    {
        foreach (var id in items)
        {
            if (!set.Contains(id))
            {
                return false;
            }
        }
        return true;
    }
}
