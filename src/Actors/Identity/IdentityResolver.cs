using System.Security.Cryptography;
using Akka.Actor;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Identity;

/// <summary>The customer an event belongs to, and the ids it may link there.</summary>
public sealed record Resolution(string CustomerId, IReadOnlyList<LinkedId> Ids, IReadOnlyList<LinkedId> Dropped);

/// <summary>
/// Turns an event's ids into one customer. Each id is claimed at its identity entity (the first
/// claim wins, atomically per id). If the ids belong to different customers, the younger ones are
/// merged into the oldest: customer ids start with their creation time, so the smaller id is the
/// older customer. That order never changes, so resolvers racing over
/// overlapping ids all pick the same survivor and merges cannot form a cycle.
/// Guard rail: if merging would give a customer more ids of a type than allowed (two member_ids,
/// a sixth device_id: the shared in-store tablet), the event's lowest-priority id is dropped
/// instead, and the rest are resolved again.
/// </summary>
public sealed class IdentityResolver(IActorRef identities, IActorRef customers, CustomerRules rules, TimeSpan askTimeout)
{
    private const int MaxRounds = 16;

    public async Task<Resolution> ResolveAsync(CustomerIds ids, CancellationToken ct)
    {
        var filtered = IdentityRules.Filter(ids, [], rules);
        var keep = filtered.Accepted.OrderBy(id => rules.PriorityRank(id.Type)).ToList();
        var dropped = new List<LinkedId>();
        if (keep.Count == 0)
        {
            throw new NoUsableIdsException(filtered.Refused.Select(r => $"{r.Type.WireName()}: {r.Reason.WireName()}"));
        }
        var proposed = NewCustomerId(DateTimeOffset.UtcNow);
        for (var round = 0; round < MaxRounds; round++)
        {
            // The highest-priority id first: the rest are then proposed to its owner, so a new id
            // seen beside a known one joins that customer instead of creating one to merge away.
            var first = await identities.Ask<IdOwner>(new ClaimId(IdKey.Of(keep[0].Type, keep[0].Value), proposed), askTimeout, ct);
            var rest = await Task.WhenAll(keep.Skip(1).Select(id =>
                identities.Ask<IdOwner>(new ClaimId(IdKey.Of(id.Type, id.Value), first.Owner!), askTimeout, ct)));
            IdOwner[] owners = [first, .. rest];
            var distinct = owners.Select(o => o.Owner!).Distinct(StringComparer.Ordinal).ToList();
            if (distinct.Count == 1)
            {
                return new Resolution(distinct[0], keep, dropped);
            }
            // Several customers: find where each one lives now (earlier merges leave pointers).
            var identitiesNow = await Task.WhenAll(distinct.Select(c => Canonical(c, ct)));
            var customersNow = identitiesNow.DistinctBy(i => i.CustomerId).ToList();
            if (customersNow.Count == 1)
            {
                return new Resolution(customersNow[0].CustomerId, keep, dropped);
            }
            var union = customersNow.SelectMany(c => c.Ids).Concat(keep).Distinct().ToList();
            var broken = Enum.GetValues<IdType>().Where(t => union.Count(id => id.Type == t) > rules.IdLimit(t)).ToList();
            if (broken.Count > 0 && keep.Count > 1)
            {
                var lowest = keep[^1];
                keep.RemoveAt(keep.Count - 1);
                dropped.Add(lowest);
                continue;
            }
            var survivor = customersNow.Select(c => c.CustomerId).Min(StringComparer.Ordinal)!;
            foreach (var other in customersNow.Where(c => c.CustomerId != survivor))
            {
                await customers.Ask<MergedReply>(new MergeInto(other.CustomerId, survivor), askTimeout, ct);
            }
        }
        throw new InvalidOperationException($"ids {string.Join(", ", keep)} did not settle on one customer after {MaxRounds} rounds");
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
