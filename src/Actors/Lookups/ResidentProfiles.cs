using System.Collections.Concurrent;
using Siyu.Actors.Customers;

namespace Siyu.Actors.Lookups;

/// <summary>
/// The latest durable state of every customer resident on this node, written by the customers
/// after each save and read by lookups on any thread: a lookup never waits behind ingest, a
/// recovery or an actor's mailbox. A customer that leaves memory leaves this view too (lookups
/// then read the store).
/// </summary>
public sealed class ResidentProfiles
{
    private readonly ConcurrentDictionary<string, CustomerState> _states = new(StringComparer.Ordinal);

    public int Count => _states.Count;

    public void Set(CustomerState durable) => _states[durable.CustomerId] = durable;

    public void Remove(string customerId) => _states.TryRemove(customerId, out _);

    public bool TryGet(string customerId, out CustomerState state) => _states.TryGetValue(customerId, out state!);
}
