using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Identity;

/// <summary>
/// An event's usable ids as the identity rules read them: blocked values and unhashed phones
/// refused, the rest split into strong ids (a person's: member_id, phone, unionid, openid,
/// external_userid, app_user_id) and weak ids (<see cref="CustomerRules.WeakIdTypes"/>: a
/// device several people may use), each in priority order. An event carries at most one id per
/// type, so priority order is a total order and does not depend on how the event was written.
/// </summary>
public sealed class EventIdentity
{
    private static readonly LinkedId[] None = [];

    private EventIdentity(LinkedId[] strong, LinkedId[] weak, LinkedId[] all, RefusedId[] refused)
    {
        Strong = strong;
        Weak = weak;
        All = all;
        Refused = refused;
    }

    public LinkedId[] Strong { get; }

    public LinkedId[] Weak { get; }

    /// <summary>Every usable id in priority order (what the customer records).</summary>
    public LinkedId[] All { get; }

    public RefusedId[] Refused { get; }

    public bool IsEmpty => All.Length == 0;

    /// <summary>No strong id: the event belongs to the anonymous customer of its first weak id.</summary>
    public bool WeakOnly => Strong.Length == 0 && Weak.Length > 0;

    /// <summary>
    /// The ids the identity index decides by: the strong ones, or for a weak-only event its
    /// first weak id (the anchor). Other weak ids are recorded by the customer, never indexed.
    /// </summary>
    public ReadOnlySpan<LinkedId> Indexed => Strong.Length > 0 ? Strong : Weak.AsSpan(0, Math.Min(1, Weak.Length));

    /// <summary>The ids the customer gets when the guard rail kept only the first <paramref name="keptStrong"/> strong ids.</summary>
    public LinkedId[] Keeping(int keptStrong)
    {
        if (keptStrong >= Strong.Length)
        {
            return All;
        }
        var ids = new LinkedId[keptStrong + Weak.Length];
        Strong.AsSpan(0, keptStrong).CopyTo(ids);
        Weak.CopyTo(ids, keptStrong);
        return ids;
    }

    /// <summary>Splits an event's ids; no LINQ, exact-size arrays (this runs for every event).</summary>
    public static EventIdentity Of(CustomerIds ids, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(rules);
        var priority = rules.IdPriority;
        Span<byte> kind = stackalloc byte[priority.Count]; // 0 absent or refused, 1 strong, 2 weak
        int ns = 0, nw = 0;
        List<RefusedId>? refused = null;
        for (var i = 0; i < priority.Count; i++)
        {
            var type = priority[i];
            if (ids.Get(type) is not { } value)
            {
                continue;
            }
            if (rules.IsBlocked(value))
            {
                (refused ??= []).Add(new RefusedId(type, value, IdRefusal.BlockedValue));
            }
            else if (type == IdType.Phone && !Siyu.Contracts.Privacy.PhoneHasher.IsHash(value))
            {
                (refused ??= []).Add(new RefusedId(type, null, IdRefusal.PhoneNotHashed));
            }
            else if (rules.IdLimit(type) < 1)
            {
                (refused ??= []).Add(new RefusedId(type, value, IdRefusal.LimitExceeded));
            }
            else if (rules.IsWeak(type))
            {
                kind[i] = 2;
                nw++;
            }
            else
            {
                kind[i] = 1;
                ns++;
            }
        }
        var strong = ns == 0 ? None : new LinkedId[ns];
        var weak = nw == 0 ? None : new LinkedId[nw];
        var all = nw == 0 ? strong : ns == 0 ? weak : new LinkedId[ns + nw];
        int s = 0, w = 0, a = 0;
        for (var i = 0; i < priority.Count; i++)
        {
            if (kind[i] == 0)
            {
                continue;
            }
            var id = new LinkedId(priority[i], ids.Get(priority[i])!);
            if (kind[i] == 1)
            {
                strong[s++] = id;
            }
            else
            {
                weak[w++] = id;
            }
            if (ns > 0 && nw > 0)
            {
                all[a++] = id;
            }
        }
        return new EventIdentity(strong, weak, all, refused is null ? [] : [.. refused]);
    }
}

/// <summary>What the rules need to know about a customer the event's ids lead to.</summary>
public interface IIdentityView
{
    /// <summary>
    /// The ids <paramref name="customerId"/> holds now (its own, plus any promised to it and not
    /// yet applied); false when that is not known (the caller must find out and decide again).
    /// </summary>
    bool TryGetIds(string customerId, out IReadOnlyList<LinkedId> ids);
}

public enum IdentityVerdict : byte
{
    /// <summary>Every id the event is decided by already belongs to <see cref="IdentityDecision.Target"/>.</summary>
    Owned,

    /// <summary>Some belong to <see cref="IdentityDecision.Target"/>; the unowned ones join it (claimed for it).</summary>
    Join,

    /// <summary>Nobody owns any: a new customer claims them all.</summary>
    New,

    /// <summary>They lead to several customers: the others merge into <see cref="IdentityDecision.Target"/> (the oldest); then decide again.</summary>
    Merge,

    /// <summary>What <see cref="IdentityDecision.Target"/> holds is needed and not known: find out and decide again.</summary>
    NeedIds,
}

/// <param name="Kept">
/// How many of the decided ids the event keeps, from the first (highest priority): the guard rail
/// drops the rest rather than break a per-type limit.
/// </param>
public readonly record struct IdentityDecision(IdentityVerdict Verdict, string? Target, int Kept);

/// <summary>
/// The identity rules as a pure function of an event's ids and what the index and the customers
/// hold, with no I/O: <see cref="IdentityResolver"/> looks up, asks, claims and merges what it
/// decides, and the convergence tests run it over a simulated index in many processing orders.
///
/// Why the result does not depend on arrival order: only strong ids decide. A customer is the
/// set of strong ids that events carried together (the contract: ids in one event belong to one
/// customer), which is a union of those events' id sets however they are grouped in time, and
/// each event goes to the customer of its strong ids. Weak ids (a shared tablet) never link: if
/// they did, the first person seen on the tablet would collect everyone who later used it, and
/// who that is depends on which events happen to be processed first. An event with weak ids
/// only goes to the anonymous customer of its first weak id, which no strong id ever joins: any
/// rule that let it join "the person who logged in on that device" would have to pick one of
/// two people who logged in on it by processing order (docs/architecture.md). Two things stay
/// order-dependent, both named by the contract: which customer_id survives a merge (the oldest
/// created, so the partition is the same up to that naming), and the guard rail, which only
/// acts on inconsistent input (two member_ids in one event chain) and keeps the first come.
/// </summary>
public static class IdentityDecider
{
    /// <summary>
    /// Decides an event with strong ids. <paramref name="strong"/> is in priority order
    /// (<see cref="EventIdentity.Strong"/>); <paramref name="owners"/>[k] is the customer that
    /// owns strong[k] now (following merges), or null. Allocates nothing when every id belongs to
    /// one customer already (the common case).
    /// </summary>
    public static IdentityDecision Decide(ReadOnlySpan<LinkedId> strong, ReadOnlySpan<string?> owners, IIdentityView customers, CustomerRules rules)
    {
        if (strong.Length == 0 || owners.Length != strong.Length)
        {
            throw new ArgumentException("one owner (or null) per strong id, at least one id");
        }
        var kept = strong.Length;
        while (true)
        {
            string? single = null;
            var several = false;
            var fresh = false;
            for (var k = 0; k < kept; k++)
            {
                var o = owners[k];
                if (o is null)
                {
                    fresh = true;
                }
                else if (single is null)
                {
                    single = o;
                }
                else if (!string.Equals(single, o, StringComparison.Ordinal))
                {
                    several = true;
                }
            }
            if (single is null)
            {
                return new IdentityDecision(IdentityVerdict.New, null, kept);
            }
            if (!several && !fresh)
            {
                return new IdentityDecision(IdentityVerdict.Owned, single, kept);
            }
            // A join or a merge: the customers' strong ids and the event's together must stay
            // within the per-type limits (two member_ids: two people), else the event's
            // lowest-priority id gives way and the rest is decided again.
            var fits = Fits(strong[..kept], owners[..kept], customers, rules, out var unknown);
            if (unknown is not null)
            {
                return new IdentityDecision(IdentityVerdict.NeedIds, unknown, kept);
            }
            if (fits)
            {
                return several
                    ? new IdentityDecision(IdentityVerdict.Merge, Oldest(owners[..kept]), kept)
                    : new IdentityDecision(IdentityVerdict.Join, single, kept);
            }
            kept--; // kept >= 2 here: with one id the event is either owned or new
        }
    }

    /// <summary>The customer that survives a merge: the oldest, i.e. the ordinally smallest id (ids start with their creation time).</summary>
    public static string Oldest(ReadOnlySpan<string?> owners)
    {
        string? oldest = null;
        foreach (var o in owners)
        {
            if (o is not null && (oldest is null || string.CompareOrdinal(o, oldest) < 0))
            {
                oldest = o;
            }
        }
        return oldest ?? throw new ArgumentException("no owner", nameof(owners));
    }

    private static bool Fits(ReadOnlySpan<LinkedId> strong, ReadOnlySpan<string?> owners, IIdentityView customers, CustomerRules rules, out string? unknown)
    {
        unknown = null;
        var union = new List<LinkedId>(strong.Length + 8);
        foreach (var id in strong)
        {
            AddStrong(union, id, rules);
        }
        for (var k = 0; k < owners.Length; k++)
        {
            var o = owners[k];
            if (o is null || IndexOf(owners[..k], o) >= 0)
            {
                continue; // nobody, or a customer already counted
            }
            if (!customers.TryGetIds(o, out var ids))
            {
                unknown = o;
                return false;
            }
            for (var i = 0; i < ids.Count; i++)
            {
                AddStrong(union, ids[i], rules);
            }
        }
        foreach (var type in rules.IdPriority)
        {
            if (rules.IsWeak(type))
            {
                continue;
            }
            var n = 0;
            foreach (var id in union)
            {
                n += id.Type == type ? 1 : 0;
            }
            if (n > rules.IdLimit(type))
            {
                return false;
            }
        }
        return true;
    }

    private static void AddStrong(List<LinkedId> union, LinkedId id, CustomerRules rules)
    {
        if (!rules.IsWeak(id.Type) && !union.Contains(id))
        {
            union.Add(id);
        }
    }

    private static int IndexOf(ReadOnlySpan<string?> owners, string owner)
    {
        for (var i = 0; i < owners.Length; i++)
        {
            if (string.Equals(owners[i], owner, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>True when <paramref name="ids"/> holds a strong id (a person's customer, not a device's anonymous one).</summary>
    public static bool HasStrongId(IReadOnlyList<LinkedId> ids, CustomerRules rules)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (!rules.IsWeak(ids[i].Type))
            {
                return true;
            }
        }
        return false;
    }
}
