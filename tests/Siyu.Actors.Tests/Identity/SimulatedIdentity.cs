using Siyu.Actors.Customers;
using Siyu.Actors.Identity;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Identity;

/// <summary>
/// The identity index and the customers as plain dictionaries, driven by the real pure rules
/// (<see cref="IdentityDecider"/>, <see cref="IdentityRules"/>) one event at a time: what the
/// resolver and the customers do, without actors, so thousands of processing orders run in
/// seconds. Customer ids are a counter, so ordinal order is creation order, as with real ids.
/// </summary>
public sealed class SimulatedIdentity(CustomerRules rules) : IIdentityView
{
    private sealed class Customer
    {
        public List<LinkedId> Ids = [];
        public Dictionary<string, decimal> Orders = new(StringComparer.Ordinal);
        public string? MergedInto;
    }

    private readonly Dictionary<LinkedId, string> _index = [];
    private readonly Dictionary<string, Customer> _customers = new(StringComparer.Ordinal);
    private int _next;

    public int Merges { get; private set; }

    public bool TryGetIds(string customerId, out IReadOnlyList<LinkedId> ids)
    {
        var found = _customers.TryGetValue(customerId, out var c);
        ids = c?.Ids ?? [];
        return found;
    }

    private string NewCustomer()
    {
        var id = $"c{++_next:D8}";
        _customers[id] = new Customer();
        return id;
    }

    private string Canonical(string id)
    {
        while (_customers[id].MergedInto is { } next)
        {
            id = next;
        }
        return id;
    }

    private string? OwnerOf(LinkedId id) => _index.TryGetValue(id, out var o) ? Canonical(o) : null;

    public void Process(InputEvent e)
    {
        var ev = EventIdentity.Of(e.Ids, rules);
        string target;
        var ids = ev.All;
        if (ev.WeakOnly)
        {
            var anchor = ev.Weak[0];
            if (OwnerOf(anchor) is { } owner)
            {
                target = owner;
            }
            else
            {
                target = NewCustomer();
                _index[anchor] = target;
            }
        }
        else
        {
            var owners = new string?[ev.Strong.Length];
            while (true)
            {
                for (var k = 0; k < owners.Length; k++)
                {
                    owners[k] = OwnerOf(ev.Strong[k]);
                }
                var d = IdentityDecider.Decide(ev.Strong, owners, this, rules);
                if (d.Verdict == IdentityVerdict.Merge)
                {
                    for (var k = 0; k < d.Kept; k++)
                    {
                        if (owners[k] is { } other && other != d.Target && _customers[other].MergedInto is null)
                        {
                            Fold(other, d.Target!);
                        }
                    }
                    continue;
                }
                if (d.Verdict == IdentityVerdict.NeedIds)
                {
                    throw new InvalidOperationException("the simulation knows every customer");
                }
                target = d.Target ?? NewCustomer();
                for (var k = 0; k < d.Kept; k++)
                {
                    if (owners[k] is null)
                    {
                        _index[ev.Strong[k]] = target; // first claim wins: nobody owned it
                    }
                }
                ids = ev.Keeping(d.Kept);
                break;
            }
        }
        // The customer's own decider: links the ids within its limits, counts the order once.
        var customer = _customers[target];
        customer.Ids.AddRange(IdentityRules.Filter(ids, customer.Ids, rules).New);
        if (e is OrderPlaced o)
        {
            customer.Orders.TryAdd(o.OrderId, o.Amount);
        }
    }

    /// <summary>As the merge does: the survivor takes the absorbed one's ids (within its limits) and history.</summary>
    private void Fold(string absorbed, string survivor)
    {
        var a = _customers[absorbed];
        var s = _customers[survivor];
        s.Ids.AddRange(IdentityRules.Filter(a.Ids, s.Ids, rules).New);
        foreach (var (order, amount) in a.Orders)
        {
            s.Orders.TryAdd(order, amount);
        }
        a.MergedInto = survivor;
        a.Ids = [];
        a.Orders = new(StringComparer.Ordinal);
        Merges++;
    }

    /// <summary>The customer an id leads to now, as a lookup answers (null: nobody).</summary>
    public string? CustomerOf(LinkedId id) => OwnerOf(id);

    /// <summary>The ids each customer not merged away holds, as its profile shows them.</summary>
    public Dictionary<string, IReadOnlyList<LinkedId>> Held() => _customers
        .Where(kv => kv.Value.MergedInto is null)
        .ToDictionary(kv => kv.Key, kv => (IReadOnlyList<LinkedId>)kv.Value.Ids.ToList(), StringComparer.Ordinal);

    /// <summary>
    /// The customers as the index shows them: each strong id's customer, and each weak id's
    /// anonymous one, with the orders they hold. Also checks the index and the customers agree.
    /// </summary>
    public Dictionary<string, ExpectedCustomer> Outcome()
    {
        var byCustomer = new Dictionary<string, List<IdentityPopulation.LinkedIdText>>(StringComparer.Ordinal);
        foreach (var (id, owner) in _index)
        {
            var c = Canonical(owner);
            if (!byCustomer.TryGetValue(c, out var list))
            {
                byCustomer[c] = list = [];
            }
            list.Add(new IdentityPopulation.LinkedIdText(id.Type, id.Value));
        }
        var result = new Dictionary<string, ExpectedCustomer>(StringComparer.Ordinal);
        foreach (var (c, indexed) in byCustomer)
        {
            var customer = _customers[c];
            var key = IdentityPopulation.CustomerKey(indexed);
            var held = IdentityPopulation.CustomerKey(customer.Ids.Select(i => new IdentityPopulation.LinkedIdText(i.Type, i.Value)));
            if (held != key && !key.StartsWith("anonymous ", StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"customer {c} holds {held} but the index gives it {key}");
            }
            result[key] = new ExpectedCustomer(key, customer.Orders.Keys.Order(StringComparer.Ordinal).ToList(), customer.Orders.Values.Sum());
        }
        return result;
    }
}
