using System.Collections.Concurrent;
using System.Security.Cryptography;
using Akka.Actor;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Storage;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Identity;

/// <summary>The customer an event belongs to and the ids it may link there, or why it has none.</summary>
public readonly record struct Resolution(string? CustomerId, IReadOnlyList<LinkedId> Ids, Exception? Error);

/// <summary>
/// Turns the ids of a batch of events into customers. The common case costs one message per
/// identity shard for the whole batch, or nothing at all: ids the node has resolved before are
/// answered from a per-node cache of durable owners (safe, because an absorbed customer forwards
/// to its survivor, and an erased one answers "unknown" so the event is resolved again).
/// Unknown ids are looked up before anything is claimed, so a new id seen beside a known one
/// joins that customer instead of creating a throwaway one; then the new ids are claimed in one
/// message per shard (first claim wins). Events whose ids lead to several customers, or lose a
/// claim to a concurrent event, take the slow path: merges into the oldest customer, with the
/// per-type id limits as guard rails (docs/architecture.md, "Identity and merges").
/// </summary>
public sealed class IdentityResolver(IActorRef identities, IActorRef customers, CustomerRules rules, int maxShards, TimeSpan askTimeout,
    TimeProvider? clock = null, int cacheCapacity = 2_000_000)
{
    private const int MaxRounds = 16;
    private readonly TimeProvider _clock = clock ?? TimeProvider.System;
    private readonly ConcurrentDictionary<IdHash, string> _cache = new();
    private int _cached;

    /// <summary>Entries in the node's owner cache (diagnostics, benchmarks).</summary>
    public int CachedIds => _cache.Count;

    /// <summary>Drops cached owners of these ids (their customer was erased).</summary>
    public void Forget(IEnumerable<LinkedId> ids)
    {
        foreach (var id in ids)
        {
            if (_cache.TryRemove(IdKeys.Of(id), out _))
            {
                Interlocked.Decrement(ref _cached);
            }
        }
    }

    public async Task<Resolution> ResolveAsync(CustomerIds ids, CancellationToken ct) => (await ResolveAsync([ids], ct))[0];

    /// <summary>Resolves every event of a batch; the results are in the batch's order.</summary>
    public async Task<Resolution[]> ResolveAsync(IReadOnlyList<CustomerIds> batch, CancellationToken ct)
    {
        var results = new Resolution[batch.Count];
        var prepared = new Prepared?[batch.Count];
        var known = new Dictionary<IdHash, string?>();
        var lookups = new Dictionary<int, List<IdOp>>();
        for (var i = 0; i < batch.Count; i++)
        {
            var filtered = IdentityRules.Filter(batch[i], [], rules);
            if (filtered.Accepted.Count == 0)
            {
                results[i] = new Resolution(null, [], new NoUsableIdsException(filtered.Refused.Select(r => $"{r.Type.WireName()}: {r.Reason.WireName()}")));
                continue;
            }
            var keep = filtered.Accepted.OrderBy(id => rules.PriorityRank(id.Type)).ToList();
            var keys = new IdHash[keep.Count];
            for (var k = 0; k < keep.Count; k++)
            {
                keys[k] = IdKeys.Of(keep[k]);
                if (known.ContainsKey(keys[k]))
                {
                    continue;
                }
                if (_cache.TryGetValue(keys[k], out var cached))
                {
                    known[keys[k]] = cached;
                    continue;
                }
                known[keys[k]] = null;
                Add(lookups, keys[k], new IdOp(IdOpKind.Lookup, keys[k]));
            }
            prepared[i] = new Prepared(keep, keys);
        }
        foreach (var (key, owner) in await Send(lookups, ct))
        {
            known[key] = owner;
            Remember(key, owner);
        }

        // A new id beside ids of one known customer joins that customer, within the id limits:
        // what that customer already has is asked once per customer for the whole batch.
        var joining = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Count; i++)
        {
            if (prepared[i] is { } p && SingleOwner(p, known, null) is { } owner && Array.Exists(p.Keys, k => known[k] is null))
            {
                joining.Add(owner);
            }
        }
        var identities = new Dictionary<string, CustomerIdentity>(StringComparer.Ordinal);
        foreach (var identity in await Task.WhenAll(joining.Select(async c => (Asked: c, Now: await Canonical(c, ct)))))
        {
            identities[identity.Asked] = identity.Now;
        }

        // Decide each event in batch order; ids claimed by an earlier event of the batch count as known.
        var plan = new string?[batch.Count];
        var claims = new Dictionary<int, List<IdOp>>();
        var proposed = new Dictionary<IdHash, string>();
        var claimedFor = new Dictionary<string, List<LinkedId>>(StringComparer.Ordinal);
        var now = _clock.GetUtcNow();
        for (var i = 0; i < batch.Count; i++)
        {
            if (prepared[i] is not { } p)
            {
                continue;
            }
            var owner = SingleOwner(p, known, proposed);
            if (owner is null && Array.Exists(p.Keys, k => (known[k] ?? proposed.GetValueOrDefault(k)) is not null))
            {
                continue; // several customers: the slow path merges
            }
            var target = owner ?? NewCustomerId(now);
            var fresh = new List<LinkedId>();
            for (var k = 0; k < p.Keys.Length; k++)
            {
                if (known[p.Keys[k]] is null && !proposed.ContainsKey(p.Keys[k]))
                {
                    fresh.Add(p.Ids[k]);
                }
            }
            if (owner is not null && fresh.Count > 0)
            {
                // Join: the customer's ids (saved, and claimed for it earlier in this batch) plus these
                // must stay within the limits, or the slow path lets the lowest-priority id give way.
                var existing = identities.TryGetValue(owner, out var identity) ? identity.Ids.AsEnumerable() : [];
                target = identity?.CustomerId ?? owner;
                var union = existing.Concat(claimedFor.GetValueOrDefault(target) ?? []).Concat(p.Ids).Distinct().ToList();
                if (Enum.GetValues<IdType>().Any(t => union.Count(id => id.Type == t) > rules.IdLimit(t)))
                {
                    continue;
                }
            }
            plan[i] = target;
            foreach (var id in fresh)
            {
                var key = IdKeys.Of(id);
                proposed[key] = target;
                Add(claims, key, new IdOp(IdOpKind.Claim, key, target));
                (claimedFor.TryGetValue(target, out var list) ? list : claimedFor[target] = []).Add(id);
            }
        }
        foreach (var (key, owner) in await Send(claims, ct))
        {
            known[key] = owner;
            Remember(key, owner);
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (prepared[i] is not { } p)
            {
                continue;
            }
            // Every id must now be durably owned by the planned customer (or by one merged into it);
            // a lost race or a join over the limits goes slow.
            var settled = plan[i] is { } c && Array.TrueForAll(p.Keys, k =>
                known[k] == c || (known[k] is { } o && identities.TryGetValue(o, out var id) && id.CustomerId == c));
            results[i] = settled
                ? new Resolution(plan[i], p.Ids, null)
                : await ResolveSlowly(p, ct);
        }
        return results;
    }

    /// <summary>The one customer the event's ids already belong to; null when none or several.</summary>
    private static string? SingleOwner(Prepared p, Dictionary<IdHash, string?> known, Dictionary<IdHash, string>? proposed)
    {
        string? owner = null;
        foreach (var key in p.Keys)
        {
            var o = known[key] ?? proposed?.GetValueOrDefault(key);
            if (o is null)
            {
                continue;
            }
            if (owner is not null && owner != o)
            {
                return null;
            }
            owner = o;
        }
        return owner;
    }

    private sealed record Prepared(List<LinkedId> Ids, IdHash[] Keys);

    private void Add(Dictionary<int, List<IdOp>> byShard, IdHash key, IdOp op)
    {
        var shard = IdentityShards.Of(key, maxShards);
        if (!byShard.TryGetValue(shard, out var ops))
        {
            byShard[shard] = ops = [];
        }
        ops.Add(op);
    }

    /// <summary>One request per shard, all at once; the owner of each key afterwards.</summary>
    private async Task<List<(IdHash Key, string? Owner)>> Send(Dictionary<int, List<IdOp>> byShard, CancellationToken ct)
    {
        var result = new List<(IdHash, string?)>();
        if (byShard.Count == 0)
        {
            return result;
        }
        var requests = byShard.Select(kv => (Ops: kv.Value, Reply: identities.Ask<IdentityReply>(new IdentityRequest(kv.Key, kv.Value), askTimeout, ct))).ToList();
        foreach (var (ops, reply) in requests)
        {
            var owners = (await reply).Owners;
            for (var i = 0; i < ops.Count; i++)
            {
                result.Add((ops[i].Key, owners[i]));
            }
        }
        return result;
    }

    private void Remember(IdHash key, string? owner)
    {
        if (owner is null)
        {
            return; // only durable owners: "nobody" may change on another node at any time
        }
        // ConcurrentDictionary.Count takes every lock (it was 3% of the node's CPU here): count ourselves.
        if (_cache.TryAdd(key, owner))
        {
            if (Interlocked.Increment(ref _cached) > cacheCapacity)
            {
                _cache.Clear(); // crude but bounded; the index answers again
                Interlocked.Exchange(ref _cached, 0);
            }
        }
        else
        {
            _cache[key] = owner;
        }
    }

    private async Task<string?> One(IdOpKind kind, IdHash key, string? owner, CancellationToken ct)
    {
        var reply = await identities.Ask<IdentityReply>(
            new IdentityRequest(IdentityShards.Of(key, maxShards), new[] { new IdOp(kind, key, owner) }), askTimeout, ct);
        var result = reply.Owners[0];
        Remember(key, result);
        return result;
    }

    /// <summary>
    /// Several customers, or a lost race: look everything up again, merge the customers the ids
    /// lead to into the oldest (unless that would break an id limit: then the event's
    /// lowest-priority id gives way), and claim what is still free for the survivor.
    /// </summary>
    private async Task<Resolution> ResolveSlowly(Prepared prepared, CancellationToken ct)
    {
        var keep = prepared.Ids.ToList();
        var keys = prepared.Keys.ToList();
        var proposed = NewCustomerId(_clock.GetUtcNow());
        for (var round = 0; round < MaxRounds; round++)
        {
            var owners = new string?[keys.Count];
            for (var k = 0; k < keys.Count; k++)
            {
                owners[k] = await One(IdOpKind.Lookup, keys[k], null, ct);
            }
            var distinct = owners.OfType<string>().Distinct(StringComparer.Ordinal).ToList();
            string target;
            if (distinct.Count == 0)
            {
                target = proposed;
            }
            else
            {
                // Where each of them lives now (earlier merges leave pointers).
                var now = await Task.WhenAll(distinct.Select(c => Canonical(c, ct)));
                var customersNow = now.DistinctBy(i => i.CustomerId).ToList();
                // Guard rail: a merge or a join that would give one customer more ids of a type than
                // allowed (two member_ids: the shared tablet) drops the event's lowest-priority id instead.
                var union = customersNow.SelectMany(c => c.Ids).Concat(keep).Distinct().ToList();
                var broken = Enum.GetValues<IdType>().Any(t => union.Count(id => id.Type == t) > rules.IdLimit(t));
                if (broken && keep.Count > 1)
                {
                    keep.RemoveAt(keep.Count - 1);
                    keys.RemoveAt(keys.Count - 1);
                    continue;
                }
                if (customersNow.Count > 1)
                {
                    var survivor = customersNow.Select(c => c.CustomerId).Min(StringComparer.Ordinal)!;
                    foreach (var other in customersNow.Where(c => c.CustomerId != survivor))
                    {
                        await customers.Ask<MergedReply>(new MergeInto(other.CustomerId, survivor), askTimeout, ct);
                    }
                    continue;
                }
                target = customersNow[0].CustomerId;
            }
            var settled = true;
            for (var k = 0; k < keys.Count; k++)
            {
                var owner = owners[k] ?? await One(IdOpKind.Claim, keys[k], target, ct);
                if (owner != target && (await Canonical(owner!, ct)).CustomerId != target)
                {
                    settled = false; // taken meanwhile by someone else: once more
                }
            }
            if (settled)
            {
                return new Resolution(target, keep, null);
            }
        }
        return new Resolution(null, keep, new InvalidOperationException($"ids {string.Join(", ", keep)} did not settle on one customer after {MaxRounds} rounds"));
    }

    private async Task<CustomerIdentity> Canonical(string customerId, CancellationToken ct)
    {
        var identity = await customers.Ask<CustomerIdentity>(new GetIdentity(customerId), askTimeout, ct);
        for (var hops = 0; identity.MergedInto is { } next && hops < MaxRounds; hops++)
        {
            if (identity.HandOverPending)
            {
                // Its history is still on its way to the survivor (a hand-over resumed after a
                // crash): wait for it, so the event that led here is not acknowledged, and its
                // offset committed, before the survivor durably holds that history.
                await customers.Ask<MergedReply>(new MergeInto(identity.CustomerId, next), askTimeout, ct);
            }
            identity = await customers.Ask<CustomerIdentity>(new GetIdentity(next), askTimeout, ct);
        }
        return identity;
    }

    /// <summary>Creation time first (12 hex digits of Unix ms), then randomness: ordinal order is age order.</summary>
    public static string NewCustomerId(DateTimeOffset now) =>
        $"c{now.ToUnixTimeMilliseconds():x12}{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(5))}";
}

/// <summary>An event none of whose ids may be used (all blocked values, for example).</summary>
public sealed class NoUsableIdsException(IEnumerable<string> refused)
    : Exception("no usable id: " + string.Join(", ", refused));
