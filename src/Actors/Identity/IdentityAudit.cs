using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Identity;

/// <summary>One person as the events define them: strong ids that events carried together.</summary>
public sealed record AuditPerson(int Number, IReadOnlyList<LinkedId> Ids);

/// <summary>A customer that holds the ids of more than one person (what an older node's device link did).</summary>
public sealed record MixedCustomer(string CustomerId, IReadOnlyList<AuditPerson> People);

/// <summary>A person whose ids lead to several customers (or partly to none): kept apart by the id limits, or not yet processed.</summary>
public sealed record SplitPerson(AuditPerson Person, IReadOnlyList<string> Customers, IReadOnlyList<LinkedId> Unknown);

public sealed record IdentityAuditReport(int People, int Customers, IReadOnlyList<MixedCustomer> Mixed, IReadOnlyList<SplitPerson> Split);

/// <summary>
/// Checks the customers a node holds against the rule that makes identity order-independent
/// (issue 18): a customer is the strong ids that events carried together, weak ids never link.
/// Fed the events of the input topics (<see cref="Add"/>), it groups their strong ids into people
/// (union-find); given where each id leads now and what each customer holds
/// (<see cref="Compare"/>), it names the customers holding the ids of more than one person. A
/// node of this version never makes one; a node from before weak ids did, when a shared
/// device's id pulled a new app_user_id into whoever owned the device. `siyu check-identity` runs
/// it against a node's lookup API (README "Checking identity").
/// </summary>
public sealed class IdentityAudit(CustomerRules rules)
{
    private readonly Dictionary<LinkedId, LinkedId> _parent = [];

    /// <summary>Events read (with at least one strong id).</summary>
    public int Events { get; private set; }

    /// <summary>Adds one event's ids (phones already hashed, as ingest stores them).</summary>
    public void Add(CustomerIds ids)
    {
        var strong = EventIdentity.Of(ids, rules).Strong;
        if (strong.Length == 0)
        {
            return;
        }
        Events++;
        var root = Find(strong[0]);
        for (var i = 1; i < strong.Length; i++)
        {
            var other = Find(strong[i]);
            if (other != root)
            {
                _parent[other] = root;
            }
        }
    }

    /// <summary>Every person, numbered from 1 in the order of their first id (by priority, then value), ids in priority order.</summary>
    public IReadOnlyList<AuditPerson> People()
    {
        var groups = new Dictionary<LinkedId, List<LinkedId>>();
        foreach (var id in _parent.Keys.ToList())
        {
            var root = Find(id);
            if (!groups.TryGetValue(root, out var list))
            {
                groups[root] = list = [];
            }
            list.Add(id);
        }
        var ordered = groups.Values
            .Select(g => g.OrderBy(i => rules.PriorityRank(i.Type)).ThenBy(i => i.Value, StringComparer.Ordinal).ToList())
            .OrderBy(g => rules.PriorityRank(g[0].Type)).ThenBy(g => g[0].Value, StringComparer.Ordinal)
            .ToList();
        return ordered.Select((g, i) => new AuditPerson(i + 1, g)).ToList();
    }

    /// <param name="people">From <see cref="People"/>.</param>
    /// <param name="customerOf">The customer each strong id leads to now (null: nobody).</param>
    /// <param name="held">The strong ids each customer's profile holds.</param>
    public static IdentityAuditReport Compare(IReadOnlyList<AuditPerson> people,
        IReadOnlyDictionary<LinkedId, string?> customerOf, IReadOnlyDictionary<string, IReadOnlyList<LinkedId>> held)
    {
        var personOf = new Dictionary<LinkedId, AuditPerson>();
        foreach (var p in people)
        {
            foreach (var id in p.Ids)
            {
                personOf[id] = p;
            }
        }
        // Which people each customer has ids of: the ids that lead to it, and the ids it holds.
        var peopleOf = new Dictionary<string, SortedDictionary<int, AuditPerson>>(StringComparer.Ordinal);
        void Note(string customer, AuditPerson person)
        {
            if (!peopleOf.TryGetValue(customer, out var set))
            {
                peopleOf[customer] = set = [];
            }
            set.TryAdd(person.Number, person);
        }
        var split = new List<SplitPerson>();
        foreach (var p in people)
        {
            var customers = new SortedSet<string>(StringComparer.Ordinal);
            var unknown = new List<LinkedId>();
            foreach (var id in p.Ids)
            {
                if (customerOf.GetValueOrDefault(id) is { } c)
                {
                    customers.Add(c);
                    Note(c, p);
                }
                else
                {
                    unknown.Add(id);
                }
            }
            if (customers.Count > 1 || unknown.Count > 0)
            {
                split.Add(new SplitPerson(p, [.. customers], unknown));
            }
        }
        foreach (var (customer, ids) in held)
        {
            foreach (var id in ids)
            {
                if (personOf.TryGetValue(id, out var p))
                {
                    Note(customer, p);
                }
            }
        }
        var mixed = peopleOf
            .Where(kv => kv.Value.Count > 1)
            .OrderBy(kv => kv.Key, StringComparer.Ordinal)
            .Select(kv => new MixedCustomer(kv.Key, [.. kv.Value.Values]))
            .ToList();
        return new IdentityAuditReport(people.Count, peopleOf.Count, mixed, split);
    }

    private LinkedId Find(LinkedId id)
    {
        if (!_parent.TryGetValue(id, out var parent))
        {
            _parent[id] = id;
            return id;
        }
        while (parent != id)
        {
            var grand = _parent[parent];
            _parent[id] = grand; // path halving
            id = parent;
            parent = grand;
        }
        return id;
    }
}
