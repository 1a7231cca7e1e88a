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
/// Turns the ids of a batch of events into customers. The rules are <see cref="IdentityDecider"/>
/// (pure); this class does their I/O. The common case costs one message per identity shard for
/// the whole batch, or nothing at all: ids the node has resolved before are answered from a
/// per-node cache of durable owners (safe, because an absorbed customer forwards to its
/// survivor, and an erased one answers "unknown" so the event is resolved again). Unknown ids
/// are looked up before anything is claimed, so a new id seen beside a known one joins that
/// customer instead of creating a throwaway one; then the new ids are claimed in one message per
/// shard (first claim wins). Events whose ids lead to several customers, lose a claim to a
/// concurrent event, or meet the guard rail take the slow path: merges into the oldest customer,
/// decided again on fresh answers (docs/architecture.md, "Identity and merges").
/// Only strong ids are looked up for an event that has them; its weak ids (device_id) travel
/// with it to be recorded, never indexed. An event with weak ids only goes to the anonymous
/// customer of its first weak id, the one customer that weak id's index entry names.
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
        // Weak-id keys read from the index rather than the cache: whether their owner is an
        // anonymous customer is checked once before the cache trusts it (an older version let
        // weak ids belong to customers with strong ids).
        HashSet<IdHash>? weakRead = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var ev = EventIdentity.Of(batch[i], rules);
            if (ev.IsEmpty)
            {
                results[i] = new Resolution(null, [], new NoUsableIdsException(Describe(ev.Refused)));
                continue;
            }
            var indexed = ev.Indexed;
            var keys = new IdHash[indexed.Length];
            for (var k = 0; k < keys.Length; k++)
            {
                var key = keys[k] = IdKeys.Of(indexed[k]);
                if (known.ContainsKey(key))
                {
                    continue;
                }
                if (_cache.TryGetValue(key, out var cached))
                {
                    known[key] = cached;
                    continue;
                }
                known[key] = null;
                Add(lookups, key, new IdOp(IdOpKind.Lookup, key));
                if (ev.WeakOnly)
                {
                    (weakRead ??= []).Add(key);
                }
            }
            prepared[i] = new Prepared(ev, keys);
        }
        foreach (var (key, owner) in await Send(lookups, ct))
        {
            known[key] = owner;
            if (weakRead is null || !weakRead.Contains(key))
            {
                Remember(key, owner);
            }
        }

        // What a customer already holds is asked once per customer for the whole batch: where a
        // new id may join it (within the id limits), and for a weak id's owner read from the index.
        var asking = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Count; i++)
        {
            if (prepared[i] is not { } p)
            {
                continue;
            }
            if (p.Event.WeakOnly)
            {
                if (weakRead is not null && weakRead.Contains(p.Keys[0]) && known[p.Keys[0]] is { } weakOwner)
                {
                    asking.Add(weakOwner);
                }
            }
            else if (SingleKnownOwner(p, known, out var unknown) is { } owner && unknown)
            {
                asking.Add(owner);
            }
        }
        var asked = new Dictionary<string, CustomerIdentity>(StringComparer.Ordinal);
        foreach (var identity in await Task.WhenAll(asking.Select(async c => (Asked: c, Now: await Canonical(c, ct)))))
        {
            asked[identity.Asked] = identity.Now;
        }

        // Decide each event in batch order; ids claimed by an earlier event of the batch count as known.
        var view = new BatchView(asked);
        var plan = new string?[batch.Count];
        var claims = new Dictionary<int, List<IdOp>>();
        var proposed = new Dictionary<IdHash, string>();
        var owners = new string?[rules.IdPriority.Count];
        var now = _clock.GetUtcNow();
        for (var i = 0; i < batch.Count; i++)
        {
            if (prepared[i] is not { } p)
            {
                continue;
            }
            if (p.Event.WeakOnly)
            {
                var key = p.Keys[0];
                var o = known[key] ?? proposed.GetValueOrDefault(key);
                if (o is null)
                {
                    plan[i] = NewCustomerId(now);
                    proposed[key] = plan[i]!;
                    Add(claims, key, new IdOp(IdOpKind.Claim, key, plan[i]));
                }
                else if (!asked.TryGetValue(o, out var identity))
                {
                    plan[i] = o; // cached (checked when it was read) or claimed earlier in this batch
                }
                else if (!IdentityDecider.HasStrongId(identity.Ids, rules))
                {
                    plan[i] = identity.CustomerId;
                    Remember(key, o);
                }
                // else: owned by a customer with strong ids (an older version's doing): the slow path takes it over
                continue;
            }
            var n = p.Keys.Length;
            for (var k = 0; k < n; k++)
            {
                var o = known[p.Keys[k]] ?? proposed.GetValueOrDefault(p.Keys[k]);
                owners[k] = o is not null && asked.TryGetValue(o, out var identity) ? identity.CustomerId : o;
            }
            var decision = IdentityDecider.Decide(p.Event.Strong, owners.AsSpan(0, n), view, rules);
            if (decision.Kept < n || decision.Verdict is IdentityVerdict.Merge or IdentityVerdict.NeedIds)
            {
                continue; // a merge, or the guard rail: decided again on fresh answers
            }
            var target = decision.Target ?? NewCustomerId(now);
            plan[i] = target;
            for (var k = 0; k < n; k++)
            {
                if (owners[k] is null)
                {
                    proposed[p.Keys[k]] = target;
                    Add(claims, p.Keys[k], new IdOp(IdOpKind.Claim, p.Keys[k], target));
                    view.Promise(target, p.Event.Strong[k]);
                }
            }
        }
        foreach (var (key, owner) in await Send(claims, ct))
        {
            known[key] = owner;
            // A weak id's claim is trusted only when it is ours (a new anonymous customer).
            if (weakRead is null || !weakRead.Contains(key) || proposed.GetValueOrDefault(key) == owner)
            {
                Remember(key, owner);
            }
        }

        for (var i = 0; i < batch.Count; i++)
        {
            if (prepared[i] is not { } p)
            {
                continue;
            }
            // Every id must now be durably owned by the planned customer (or by one merged into it);
            // a lost race, a merge or the guard rail goes slow.
            results[i] = plan[i] is { } c && Settled(p.Keys, c, known, asked)
                ? new Resolution(plan[i], p.Event.All, null)
                : await ResolveSlowly(p, ct);
        }
        return results;
    }

    /// <summary>The one customer the event's ids were found to belong to before this batch; null when none or several.</summary>
    private static string? SingleKnownOwner(Prepared p, Dictionary<IdHash, string?> known, out bool unknown)
    {
        string? owner = null;
        unknown = false;
        foreach (var key in p.Keys)
        {
            var o = known[key];
            if (o is null)
            {
                unknown = true;
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

    private static bool Settled(IdHash[] keys, string target, Dictionary<IdHash, string?> known, Dictionary<string, CustomerIdentity> asked)
    {
        foreach (var key in keys)
        {
            if (known[key] is not { } o || (o != target && !(asked.TryGetValue(o, out var id) && id.CustomerId == target)))
            {
                return false;
            }
        }
        return true;
    }

    private static string Describe(RefusedId[] refused)
    {
        var parts = new string[refused.Length];
        for (var i = 0; i < refused.Length; i++)
        {
            parts[i] = $"{refused[i].Type.WireName()}: {refused[i].Reason.WireName()}";
        }
        return string.Join(", ", parts);
    }

    private sealed record Prepared(EventIdentity Event, IdHash[] Keys);

    /// <summary>What the customers of a batch hold: as asked, plus the ids promised to them by earlier events of the batch.</summary>
    private sealed class BatchView : IIdentityView
    {
        private readonly Dictionary<string, IReadOnlyList<LinkedId>> _held = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<LinkedId>> _promised = new(StringComparer.Ordinal);

        public BatchView(Dictionary<string, CustomerIdentity> asked)
        {
            foreach (var identity in asked.Values)
            {
                _held[identity.CustomerId] = identity.Ids;
            }
        }

        public void Promise(string customerId, LinkedId id)
        {
            if (!_promised.TryGetValue(customerId, out var list))
            {
                _promised[customerId] = list = [];
            }
            list.Add(id);
        }

        public bool TryGetIds(string customerId, out IReadOnlyList<LinkedId> ids)
        {
            var held = _held.TryGetValue(customerId, out var h);
            var promised = _promised.TryGetValue(customerId, out var p);
            ids = held && promised ? [.. h!, .. p!] : held ? h! : promised ? p! : [];
            return held || promised;
        }
    }

    /// <summary>The ids each customer holds, as asked in one slow-path round.</summary>
    private sealed class AskedView(Dictionary<string, IReadOnlyList<LinkedId>> held) : IIdentityView
    {
        public bool TryGetIds(string customerId, out IReadOnlyList<LinkedId> ids)
        {
            var found = held.TryGetValue(customerId, out var h);
            ids = h ?? [];
            return found;
        }
    }

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

    private async Task<string?> One(IdOp op, bool remember, CancellationToken ct)
    {
        var reply = await identities.Ask<IdentityReply>(
            new IdentityRequest(IdentityShards.Of(op.Key, maxShards), new[] { op }), askTimeout, ct);
        var result = reply.Owners[0];
        if (remember)
        {
            Remember(op.Key, result);
        }
        return result;
    }

    /// <summary>
    /// Several customers, a lost race, or the guard rail: look everything up again, merge the
    /// customers the strong ids lead to into the oldest (unless that would break an id limit:
    /// then the event's lowest-priority ids give way), and claim what is still free.
    /// </summary>
    private async Task<Resolution> ResolveSlowly(Prepared prepared, CancellationToken ct)
    {
        if (prepared.Event.WeakOnly)
        {
            return await ResolveAnonymously(prepared, ct);
        }
        var strong = prepared.Event.Strong;
        var keys = prepared.Keys;
        var kept = strong.Length;
        var proposed = NewCustomerId(_clock.GetUtcNow());
        for (var round = 0; round < MaxRounds; round++)
        {
            var raw = new string?[kept];
            var owners = new string?[kept];
            var held = new Dictionary<string, IReadOnlyList<LinkedId>>(StringComparer.Ordinal);
            var canonical = new Dictionary<string, string>(StringComparer.Ordinal);
            for (var k = 0; k < kept; k++)
            {
                raw[k] = await One(new IdOp(IdOpKind.Lookup, keys[k]), remember: true, ct);
                if (raw[k] is not { } o)
                {
                    continue;
                }
                if (!canonical.TryGetValue(o, out var now))
                {
                    // Where it lives now (earlier merges leave pointers), and what it holds.
                    var identity = await Canonical(o, ct);
                    canonical[o] = now = identity.CustomerId;
                    held[now] = identity.Ids;
                }
                owners[k] = now;
            }
            var decision = IdentityDecider.Decide(strong.AsSpan(0, kept), owners, new AskedView(held), rules);
            kept = decision.Kept;
            string target;
            switch (decision.Verdict)
            {
                case IdentityVerdict.Merge:
                    var merged = new HashSet<string>(StringComparer.Ordinal) { decision.Target! };
                    for (var k = 0; k < kept; k++)
                    {
                        if (owners[k] is { } other && merged.Add(other))
                        {
                            await customers.Ask<MergedReply>(new MergeInto(other, decision.Target!), askTimeout, ct);
                        }
                    }
                    continue;
                case IdentityVerdict.NeedIds:
                    continue; // not expected: every owner was asked; ask again
                case IdentityVerdict.New:
                    target = proposed;
                    break;
                default:
                    target = decision.Target!;
                    break;
            }
            var settled = true;
            for (var k = 0; k < kept; k++)
            {
                var owner = raw[k] ?? await One(new IdOp(IdOpKind.Claim, keys[k], target), remember: true, ct);
                if (owner != target && (await Canonical(owner!, ct)).CustomerId != target)
                {
                    settled = false; // taken meanwhile by someone else: once more
                }
            }
            if (settled)
            {
                return new Resolution(target, prepared.Event.Keeping(kept), null);
            }
        }
        return new Resolution(null, prepared.Event.Keeping(kept), new InvalidOperationException(
            $"ids {string.Join(", ", prepared.Event.Keeping(kept))} did not settle on one customer after {MaxRounds} rounds"));
    }

    /// <summary>
    /// An event with weak ids only: the anonymous customer its first weak id names, or a new one.
    /// A weak id an older version let a customer with strong ids own is taken over by a new
    /// anonymous customer, so that person's profile collects no more of the device's anonymous use.
    /// </summary>
    private async Task<Resolution> ResolveAnonymously(Prepared prepared, CancellationToken ct)
    {
        var key = prepared.Keys[0];
        var proposed = NewCustomerId(_clock.GetUtcNow());
        for (var round = 0; round < MaxRounds; round++)
        {
            var owner = await One(new IdOp(IdOpKind.Lookup, key), remember: false, ct)
                ?? await One(new IdOp(IdOpKind.Claim, key, proposed), remember: false, ct);
            if (owner == proposed)
            {
                Remember(key, owner);
                return new Resolution(proposed, prepared.Event.All, null);
            }
            var identity = await Canonical(owner!, ct);
            if (!IdentityDecider.HasStrongId(identity.Ids, rules))
            {
                Remember(key, owner);
                return new Resolution(identity.CustomerId, prepared.Event.All, null);
            }
            if (await One(new IdOp(IdOpKind.Repoint, key, owner, proposed), remember: false, ct) == proposed)
            {
                Remember(key, proposed);
                return new Resolution(proposed, prepared.Event.All, null);
            }
        }
        return new Resolution(null, prepared.Event.All, new InvalidOperationException(
            $"ids {string.Join(", ", prepared.Event.All)} did not settle on one customer after {MaxRounds} rounds"));
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
public sealed class NoUsableIdsException(string refused) : Exception("no usable id: " + refused);
