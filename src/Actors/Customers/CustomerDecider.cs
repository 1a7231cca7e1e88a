using Siyu.Actors.Campaigns;
using Siyu.Actors.Operations;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>
/// The customer entity's business rules as two pure functions (no clock, no I/O, no Akka):
/// <see cref="Decide"/> turns a command into domain events given the current state, and
/// <see cref="Apply"/> folds one event into the state. The actor is a thin shell: it persists
/// the state-changing events Decide returns, applies them, and acts on the notices.
///
/// Ordering: counts (orders, revenue, refunds, ids) do not depend on arrival order; "latest"
/// things (group and contact membership, owning guide, tags, birthday) are decided by
/// occurred_at with a deterministic tie-break, so late and out-of-order events converge to
/// the state in-order delivery gives. Only first-come id limits depend on arrival order, and
/// an order's attribution: the contract decides it when the order is processed, from what the
/// customer's state holds then (a touch or join that arrives after the order does not re-decide it).
/// </summary>
public static class CustomerDecider
{
    /// <summary>Decide without campaigns (an empty catalog): no order is direct or last_touch.</summary>
    public static IReadOnlyList<CustomerEvent> Decide(CustomerState state, CustomerCommand command, CustomerRules rules) =>
        Decide(state, command, rules, CampaignCatalog.Empty);

    /// <summary>
    /// The events <paramref name="command"/> produces. <paramref name="campaigns"/> is the current
    /// campaign catalog: orders are attributed against it (<see cref="OrderAttribution"/>) and
    /// touches of known campaigns share its id instances.
    /// </summary>
    public static IReadOnlyList<CustomerEvent> Decide(CustomerState state, CustomerCommand command, CustomerRules rules, CampaignCatalog campaigns)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(command);
        ArgumentNullException.ThrowIfNull(rules);
        ArgumentNullException.ThrowIfNull(campaigns);
        var at = command.At.ToUniversalTime();
        if (command is MarkMergedInto mark)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(mark.SurvivorId);
            return mark.SurvivorId == state.CustomerId || (mark.SurvivorId == state.MergedInto && !state.HandOverPending)
                ? []
                : [new MergedIntoRecorded(mark.SurvivorId) { At = at }];
        }
        if (command is BeginHandOver begin)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(begin.SurvivorId);
            return begin.SurvivorId == state.CustomerId || state.MergedInto is not null
                ? []
                : [new HandOverStarted(begin.SurvivorId) { At = at }];
        }
        if (state.MergedInto is { } survivor)
        {
            return [new RedirectRequired(survivor, command) { At = at }];
        }
        return command switch
        {
            Observe observe => DecideObserve(state, observe.Event ?? throw new ArgumentException("Observe needs an event", nameof(command)), at, rules, campaigns),
            Tick tick => OperationsDecider.Tick(state, tick.At, rules),
            Absorb absorb => DecideAbsorb(state, absorb.Other ?? throw new ArgumentException("Absorb needs the other customer's state", nameof(command)), at, rules),
            _ => throw new ArgumentOutOfRangeException(nameof(command), command.GetType().Name, "unknown customer command"),
        };
    }

    public static CustomerState Apply(CustomerState state, CustomerEvent evt, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(evt);
        ArgumentNullException.ThrowIfNull(rules);
        if (evt is CustomerNotice)
        {
            return state;
        }
        var next = evt switch
        {
            ObservedEvent observed => ApplyObserved(Remember(state, observed, rules), observed, rules),
            OperationsEvent operations => OperationsDecider.Apply(state, operations, rules),
            CustomerAbsorbed absorbed => CustomerMerge.Fold(state, absorbed.Other, rules),
            HandOverStarted started => state with { MergedInto = started.SurvivorId, HandOverPending = true },
            MergedIntoRecorded merged => new CustomerState
            {
                // The survivor now holds the history; keeping it here too would count it twice
                // in anything that sums profiles. Only the pointer (and created_at) remain.
                CustomerId = state.CustomerId,
                CreatedAt = state.CreatedAt,
                MergedInto = merged.SurvivorId,
            },
            _ => throw new ArgumentOutOfRangeException(nameof(evt), evt.GetType().Name, "unknown customer event"),
        };
        var at = evt.At.ToUniversalTime();
        return next with { Version = state.Version + 1, UpdatedAt = at > state.UpdatedAt ? at : state.UpdatedAt };
    }

    /// <summary>Applies events in order (replay, or the events one Decide returned).</summary>
    public static CustomerState ApplyAll(CustomerState state, IEnumerable<CustomerEvent> events, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(events);
        foreach (var e in events)
        {
            state = Apply(state, e, rules);
        }
        return state;
    }

    // ---------------------------------------------------------------- Decide

    private static List<CustomerEvent> DecideObserve(CustomerState state, InputEvent evt, DateTimeOffset at, CustomerRules rules, CampaignCatalog campaigns)
    {
        var key = EventKeys.Event(evt.Channel, evt.EventId);
        if (state.HasSeen(key))
        {
            return [];
        }
        var occurred = evt.OccurredAt.ToUniversalTime();
        var changes = new List<ObservedEvent>(3);
        var notices = new List<CustomerNotice>(1);

        var ids = IdentityRules.Filter(evt.Ids, state.Ids, rules);
        if (ids.New.Count > 0)
        {
            changes.Add(new IdsLinked(ids.New));
        }
        if (ids.Refused.Count > 0)
        {
            notices.Add(new IdsRefused(evt.EventId, null, ids.Refused));
        }

        switch (evt)
        {
            case OrderPlaced o:
                var orderKey = EventKeys.Order(o.OrderId);
                if (state.FindOrder(orderKey) is not null)
                {
                    break; // the same order reported again (another event_id): counted once
                }
                if (state.OrdersPrunedThrough is { } pruned && occurred <= pruned)
                {
                    notices.Add(new OrderRejected(evt.EventId, evt.Channel, o.OrderId, OrderRejected.OlderThanRetainedOrders));
                    break;
                }
                changes.Add(new OrderRecorded(orderKey, o.OrderId, o.Amount, evt.Channel, OrderAttribution.Decide(state, o, campaigns))
                {
                    EventId = evt.EventId,
                    StoreId = evt.StoreId,
                    Payment = o.Payment,
                    Items = o.Items.ToEquatableArray(),
                });
                break;

            case OrderRefunded r:
                var order = state.FindOrder(EventKeys.Order(r.OrderId));
                if (order is not { } matched)
                {
                    notices.Add(new RefundUnmatched(evt.EventId, evt.Channel, r.OrderId, r.Amount, occurred, RefundUnmatchedReasons.UnknownOrder));
                }
                else if (matched.HasRefund(key))
                {
                    // already applied (the window had forgotten the event id)
                }
                else if (r.Amount > matched.Amount - matched.Refunded)
                {
                    notices.Add(new RefundUnmatched(evt.EventId, evt.Channel, r.OrderId, r.Amount, occurred, RefundUnmatchedReasons.ExceedsOrder));
                }
                else
                {
                    // The order's attribution as decided when it was processed: reversed, not re-decided.
                    changes.Add(new RefundRecorded(matched.Key, r.OrderId, key, r.Amount, matched.Channel, matched.Attribution)
                    {
                        EventId = evt.EventId,
                        StoreId = evt.StoreId,
                        OrderPayment = matched.Payment,
                    });
                }
                break;

            // Every join and leave not yet known is recorded, also one older than the latest change:
            // it does not change the current status but the interval an order falls in.
            case GroupJoined g when Memberships.Adds(state.Groups, g.GroupId, occurred, active: true, rules):
                changes.Add(new GroupJoinRecorded(g.GroupId));
                break;

            case GroupLeft g when Memberships.Adds(state.Groups, g.GroupId, occurred, active: false, rules):
                changes.Add(new GroupLeaveRecorded(g.GroupId));
                break;

            case ContactAdded c when Memberships.Adds(state.Contacts, c.GuideId, occurred, active: true, rules):
                changes.Add(new ContactAddRecorded(c.GuideId));
                break;

            case ContactRemoved c when Memberships.Adds(state.Contacts, c.GuideId, occurred, active: false, rules):
                changes.Add(new ContactRemoveRecorded(c.GuideId));
                break;

            case Tagged t:
                var winners = t.Tags
                    .Select(kv => new TagValue(kv.Key, kv.Value, occurred))
                    .Where(tag => Lww.TagWins(state.Tags, tag))
                    .OrderBy(tag => tag.Name, StringComparer.Ordinal)
                    .ToEquatableArray();
                if (winners.Count > 0)
                {
                    changes.Add(new TagsRecorded(winners));
                }
                break;

            case ProfileUpdated p when p.Birthday is { } birthday && Lww.BirthdayWins(state, birthday, occurred):
                // The name is not part of the profile contract: personal data not needed is not kept.
                changes.Add(new BirthdayRecorded(birthday));
                break;

            case SolitaireJoined j:
                changes.Add(Touch(state, evt, TouchKind.SolitaireJoin, j.CampaignId, j.GroupId, campaigns) with { Items = j.Items.ToEquatableArray() });
                break;

            case FlashClaimed f:
                changes.Add(Touch(state, evt, TouchKind.FlashClaim, f.CampaignId, f.GroupId, campaigns) with { Sku = f.Sku });
                break;

            case CouponClaimed cc:
                changes.Add(Touch(state, evt, TouchKind.CouponClaim, cc.CampaignId, null, campaigns) with { CouponId = cc.CouponId });
                break;

            case ServiceDone or MessageSent:
                if (OperationsDecider.Observe(state, evt, occurred, rules) is { } operations)
                {
                    changes.Add(operations);
                }
                break;

            // page_view, bind_phone, app_open, login, message: only their ids matter.
        }

        if (changes.Count == 0 && IsEarliest(state, occurred))
        {
            changes.Add(new EventSeen());
        }
        // An unmatched refund must stay re-deliverable: the caller retries it after its grace period.
        ulong? remembered = notices.Any(n => n is RefundUnmatched) ? null : key;
        var result = new List<CustomerEvent>(changes.Count + notices.Count);
        result.AddRange(changes.Select(c => c with { At = at, OccurredAt = occurred, EventKey = remembered }));
        result.AddRange(notices.Select(n => n with { At = at }));
        return result;
    }

    /// <summary>A touch; its ids are the catalog's / the state's instances when they know them (shared, not copied per customer).</summary>
    private static TouchRecorded Touch(CustomerState state, InputEvent evt, TouchKind kind, string? campaignId, string? groupId, CampaignCatalog campaigns) =>
        new(kind, campaigns.Find(campaignId)?.CampaignId ?? StateCompaction.Share(state, campaignId), StateCompaction.Share(state, groupId))
        {
            EventId = evt.EventId,
            Channel = evt.Channel,
            StoreId = evt.StoreId,
        };

    private static List<CustomerEvent> DecideAbsorb(CustomerState state, CustomerState other, DateTimeOffset at, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (other.CustomerId == state.CustomerId || state.MergedFrom.Contains(other.CustomerId))
        {
            return []; // itself, or already absorbed (a redelivered merge)
        }
        var result = new List<CustomerEvent> { new CustomerAbsorbed(other) { At = at } };
        var refused = IdentityRules.Filter(other.Ids, state.Ids, rules).Refused;
        if (refused.Count > 0)
        {
            result.Add(new IdsRefused(null, other.CustomerId, refused) { At = at });
        }
        return result;
    }

    // ---------------------------------------------------------------- Apply

    private static CustomerState Remember(CustomerState state, ObservedEvent evt, CustomerRules rules)
    {
        var occurred = evt.OccurredAt.ToUniversalTime();
        var s = IsEarliest(state, occurred) ? state with { CreatedAt = occurred } : state;
        return evt.EventKey is { } key
            ? s with { Seen = SeenWindow.Add(s.Seen, new SeenEvent(key, occurred.UtcDateTime), rules) }
            : s;
    }

    /// <summary>
    /// Whether <paramref name="occurred"/> becomes created_at. Unset is not only a new state: a
    /// customer merged away before it observed anything hands over a state with none (issue #15).
    /// </summary>
    private static bool IsEarliest(CustomerState state, DateTimeOffset occurred) =>
        state.CreatedAt == default || occurred < state.CreatedAt;

    private static CustomerState ApplyObserved(CustomerState s, ObservedEvent evt, CustomerRules rules)
    {
        var occurred = evt.OccurredAt.ToUniversalTime();
        switch (evt)
        {
            case IdsLinked linked:
                return s with { Ids = IdentityRules.Union(s.Ids, linked.Ids) };
            case EventSeen:
                return s;
            case OrderRecorded o:
            {
                var added = Orders.Add(s, new RecentOrder(o.OrderKey, o.Amount, o.Channel, occurred, StateCompaction.Share(s, o.Attribution), default, o.Payment), rules);
                if (ReferenceEquals(added, s))
                {
                    return s; // the same order again
                }
                // A new order starts its after-sale service plan (the jeweller's 3-3-3).
                added = added.WithOps(OperationsDecider.Plan(added.Ops, added.CustomerId, o.OrderKey, o.OrderId, occurred, o.At.ToUniversalTime(), rules));
                return added.Touches.IsEmpty ? added : added with { Touches = TouchMemory.Bound(added.Touches, added.Stats.LastOrderAt, rules) };
            }
            case TouchRecorded t when t.Kind.Attributes() && t.CampaignId is not null && t.GroupId is not null:
                return s with
                {
                    Touches = TouchMemory.Add(
                        s.Touches,
                        new RecentTouch(StateCompaction.Share(s, t.CampaignId)!, StateCompaction.Share(s, t.GroupId)!, occurred.UtcDateTime),
                        s.Stats.LastOrderAt,
                        rules),
                };
            case TouchRecorded:
                return s; // a coupon claim: only remembered (dedup) and projected to the touches table
            case RefundRecorded r:
                return Orders.Refund(s, r);
            case GroupJoinRecorded g:
                return s with { Groups = Memberships.Set(s.Groups, g.GroupId, new MembershipChange(occurred, true), rules) };
            case GroupLeaveRecorded g:
                return s with { Groups = Memberships.Set(s.Groups, g.GroupId, new MembershipChange(occurred, false), rules) };
            case ContactAddRecorded c:
                return s with { Contacts = Memberships.Set(s.Contacts, c.GuideId, new MembershipChange(occurred, true), rules) };
            case ContactRemoveRecorded c:
                return s with { Contacts = Memberships.Set(s.Contacts, c.GuideId, new MembershipChange(occurred, false), rules) };
            case TagsRecorded t:
                return s with { Tags = Lww.SetTags(s.Tags, t.Tags) };
            case BirthdayRecorded b:
                return s with { Birthday = b.Birthday, BirthdayAt = occurred };
            case ServiceDoneRecorded or GuideTouchRecorded:
                return OperationsDecider.Apply(s, evt, rules);
            default:
                throw new ArgumentOutOfRangeException(nameof(evt), evt.GetType().Name, "unknown customer event");
        }
    }
}

/// <summary>
/// Group memberships and guide contacts as a short history of changes per key (see
/// <see cref="Membership"/>): the same changes give the same entries whatever their arrival order,
/// and a merge is the union of both sides' changes.
/// </summary>
internal static class Memberships
{
    /// <summary>
    /// Whether (id, at, active) adds anything: an unknown key (a removal of an unknown entry is
    /// kept as a tombstone), or a change of a known key not yet recorded that its bounded history
    /// keeps (a full history keeps the newest changes, so an older one would be dropped at once).
    /// </summary>
    public static bool Adds(EquatableArray<Membership> set, string id, DateTimeOffset at, bool active, CustomerRules rules)
    {
        foreach (var m in set.AsSpan())
        {
            if (m.Id == id)
            {
                if (m.Has(at, active))
                {
                    return false;
                }
                var oldest = m.Earlier.IsEmpty ? new MembershipChange(m.At, m.Active) : m.Earlier[0];
                return m.Earlier.Count + 1 < rules.MaxMembershipChanges || new MembershipChange(at, active).CompareTo(oldest) > 0;
            }
        }
        return true;
    }

    /// <summary>Records <paramref name="change"/> for <paramref name="id"/> (entries sorted by id), then bounds the tombstones.</summary>
    public static EquatableArray<Membership> Set(EquatableArray<Membership> set, string id, MembershipChange change, CustomerRules rules)
    {
        var items = set.AsSpan();
        var at = 0;
        while (at < items.Length && string.CompareOrdinal(items[at].Id, id) < 0)
        {
            at++;
        }
        Membership[] next;
        if (at < items.Length && items[at].Id == id)
        {
            next = items.ToArray();
            next[at] = With(items[at], change, rules.MaxMembershipChanges);
        }
        else
        {
            next = new Membership[items.Length + 1];
            items[..at].CopyTo(next);
            next[at] = new Membership(id, change.At, change.Active);
            items[at..].CopyTo(next.AsSpan(at + 1));
        }
        return BoundTombstones(next, rules.MaxTombstones);
    }

    /// <summary>Both sides' changes per key (the absorbed customer's past intervals come along).</summary>
    public static EquatableArray<Membership> Merge(EquatableArray<Membership> a, EquatableArray<Membership> b, CustomerRules rules)
    {
        var byId = new SortedDictionary<string, Membership>(StringComparer.Ordinal);
        foreach (var m in a)
        {
            byId[m.Id] = m;
        }
        foreach (var m in b)
        {
            if (!byId.TryGetValue(m.Id, out var cur))
            {
                byId[m.Id] = m;
                continue;
            }
            foreach (var c in m.Earlier)
            {
                cur = With(cur, c, rules.MaxMembershipChanges);
            }
            byId[m.Id] = With(cur, new MembershipChange(m.At, m.Active), rules.MaxMembershipChanges);
        }
        var merged = new Membership[byId.Count];
        byId.Values.CopyTo(merged, 0);
        return BoundTombstones(merged, rules.MaxTombstones);
    }

    /// <summary><paramref name="m"/> with one more change, sorted, without repeats, the newest <paramref name="max"/> kept.</summary>
    private static Membership With(Membership m, MembershipChange change, int max)
    {
        if (m.Has(change.At, change.Active))
        {
            return m;
        }
        var earlier = m.Earlier.AsSpan();
        var all = new MembershipChange[earlier.Length + 2];
        earlier.CopyTo(all);
        all[^2] = new MembershipChange(m.At, m.Active);
        all[^1] = change;
        Array.Sort(all); // at most MaxMembershipChanges + 1 items
        var kept = all.Length > max ? all.AsSpan(all.Length - max) : all.AsSpan();
        var last = kept[^1];
        return new Membership(m.Id, last.At, last.Active, kept.Length == 1 ? default : EquatableArray.Own(kept[..^1].ToArray()));
    }

    /// <summary>Keeps only the newest <paramref name="maxTombstones"/> removed entries (ties: the smaller id stays).</summary>
    private static EquatableArray<Membership> BoundTombstones(Membership[] items, int maxTombstones)
    {
        var tombstones = 0;
        foreach (var m in items)
        {
            if (!m.Active)
            {
                tombstones++;
            }
        }
        if (tombstones <= maxTombstones)
        {
            return EquatableArray.Own(items);
        }
        var dropped = items.Where(m => !m.Active)
            .OrderByDescending(m => m.At).ThenBy(m => m.Id, StringComparer.Ordinal)
            .Skip(maxTombstones)
            .Select(m => m.Id)
            .ToHashSet(StringComparer.Ordinal);
        return items.Where(m => !dropped.Contains(m.Id)).ToEquatableArray();
    }
}

/// <summary>Last-writer-wins on occurred_at, with deterministic tie-breaks (order-independent).</summary>
internal static class Lww
{
    /// <summary>A tag wins when newer, or equally new with the ordinally larger value (ties are rare but must not depend on arrival).</summary>
    public static bool TagWins(EquatableArray<TagValue> tags, TagValue candidate)
    {
        foreach (var t in tags.AsSpan())
        {
            if (t.Name == candidate.Name)
            {
                return TagWins(t, candidate);
            }
        }
        return true;
    }

    public static bool TagWins(TagValue current, TagValue candidate) =>
        candidate.At > current.At || (candidate.At == current.At && string.CompareOrdinal(candidate.Value, current.Value) > 0);

    public static EquatableArray<TagValue> SetTags(EquatableArray<TagValue> tags, IEnumerable<TagValue> winners)
    {
        var byName = tags.ToDictionary(t => t.Name, StringComparer.Ordinal);
        foreach (var w in winners)
        {
            if (!byName.TryGetValue(w.Name, out var cur) || TagWins(cur, w))
            {
                byName[w.Name] = w;
            }
        }
        return byName.Values.OrderBy(t => t.Name, StringComparer.Ordinal).ToEquatableArray();
    }

    public static bool BirthdayWins(CustomerState s, DateOnly birthday, DateTimeOffset at) =>
        s.BirthdayAt is not { } cur || at > cur || (at == cur && s.Birthday is { } b && birthday > b);
}

/// <summary>Lifetime stats and the bounded list of retained orders.</summary>
internal static class Orders
{
    public static CustomerState Add(CustomerState s, RecentOrder order, CustomerRules rules)
    {
        if (s.FindOrder(order.Key) is not null)
        {
            return s;
        }
        var stats = s.Stats.AddOrder(order.Amount, order.Channel, order.OccurredAt);
        var (kept, prunedThrough) = Bound(s.RecentOrders.Append(order), s.OrdersPrunedThrough, rules);
        return s with { Stats = stats, RecentOrders = kept, OrdersPrunedThrough = prunedThrough };
    }

    public static CustomerState Refund(CustomerState s, RefundRecorded r)
    {
        // The order may be gone if this is a replay under smaller bounds: the totals still follow the event.
        var orders = s.RecentOrders.ToArray();
        for (var i = 0; i < orders.Length; i++)
        {
            if (orders[i].Key == r.OrderKey)
            {
                if (orders[i].HasRefund(r.RefundKey))
                {
                    return s;
                }
                orders[i] = orders[i].WithRefund(new RefundEntry(r.RefundKey, r.Amount));
            }
        }
        return s with { Stats = s.Stats.AddRefund(r.Amount, r.OrderChannel), RecentOrders = EquatableArray.Own(orders) };
    }

    /// <summary>
    /// Keeps orders that are both within RecentOrderHorizon of the newest order and among the
    /// newest MaxRecentOrders (by occurred_at); returns the new watermark of dropped orders.
    /// </summary>
    public static (EquatableArray<RecentOrder> Kept, DateTimeOffset? PrunedThrough) Bound(
        IEnumerable<RecentOrder> orders, DateTimeOffset? prunedThrough, CustomerRules rules)
    {
        var sorted = orders.OrderBy(o => o.OccurredAt).ThenBy(o => o.Key).ToList();
        if (sorted.Count == 0)
        {
            return (default, prunedThrough);
        }
        var floor = sorted[^1].OccurredAt - rules.RecentOrderHorizon;
        var firstKept = Math.Max(0, sorted.Count - rules.MaxRecentOrders);
        while (firstKept < sorted.Count && sorted[firstKept].OccurredAt < floor)
        {
            firstKept++;
        }
        if (firstKept == 0)
        {
            return (EquatableArray.Own(sorted.ToArray()), prunedThrough);
        }
        var newestDropped = sorted[firstKept - 1].OccurredAt;
        var watermark = prunedThrough is { } p && p > newestDropped ? p : newestDropped;
        return (EquatableArray.Own(sorted.Skip(firstKept).ToArray()), watermark);
    }
}
