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
        var at = evt.At.ToUniversalTime();
        var version = state.Version + 1;
        var updatedAt = at > state.UpdatedAt ? at : state.UpdatedAt;
        // Each branch copies the state once, with the version and updated_at (the state is a
        // record of ~400 bytes: a copy per step was most of what an event allocated).
        switch (evt)
        {
            case ObservedEvent observed:
                return ApplyObserved(state, observed, rules, version, updatedAt);
            case OperationsEvent operations:
            {
                var ops = OperationsDecider.ApplyOps(state, operations, rules);
                return state with
                {
                    Operations = ReferenceEquals(ops, state.Ops) ? state.Operations : OperationsDecider.OrNull(ops),
                    Version = version,
                    UpdatedAt = updatedAt,
                };
            }
            case CustomerAbsorbed absorbed:
                return CustomerMerge.Fold(state, absorbed.Other, rules) with { Version = version, UpdatedAt = updatedAt };
            case HandOverStarted started:
                return state with { MergedInto = started.SurvivorId, HandOverPending = true, Version = version, UpdatedAt = updatedAt };
            case MergedIntoRecorded merged:
                return new CustomerState
                {
                    // The survivor now holds the history; keeping it here too would count it twice
                    // in anything that sums profiles. Only the pointer (and created_at) remain.
                    CustomerId = state.CustomerId,
                    CreatedAt = state.CreatedAt,
                    MergedInto = merged.SurvivorId,
                    // Its own change events still go out under its id (the "merged" one among them).
                    ChangeOutbox = state.ChangeOutbox,
                    ChangesRecorded = state.ChangesRecorded,
                    Version = version,
                    UpdatedAt = updatedAt,
                };
            default:
                throw new ArgumentOutOfRangeException(nameof(evt), evt.GetType().Name, "unknown customer event");
        }
    }

    /// <summary>Applies events in order (replay, or the events one Decide returned).</summary>
    public static CustomerState ApplyAll(CustomerState state, IEnumerable<CustomerEvent> events, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events is IReadOnlyList<CustomerEvent> list)
        {
            // What Decide returns: indexed, so no enumerator is allocated per delivery.
            for (var i = 0; i < list.Count; i++)
            {
                state = Apply(state, list[i], rules);
            }
            return state;
        }
        foreach (var e in events)
        {
            state = Apply(state, e, rules);
        }
        return state;
    }

    // ---------------------------------------------------------------- Decide

    private static IReadOnlyList<CustomerEvent> DecideObserve(CustomerState state, InputEvent evt, DateTimeOffset at, CustomerRules rules, CampaignCatalog campaigns)
    {
        var key = EventKeys.Event(evt.Channel, evt.EventId);
        if (state.HasSeen(key))
        {
            return [];
        }
        var occurred = evt.OccurredAt.ToUniversalTime();
        var (newIds, refusedIds) = IdentityRules.FilterNew(evt.Ids, state.Ids, rules);

        // At most one change and one notice come from the event's type. Every event is built
        // once with its final fields (no lists, no `with` copies): this runs for every event.
        // A change made here always remembers the input; only an unmatched refund (a notice,
        // no change) must stay re-deliverable.
        ObservedEvent? change = null;
        CustomerNotice? notice = null;
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
                    notice = new OrderRejected(evt.EventId, evt.Channel, o.OrderId, OrderRejected.OlderThanRetainedOrders) { At = at };
                    break;
                }
                change = new OrderRecorded(orderKey, o.OrderId, o.Amount, evt.Channel, OrderAttribution.Decide(state, o, campaigns))
                {
                    EventId = evt.EventId,
                    StoreId = evt.StoreId,
                    Payment = o.Payment,
                    Items = o.Items.ToEquatableArray(),
                    At = at,
                    OccurredAt = occurred,
                    EventKey = key,
                };
                break;

            case OrderRefunded r:
                var order = state.FindOrder(EventKeys.Order(r.OrderId));
                if (order is not { } matched)
                {
                    notice = new RefundUnmatched(evt.EventId, evt.Channel, r.OrderId, r.Amount, occurred, RefundUnmatchedReasons.UnknownOrder) { At = at };
                }
                else if (matched.HasRefund(key))
                {
                    // already applied (the window had forgotten the event id)
                }
                else if (r.Amount > matched.Amount - matched.Refunded)
                {
                    notice = new RefundUnmatched(evt.EventId, evt.Channel, r.OrderId, r.Amount, occurred, RefundUnmatchedReasons.ExceedsOrder) { At = at };
                }
                else
                {
                    // The order's attribution as decided when it was processed: reversed, not re-decided.
                    change = new RefundRecorded(matched.Key, r.OrderId, key, r.Amount, matched.Channel, matched.Attribution)
                    {
                        EventId = evt.EventId,
                        StoreId = evt.StoreId,
                        OrderPayment = matched.Payment,
                        At = at,
                        OccurredAt = occurred,
                        EventKey = key,
                    };
                }
                break;

            // Every join and leave not yet known is recorded, also one older than the latest change:
            // it does not change the current status but the interval an order falls in.
            case GroupJoined g when Memberships.Adds(state.Groups, g.GroupId, occurred, active: true, rules):
                change = new GroupJoinRecorded(g.GroupId) { At = at, OccurredAt = occurred, EventKey = key };
                break;

            case GroupLeft g when Memberships.Adds(state.Groups, g.GroupId, occurred, active: false, rules):
                change = new GroupLeaveRecorded(g.GroupId) { At = at, OccurredAt = occurred, EventKey = key };
                break;

            case ContactAdded c when Memberships.Adds(state.Contacts, c.GuideId, occurred, active: true, rules):
                change = new ContactAddRecorded(c.GuideId) { At = at, OccurredAt = occurred, EventKey = key };
                break;

            case ContactRemoved c when Memberships.Adds(state.Contacts, c.GuideId, occurred, active: false, rules):
                change = new ContactRemoveRecorded(c.GuideId) { At = at, OccurredAt = occurred, EventKey = key };
                break;

            case Tagged t:
                var winners = Lww.TagWinners(state.Tags, t.Tags, occurred);
                if (winners.Count > 0)
                {
                    change = new TagsRecorded(winners) { At = at, OccurredAt = occurred, EventKey = key };
                }
                break;

            case ProfileUpdated p when p.Birthday is { } birthday && Lww.BirthdayWins(state, birthday, occurred):
                // The name is not part of the profile contract: personal data not needed is not kept.
                change = new BirthdayRecorded(birthday) { At = at, OccurredAt = occurred, EventKey = key };
                break;

            case SolitaireJoined j:
                change = Touch(state, evt, TouchKind.SolitaireJoin, j.CampaignId, j.GroupId, campaigns, at, occurred, key, items: j.Items.ToEquatableArray());
                break;

            case FlashClaimed f:
                change = Touch(state, evt, TouchKind.FlashClaim, f.CampaignId, f.GroupId, campaigns, at, occurred, key, sku: f.Sku);
                break;

            case CouponClaimed cc:
                change = Touch(state, evt, TouchKind.CouponClaim, cc.CampaignId, null, campaigns, at, occurred, key, couponId: cc.CouponId);
                break;

            case ServiceDone or MessageSent:
                change = OperationsDecider.Observe(state, evt, occurred, rules, at, key);
                break;

            // page_view, bind_phone, app_open, login, message: only their ids matter.
        }

        // An unmatched refund must stay re-deliverable: the caller retries it after its grace period.
        ulong? remembered = notice is RefundUnmatched ? null : key;
        var linked = newIds.IsEmpty ? null : new IdsLinked(newIds) { At = at, OccurredAt = occurred, EventKey = remembered };
        if (change is null && linked is null && IsEarliest(state, occurred))
        {
            change = new EventSeen { At = at, OccurredAt = occurred, EventKey = remembered };
        }
        var refused = refusedIds.IsEmpty ? null : new IdsRefused(evt.EventId, null, refusedIds) { At = at };

        // Changes first (ids, then the event's own), then notices (refused ids, then the event's).
        var count = (linked is null ? 0 : 1) + (change is null ? 0 : 1) + (refused is null ? 0 : 1) + (notice is null ? 0 : 1);
        if (count == 0)
        {
            return [];
        }
        var result = new CustomerEvent[count];
        var n = 0;
        if (linked is not null)
        {
            result[n++] = linked;
        }
        if (change is not null)
        {
            result[n++] = change;
        }
        if (refused is not null)
        {
            result[n++] = refused;
        }
        if (notice is not null)
        {
            result[n] = notice;
        }
        return result;
    }

    /// <summary>A touch; its ids are the catalog's / the state's instances when they know them (shared, not copied per customer).</summary>
    private static TouchRecorded Touch(CustomerState state, InputEvent evt, TouchKind kind, string? campaignId, string? groupId, CampaignCatalog campaigns,
        DateTimeOffset at, DateTimeOffset occurred, ulong key, EquatableArray<LineItem> items = default, string? sku = null, string? couponId = null) =>
        new(kind, campaigns.Find(campaignId)?.CampaignId ?? StateCompaction.Share(state, campaignId), StateCompaction.Share(state, groupId))
        {
            EventId = evt.EventId,
            Channel = evt.Channel,
            StoreId = evt.StoreId,
            Items = items,
            Sku = sku,
            CouponId = couponId,
            At = at,
            OccurredAt = occurred,
            EventKey = key,
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

    /// <summary>
    /// Whether <paramref name="occurred"/> becomes created_at. Unset is not only a new state: a
    /// customer merged away before it observed anything hands over a state with none (issue #15).
    /// </summary>
    private static bool IsEarliest(CustomerState state, DateTimeOffset occurred) =>
        state.CreatedAt == default || occurred < state.CreatedAt;

    /// <summary>
    /// An input's change: remembers the input (dedup window, created_at), then its own effect.
    /// Every field that may change is computed first and the state is copied once.
    /// </summary>
    private static CustomerState ApplyObserved(CustomerState s, ObservedEvent evt, CustomerRules rules, long version, DateTimeOffset updatedAt)
    {
        var occurred = evt.OccurredAt.ToUniversalTime();
        var createdAt = IsEarliest(s, occurred) ? occurred : s.CreatedAt;
        var seen = evt.EventKey is { } key ? SeenWindow.Add(s.Seen, new SeenEvent(key, occurred.UtcDateTime), rules) : s.Seen;
        var ids = s.Ids;
        var stats = s.Stats;
        var orders = s.RecentOrders;
        var prunedThrough = s.OrdersPrunedThrough;
        var touches = s.Touches;
        var groups = s.Groups;
        var contacts = s.Contacts;
        var tags = s.Tags;
        var birthday = s.Birthday;
        var birthdayAt = s.BirthdayAt;
        var operations = s.Operations;
        switch (evt)
        {
            case IdsLinked linked:
                ids = IdentityRules.Union(s.Ids, linked.Ids.AsSpan());
                break;
            case EventSeen:
                break;
            case OrderRecorded o:
            {
                if (s.FindOrder(o.OrderKey) is not null)
                {
                    break; // the same order again
                }
                var order = new RecentOrder(o.OrderKey, o.Amount, o.Channel, occurred, StateCompaction.Share(s, o.Attribution), default, o.Payment);
                stats = s.Stats.AddOrder(order.Amount, order.Channel, order.OccurredAt);
                (orders, prunedThrough) = Orders.Add(s.RecentOrders, order, s.OrdersPrunedThrough, rules);
                // A new order starts its after-sale service plan (the jeweller's 3-3-3).
                operations = OperationsDecider.OrNull(OperationsDecider.Plan(s.Ops, s.CustomerId, o.OrderKey, o.OrderId, occurred, o.At.ToUniversalTime(), rules));
                if (!touches.IsEmpty)
                {
                    touches = TouchMemory.Bound(touches, stats.LastOrderAt, rules);
                }
                break;
            }
            case TouchRecorded t when t.Kind.Attributes() && t.CampaignId is not null && t.GroupId is not null:
                touches = TouchMemory.Add(
                    s.Touches,
                    new RecentTouch(StateCompaction.Share(s, t.CampaignId)!, StateCompaction.Share(s, t.GroupId)!, occurred.UtcDateTime),
                    s.Stats.LastOrderAt,
                    rules);
                break;
            case TouchRecorded:
                break; // a coupon claim: only remembered (dedup) and projected to the touches table
            case RefundRecorded r:
                (stats, orders) = Orders.Refund(s.Stats, s.RecentOrders, r);
                break;
            case GroupJoinRecorded g:
                groups = Memberships.Set(s.Groups, g.GroupId, new MembershipChange(occurred, true), rules);
                break;
            case GroupLeaveRecorded g:
                groups = Memberships.Set(s.Groups, g.GroupId, new MembershipChange(occurred, false), rules);
                break;
            case ContactAddRecorded c:
                contacts = Memberships.Set(s.Contacts, c.GuideId, new MembershipChange(occurred, true), rules);
                break;
            case ContactRemoveRecorded c:
                contacts = Memberships.Set(s.Contacts, c.GuideId, new MembershipChange(occurred, false), rules);
                break;
            case TagsRecorded t:
                tags = Lww.SetTags(s.Tags, t.Tags);
                break;
            case BirthdayRecorded b:
                birthday = b.Birthday;
                birthdayAt = occurred;
                break;
            case ServiceDoneRecorded or GuideTouchRecorded:
            {
                var ops = OperationsDecider.ApplyOps(s, evt, rules);
                operations = ReferenceEquals(ops, s.Ops) ? s.Operations : OperationsDecider.OrNull(ops);
                break;
            }
            default:
                throw new ArgumentOutOfRangeException(nameof(evt), evt.GetType().Name, "unknown customer event");
        }
        return s with
        {
            CreatedAt = createdAt,
            Seen = seen,
            Version = version,
            UpdatedAt = updatedAt,
            Ids = ids,
            Stats = stats,
            RecentOrders = orders,
            OrdersPrunedThrough = prunedThrough,
            Touches = touches,
            Groups = groups,
            Contacts = contacts,
            Tags = tags,
            Birthday = birthday,
            BirthdayAt = birthdayAt,
            Operations = operations,
        };
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

    /// <summary>
    /// The same for an applied <see cref="TagsRecorded"/>: the state's tags sorted by name, each
    /// name once (what <see cref="SetTags(EquatableArray{TagValue}, IEnumerable{TagValue})"/> leaves), are merged without a dictionary.
    /// </summary>
    public static EquatableArray<TagValue> SetTags(EquatableArray<TagValue> tags, EquatableArray<TagValue> winners)
    {
        var current = tags.AsSpan();
        for (var i = 1; i < current.Length; i++)
        {
            if (string.CompareOrdinal(current[i - 1].Name, current[i].Name) >= 0)
            {
                return SetTags(tags, (IEnumerable<TagValue>)winners); // not the state's own order
            }
        }
        var items = new TagValue[current.Length + winners.Count];
        current.CopyTo(items);
        var n = current.Length;
        foreach (var w in winners.AsSpan())
        {
            var at = -1;
            for (var i = 0; i < n; i++)
            {
                if (items[i].Name == w.Name)
                {
                    at = i;
                    break;
                }
            }
            if (at < 0)
            {
                items[n++] = w;
            }
            else if (TagWins(items[at], w))
            {
                items[at] = w;
            }
        }
        // Names are distinct, so the order by name is the only one.
        Array.Sort(items, 0, n, TagNameOrder.Instance);
        return EquatableArray.Own(n == items.Length ? items : items[..n]);
    }

    /// <summary>The tags of a tag event that win over <paramref name="tags"/> (at <paramref name="occurred"/>), sorted by name.</summary>
    public static EquatableArray<TagValue> TagWinners(EquatableArray<TagValue> tags, IReadOnlyDictionary<string, string> incoming, DateTimeOffset occurred)
    {
        TagValue[]? winners = null;
        var n = 0;
        foreach (var (name, value) in incoming)
        {
            var tag = new TagValue(name, value, occurred);
            if (TagWins(tags, tag))
            {
                (winners ??= new TagValue[incoming.Count])[n++] = tag;
            }
        }
        if (winners is null)
        {
            return default;
        }
        // A dictionary's names are distinct: the order by name is the only one.
        Array.Sort(winners, 0, n, TagNameOrder.Instance);
        return EquatableArray.Own(n == winners.Length ? winners : winners[..n]);
    }

    private sealed class TagNameOrder : IComparer<TagValue>
    {
        public static readonly TagNameOrder Instance = new();

        public int Compare(TagValue x, TagValue y) => string.CompareOrdinal(x.Name, y.Name);
    }

    public static bool BirthdayWins(CustomerState s, DateOnly birthday, DateTimeOffset at) =>
        s.BirthdayAt is not { } cur || at > cur || (at == cur && s.Birthday is { } b && birthday > b);
}

/// <summary>Lifetime stats and the bounded list of retained orders.</summary>
internal static class Orders
{
    /// <summary>
    /// <paramref name="orders"/> with a new <paramref name="order"/>, bounded: what
    /// <see cref="Bound"/> gives for them, building only the array that is kept (the retained
    /// orders are already sorted by occurred_at then key, so the order is inserted, not re-sorted).
    /// </summary>
    public static (EquatableArray<RecentOrder> Kept, DateTimeOffset? PrunedThrough) Add(
        EquatableArray<RecentOrder> orders, RecentOrder order, DateTimeOffset? prunedThrough, CustomerRules rules)
    {
        var span = orders.AsSpan();
        for (var i = 1; i < span.Length; i++)
        {
            if (Compare(span[i - 1], span[i]) > 0)
            {
                return Bound(orders.Append(order), prunedThrough, rules); // not sorted: the general way
            }
        }
        // After every order that sorts before or equal (OrderBy is stable: the new one came last).
        var at = span.Length;
        while (at > 0 && Compare(span[at - 1], order) > 0)
        {
            at--;
        }
        var count = span.Length + 1;
        var floor = Get(span, at, order, count - 1).OccurredAt - rules.RecentOrderHorizon;
        var firstKept = Math.Max(0, count - rules.MaxRecentOrders);
        while (firstKept < count && Get(span, at, order, firstKept).OccurredAt < floor)
        {
            firstKept++;
        }
        var kept = new RecentOrder[count - firstKept];
        for (var i = firstKept; i < count; i++)
        {
            kept[i - firstKept] = Get(span, at, order, i);
        }
        if (firstKept == 0)
        {
            return (EquatableArray.Own(kept), prunedThrough);
        }
        var newestDropped = Get(span, at, order, firstKept - 1).OccurredAt;
        var watermark = prunedThrough is { } p && p > newestDropped ? p : newestDropped;
        return (EquatableArray.Own(kept), watermark);
    }

    /// <summary>Item <paramref name="i"/> of <paramref name="span"/> with <paramref name="order"/> inserted at <paramref name="at"/>.</summary>
    private static RecentOrder Get(ReadOnlySpan<RecentOrder> span, int at, in RecentOrder order, int i) =>
        i < at ? span[i] : i == at ? order : span[i - 1];

    /// <summary>The order of the retained orders: occurred_at, then key.</summary>
    private static int Compare(in RecentOrder x, in RecentOrder y)
    {
        var c = x.OccurredAt.CompareTo(y.OccurredAt);
        return c != 0 ? c : x.Key.CompareTo(y.Key);
    }

    /// <summary>The totals and orders after a refund (the orders unchanged when it was applied already, or its order is gone).</summary>
    public static (OrderStats Stats, EquatableArray<RecentOrder> Orders) Refund(OrderStats stats, EquatableArray<RecentOrder> orders, RefundRecorded r)
    {
        // The order may be gone if this is a replay under smaller bounds: the totals still follow the event.
        RecentOrder[]? changed = null;
        var span = orders.AsSpan();
        for (var i = 0; i < span.Length; i++)
        {
            if (span[i].Key == r.OrderKey)
            {
                if (span[i].HasRefund(r.RefundKey))
                {
                    return (stats, orders);
                }
                changed ??= span.ToArray();
                changed[i] = span[i].WithRefund(new RefundEntry(r.RefundKey, r.Amount));
            }
        }
        return (stats.AddRefund(r.Amount, r.OrderChannel), changed is null ? orders : EquatableArray.Own(changed));
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
