namespace Siyu.Actors.Customers;

/// <summary>
/// Folding an absorbed customer into the survivor (contract: Identity). The result is what the
/// survivor would hold had it seen both histories:
/// - ids: union, under the same guard rails (the survivor's ids keep their place, the absorbed
///   one's extra ids beyond a limit are refused);
/// - merged_from: the absorbed id plus everything it had absorbed;
/// - created_at: the earlier one of those set (a customer that observed nothing has none); tags,
///   birthday: last-writer-wins per key; groups and contacts: both sides' joins and leaves per key
///   (the absorbed side's past intervals count for orders read "at order time" afterwards);
/// - stats: the sum, minus any order both had recorded (same order_id): it is counted once, and
///   refunds of it that only the absorbed side had seen are moved onto the survivor's copy;
/// - retained orders (each keeps the attribution decided when it was processed), recent touches
///   and the dedup window: union, then bounded as usual.
/// An order already dropped from one side's retained window cannot be recognised as shared;
/// that is the only way a merge can count an order twice, and only for orders older than
/// the retained window (100 orders / 400 days by default).
/// </summary>
public static class CustomerMerge
{
    public static CustomerState Fold(CustomerState survivor, CustomerState other, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(survivor);
        ArgumentNullException.ThrowIfNull(other);
        ArgumentNullException.ThrowIfNull(rules);
        var a = survivor;
        var b = other;
        var mergedFrom = a.MergedFrom.Append(b.CustomerId).Concat(b.MergedFrom)
            .Where(id => id != a.CustomerId)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToEquatableArray();
        if (b.IsNew)
        {
            return a with { MergedFrom = mergedFrom };
        }

        var (stats, orders) = FoldOrders(a, b);
        var (kept, prunedThrough) = Orders.Bound(orders, Later(a.OrdersPrunedThrough, b.OrdersPrunedThrough), rules);

        var seen = a.Seen.ToList();
        seen.AddRange(b.Seen.Where(x => !a.HasSeen(x.Key)));

        var (birthday, birthdayAt) = b.BirthdayAt is { } bAt && Lww.BirthdayWins(a, b.Birthday!.Value, bAt)
            ? (b.Birthday, b.BirthdayAt)
            : (a.Birthday, a.BirthdayAt);

        var merged = a with
        {
            CreatedAt = Earliest(a.CreatedAt, b.CreatedAt),
            Ids = IdentityRules.Union(a.Ids, IdentityRules.Filter(b.Ids, a.Ids, rules).New),
            MergedFrom = mergedFrom,
            Groups = Memberships.Merge(a.Groups, b.Groups, rules),
            Contacts = Memberships.Merge(a.Contacts, b.Contacts, rules),
            Tags = Lww.SetTags(a.Tags, b.Tags),
            Birthday = birthday,
            BirthdayAt = birthdayAt,
            Stats = stats,
            RecentOrders = kept,
            OrdersPrunedThrough = prunedThrough,
            Seen = SeenWindow.Prune(seen.ToArray(), rules),
            Touches = TouchMemory.Merge(a.Touches, b.Touches, stats.LastOrderAt, rules),
            Operations = Siyu.Actors.Operations.OperationsDecider.Merge(a.Operations, b.Operations, rules),
        };
        // The absorbed side's orders and touches arrive with their own copies of every id.
        return StateCompaction.Compact(merged);
    }

    private static (OrderStats Stats, List<RecentOrder> Orders) FoldOrders(CustomerState a, CustomerState b)
    {
        var stats = a.Stats.Plus(b.Stats);
        var orders = a.RecentOrders.ToList();
        foreach (var theirs in b.RecentOrders)
        {
            var i = orders.FindIndex(o => o.Key == theirs.Key);
            if (i < 0)
            {
                orders.Add(theirs);
                continue;
            }
            // Both counted this order: take out the absorbed side's copy and its refunds...
            stats = stats.RemoveOrder(theirs);
            var ours = orders[i];
            foreach (var refund in theirs.Refunds)
            {
                if (!ours.HasRefund(refund.Key))
                {
                    // ...and put back the refunds only it had seen, on the survivor's copy.
                    ours = ours.WithRefund(refund);
                    stats = stats.AddRefund(refund.Amount, ours.Channel);
                }
            }
            orders[i] = ours;
        }
        return (stats, orders);
    }

    // Unset (default) is no time at all: a customer handed over before it observed anything
    // (its version bumped by the hand-over alone) must not give the survivor year 1.
    private static DateTimeOffset Earliest(DateTimeOffset x, DateTimeOffset y) =>
        x == default ? y : y == default || x <= y ? x : y;

    private static DateTimeOffset? Later(DateTimeOffset? x, DateTimeOffset? y) =>
        x is { } a && (y is not { } b || a > b) ? a : y;
}
