using Siyu.Actors.Customers;
using Siyu.Actors.Identity;
using Siyu.Actors.Storage;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Lookups;

/// <summary>
/// Lookups from memory: the owner of an id from the identity shard resident on this node, the
/// customer's durable state from its resident actor's last save; what is not resident here is
/// read from the store (every node shares it). No actor is asked, so a lookup never waits behind
/// ingest, a customer's mailbox or a recovery, and never shows state that is not durable.
/// </summary>
public sealed class CustomerLookup(ResidentIndex index, ResidentProfiles profiles, Func<CustomerStore> store, int maxShards)
{
    private const int MaxHops = 16;

    /// <summary>The customer that owns the id (maybe one merged into another since), or null.</summary>
    public async ValueTask<string?> OwnerOfAsync(IdType type, string value, CancellationToken ct)
    {
        var key = IdKeys.Of(type, value);
        if (index.TryGetOwner(IdentityShards.Of(key, maxShards), key, out var owner))
        {
            return owner;
        }
        var rows = await store().LoadOwnersAsync([key], ct);
        return rows.Count > 0 ? rows[0].Owner : null;
    }

    /// <summary>The customer as it is durably now, following merges to the survivor; null if unknown or erased.</summary>
    public async ValueTask<CustomerState?> CustomerAsync(string customerId, CancellationToken ct)
    {
        var id = customerId;
        for (var hop = 0; hop < MaxHops; hop++)
        {
            if (!profiles.TryGet(id, out var state))
            {
                var rows = await store().LoadCustomersAsync([id], ct);
                if (rows.Count == 0 || rows[0].State is not { } bytes)
                {
                    return null; // unknown, or erased (a tombstone)
                }
                state = CustomerSnapshot.Deserialize(bytes);
            }
            if (state.MergedInto is { } next)
            {
                id = next;
                continue;
            }
            return state.IsNew ? null : state;
        }
        return null;
    }

    /// <summary>The customer that owns the id now, or null.</summary>
    public async ValueTask<CustomerState?> ByIdAsync(IdType type, string value, CancellationToken ct) =>
        await OwnerOfAsync(type, value, ct) is { } owner ? await CustomerAsync(owner, ct) : null;
}
