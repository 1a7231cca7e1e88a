using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Operations;

/// <summary>
/// Private-domain operations as pure functions of (state, now, rules), in the style of
/// <see cref="CustomerDecider"/>: no clock, no I/O, no Akka.
/// <list type="bullet">
/// <item><see cref="Observe"/>: service_done and message_sent become events;</item>
/// <item><see cref="Plan"/>: a new order starts its service tasks (applied with the order);</item>
/// <item><see cref="Tick"/>: what the clock decides at "now" (due tasks and reminders within the
/// contact cap, missed tasks, churn, audiences);</item>
/// <item><see cref="NextWake"/>: the earliest "now" at which Tick would decide something new,
/// which the actor registers with the durable due index;</item>
/// <item><see cref="Apply"/>: folds an operations event into the state and queues its notices.</item>
/// </list>
/// Everything fires once: what was announced is part of the state (a fired task, the churn state,
/// the reminded occasion, the audiences), so a Tick after a restart decides nothing again.
/// </summary>
public static class OperationsDecider
{
    /// <summary>Thresholds are "strictly after"; wake a moment later so the tick sees them crossed.</summary>
    internal static readonly TimeSpan Epsilon = TimeSpan.FromSeconds(1);

    // ------------------------------------------------------------------ input events

    /// <summary>The event an input of operations produces (null: none, e.g. service_done with no open task of that name).</summary>
    public static ObservedEvent? Observe(CustomerState state, InputEvent evt, DateTimeOffset occurred, CustomerRules rules) =>
        Observe(state, evt, occurred, rules, at: default, eventKey: null, stamp: false);

    /// <summary>The same, built with the fields the decider gives every change (one object, no copy).</summary>
    internal static ObservedEvent? Observe(CustomerState state, InputEvent evt, DateTimeOffset occurred, CustomerRules rules, DateTimeOffset at, ulong eventKey) =>
        Observe(state, evt, occurred, rules, at, eventKey, stamp: true);

    private static ObservedEvent? Observe(CustomerState state, InputEvent evt, DateTimeOffset occurred, CustomerRules rules, DateTimeOffset at, ulong? eventKey, bool stamp)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(rules);
        switch (evt)
        {
            case ServiceDone d:
                // The earliest-due open task of that name (tasks are sorted by due time).
                foreach (var t in state.Ops.Tasks)
                {
                    if (t.Task == d.Task)
                    {
                        var r = rules.Operations;
                        var outcome = occurred <= t.DueAt + r.OnTimeWithin ? ServiceOutcomes.OnTime
                            : occurred <= t.DueAt + r.MissedAfter ? ServiceOutcomes.Late
                            : ServiceOutcomes.Missed;
                        return new ServiceDoneRecorded(t.OrderKey, t.Task, d.GuideId, outcome) { At = at, OccurredAt = stamp ? occurred : default, EventKey = eventKey };
                    }
                }
                return null;
            case MessageSent m:
                return new GuideTouchRecorded(m.GuideId, evt.EventId) { At = at, OccurredAt = stamp ? occurred : default, EventKey = eventKey };
            default:
                return null;
        }
    }

    /// <summary>
    /// The tasks a new order starts (the guide is decided when a task fires: the owning guide then,
    /// so the plan does not depend on the order's arrival-dependent attribution): every configured task that can still be done on time when the
    /// order is processed at <paramref name="processedAt"/> (a backfilled order does not count
    /// misses its guide never had a chance at). Open tasks are bounded by MaxOpenTasks (earliest due kept).
    /// </summary>
    public static OperationsState Plan(OperationsState ops, string customerId, ulong orderKey, string orderId,
        DateTimeOffset occurred, DateTimeOffset processedAt, CustomerRules rules)
    {
        var r = rules.Operations;
        var existing = ops.Tasks.AsSpan();
        ServiceTask[]? planned = null;
        var n = 0;
        for (var i = 0; i < r.ServiceTasks.Count; i++)
        {
            var rule = r.ServiceTasks[i];
            var due = occurred + rule.Offset;
            if (due + r.OnTimeWithin > processedAt && !Has(existing, orderKey, rule.Name) && !Has(planned.AsSpan(0, n), orderKey, rule.Name))
            {
                (planned ??= new ServiceTask[r.ServiceTasks.Count])[n++] = new ServiceTask(orderKey, orderId, rule.Name, due, null, null);
            }
        }
        if (!IsSorted(existing))
        {
            // Not the state's own order: the general way.
            return ops with { Tasks = Sorted(ops.Tasks.Concat(planned.AsSpan(0, n).ToArray())).Take(r.MaxOpenTasks).ToEquatableArray() };
        }
        if (n == 0 && existing.Length <= r.MaxOpenTasks)
        {
            return ops; // nothing to start, nothing to drop: the same instance
        }
        // A stable merge of the sorted tasks and the (few) new ones, as a stable sort of both
        // would order them, cut at MaxOpenTasks: one array.
        var added = planned.AsSpan(0, n);
        for (var i = 1; i < added.Length; i++)
        {
            var x = added[i];
            var j = i - 1;
            while (j >= 0 && CompareTasks(added[j], x) > 0)
            {
                added[j + 1] = added[j];
                j--;
            }
            added[j + 1] = x;
        }
        var count = Math.Min(existing.Length + n, Math.Max(0, r.MaxOpenTasks));
        var tasks = new ServiceTask[count];
        int a = 0, b = 0;
        for (var k = 0; k < count; k++)
        {
            tasks[k] = b >= added.Length || (a < existing.Length && CompareTasks(existing[a], added[b]) <= 0) ? existing[a++] : added[b++];
        }
        return ops with { Tasks = EquatableArray.Own(tasks) };
    }

    private static bool Has(ReadOnlySpan<ServiceTask> tasks, ulong orderKey, string task)
    {
        foreach (var t in tasks)
        {
            if (t.OrderKey == orderKey && t.Task == task)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The order of open tasks: due time, then order, then task (ordinal).</summary>
    private static int CompareTasks(in ServiceTask x, in ServiceTask y)
    {
        var c = x.DueAt.CompareTo(y.DueAt);
        if (c == 0)
        {
            c = x.OrderKey.CompareTo(y.OrderKey);
        }
        return c != 0 ? c : string.CompareOrdinal(x.Task, y.Task);
    }

    private static bool IsSorted(ReadOnlySpan<ServiceTask> tasks)
    {
        for (var i = 1; i < tasks.Length; i++)
        {
            if (CompareTasks(tasks[i - 1], tasks[i]) > 0)
            {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ the clock

    public static IReadOnlyList<CustomerEvent> Tick(CustomerState state, DateTimeOffset now, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(rules);
        if (state.IsNew || state.MergedInto is not null)
        {
            return [];
        }
        now = now.ToUniversalTime();
        var r = rules.Operations;
        var ops = state.Ops;
        // Runs after every delivery and usually decides nothing: the list is made only when needed.
        List<CustomerEvent>? events = null;
        var slots = r.ContactCap - ops.TouchesSince(now - r.ContactWindow);
        var guide = state.OwningGuideId;

        foreach (var t in ops.Tasks.AsSpan())
        {
            if (now > t.DueAt + r.MissedAfter)
            {
                (events ??= []).Add(new ServiceTaskMissed(t.OrderKey, t.Task) { At = now });
            }
            else if (!t.Fired && t.DueAt <= now && slots > 0)
            {
                (events ??= []).Add(new ServiceTaskFired(t.OrderKey, t.Task, guide) { At = now });
                slots--;
            }
        }

        var today = LocalDate(now, r);
        Span<Occasion> occasions = stackalloc Occasion[2];
        foreach (var o in occasions[..Occasions(state, today, r, occasions)])
        {
            if (o.Reminded != o.Date && today >= o.Date.AddDays(-o.Lead) && slots > 0)
            {
                (events ??= []).Add(new ReminderFired(o.Kind, o.Date, guide) { At = now });
                slots--;
            }
        }

        var lifecycle = Segments.StateOf(state.Stats, now, rules);
        LifecycleState? churn = lifecycle is LifecycleState.AtRisk or LifecycleState.Lapsed ? lifecycle : null;
        if (churn != ops.Churn)
        {
            (events ??= []).Add(new ChurnRecorded(churn) { At = now });
        }

        if (r.Audiences.Count > 0 || !ops.Audiences.IsEmpty)
        {
            var after = state;
            if (events is not null)
            {
                foreach (var e in events)
                {
                    after = Apply(after, e, rules);
                }
            }
            var current = AudiencesOf(after, now, rules);
            var entered = Except(current, ops.Audiences);
            var exited = Except(ops.Audiences, current);
            if (entered.Count > 0 || exited.Count > 0)
            {
                (events ??= []).Add(new AudiencesChanged(entered, exited) { At = now });
            }
        }
        return events is null ? [] : events;
    }

    /// <summary>The distinct items of <paramref name="a"/> not in <paramref name="b"/>, in order (Enumerable.Except, ordinal).</summary>
    private static EquatableArray<string> Except(EquatableArray<string> a, EquatableArray<string> b)
    {
        var first = a.AsSpan();
        var second = b.AsSpan();
        string[]? result = null;
        var n = 0;
        foreach (var x in first)
        {
            if (second.Contains(x) || (result is not null && result.AsSpan(0, n).Contains(x)))
            {
                continue;
            }
            (result ??= new string[first.Length])[n++] = x;
        }
        return result is null ? default : EquatableArray.Own(n == result.Length ? result : result[..n]);
    }

    /// <summary>
    /// The earliest instant after <paramref name="now"/> at which <see cref="Tick"/> may decide
    /// something; null when nothing is pending. Waking earlier is harmless (the tick decides
    /// nothing and the customer registers its next wake), so this may err early, never late.
    /// </summary>
    public static DateTimeOffset? NextWake(CustomerState state, DateTimeOffset now, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (state.IsNew || state.MergedInto is not null)
        {
            return null;
        }
        now = now.ToUniversalTime();
        var r = rules.Operations;
        var ops = state.Ops;
        DateTimeOffset? best = null;
        void Consider(DateTimeOffset t)
        {
            if (t > now && (best is not { } b || t < b))
            {
                best = t;
            }
        }
        var slotFree = SlotFreesAt(ops, now, r);
        foreach (var t in ops.Tasks)
        {
            Consider(t.DueAt + r.MissedAfter + Epsilon);
            if (!t.Fired)
            {
                Consider(t.DueAt <= now ? slotFree : t.DueAt);
            }
        }
        var today = LocalDate(now, r);
        Span<Occasion> occasions = stackalloc Occasion[2];
        foreach (var o in occasions[..Occasions(state, today, r, occasions)])
        {
            var opens = LocalMidnight(o.Reminded == o.Date ? NextYear(o.Date, o.Date).AddDays(-o.Lead) : o.Date.AddDays(-o.Lead), r);
            Consider(opens <= now ? slotFree : opens);
        }
        if (state.Stats.FirstOrderAt is { } first)
        {
            var last = state.Stats.LastOrderAt ?? first;
            var (atRisk, lapsed) = Segments.Thresholds(state.Stats, rules);
            Consider(first + rules.NewCustomerWindow + Epsilon);
            Consider(last + atRisk + Epsilon);
            Consider(last + lapsed + Epsilon);
        }
        if (r.Audiences.Count > 0)
        {
            // frequency falls when an order leaves the window; birthday_soon turns on and off.
            foreach (var o in state.RecentOrders)
            {
                Consider(o.OccurredAt + rules.FrequencyWindow + Epsilon);
            }
            if (state.Birthday is { } b)
            {
                var occasion = NextOccasion(b, today);
                Consider(LocalMidnight(occasion.AddDays(-(int)r.PromptHorizon.TotalDays), r));
                Consider(LocalMidnight(occasion.AddDays(1), r));
            }
        }
        return best;
    }

    /// <summary>When the contact window next has room (now when it has room already).</summary>
    private static DateTimeOffset SlotFreesAt(OperationsState ops, DateTimeOffset now, OperationsRules r)
    {
        var floor = (now - r.ContactWindow).UtcDateTime;
        var touches = ops.Touches.AsSpan();
        if (!IsSorted(touches))
        {
            var copy = touches.ToArray();
            Array.Sort(copy);
            touches = copy;
        }
        // Sorted: the touches in the window are the ones after the first that is.
        var first = 0;
        while (first < touches.Length && touches[first] <= floor)
        {
            first++;
        }
        var inWindow = touches[first..];
        if (inWindow.Length < r.ContactCap)
        {
            return now;
        }
        // The touch whose ageing out leaves cap - 1 in the window.
        var freeing = inWindow[inWindow.Length - r.ContactCap];
        return new DateTimeOffset(freeing, TimeSpan.Zero) + r.ContactWindow + Epsilon;
    }

    private static bool IsSorted(ReadOnlySpan<DateTime> times)
    {
        for (var i = 1; i < times.Length; i++)
        {
            if (times[i - 1] > times[i])
            {
                return false;
            }
        }
        return true;
    }

    // ------------------------------------------------------------------ apply

    public static CustomerState Apply(CustomerState s, CustomerEvent evt, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(evt);
        var ops = ApplyOps(s, evt, rules);
        return ReferenceEquals(ops, s.Ops) ? s : s.WithOps(ops);
    }

    /// <summary>Null for an empty operations state (as <see cref="CustomerState.WithOps"/> keeps it).</summary>
    internal static OperationsState? OrNull(OperationsState ops) => ops.IsEmpty ? null : ops;

    /// <summary>
    /// The operations state after <paramref name="evt"/>: <c>s.Ops</c> itself when the event
    /// changes nothing. The caller puts it into the customer's state (with its own changes, in one copy).
    /// </summary>
    internal static OperationsState ApplyOps(CustomerState s, CustomerEvent evt, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(evt);
        var r = rules.Operations;
        var ops = s.Ops;
        var at = evt.At.ToUniversalTime();
        var id = s.CustomerId;
        switch (evt)
        {
            case ServiceDoneRecorded d when Find(ops, d.OrderKey, d.Task) is { } task:
                return ops with
                {
                    Tasks = Without(ops.Tasks, d.OrderKey, d.Task),
                    // Business time: when the service was done (dashboards bucket compliance by it).
                    Outbox = Append(ops.Outbox, Outcome(id, task, d.Outcome, d.GuideId, d.OccurredAt.ToUniversalTime(), d.OccurredAt.ToUniversalTime())),
                };
            case ServiceDoneRecorded:
                return ops;
            case GuideTouchRecorded g:
            {
                var occurred = g.OccurredAt.ToUniversalTime();
                var touches = AddTouch(ops.Touches, occurred.UtcDateTime, r);
                var from = (occurred - r.ContactWindow).UtcDateTime;
                var count = 0;
                foreach (var t in touches.AsSpan())
                {
                    if (t > from && t <= occurred.UtcDateTime)
                    {
                        count++;
                    }
                }
                return ops with
                {
                    Touches = touches,
                    Outbox = Append(ops.Outbox, new OperationsNotice
                    {
                        Id = $"{id}/guide_touch/{g.EventId ?? occurred.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
                        Kind = NoticeKinds.GuideTouch,
                        At = occurred,
                        GuideId = g.GuideId,
                        TouchesInWindow = count,
                        ContactCap = r.ContactCap,
                    }),
                };
            }
            case ServiceTaskFired f when Find(ops, f.OrderKey, f.Task) is { } task:
            {
                var tasks = ops.Tasks.ToArray();
                for (var i = 0; i < tasks.Length; i++)
                {
                    if (tasks[i].OrderKey == f.OrderKey && tasks[i].Task == f.Task)
                    {
                        tasks[i] = tasks[i] with { FiredAt = at, GuideId = f.GuideId };
                    }
                }
                return ops with
                {
                    Tasks = EquatableArray.Own(tasks),
                    Touches = AddTouch(ops.Touches, at.UtcDateTime, r),
                    Outbox = Append(ops.Outbox, new OperationsNotice
                    {
                        Id = $"{id}/service_due/{f.OrderKey:x16}/{f.Task}",
                        Kind = NoticeKinds.ServiceDue,
                        At = at,
                        Task = f.Task,
                        OrderId = task.OrderId,
                        DueAt = task.DueAt,
                        GuideId = f.GuideId,
                    }),
                };
            }
            case ServiceTaskMissed m when Find(ops, m.OrderKey, m.Task) is { } task:
                return ops with
                {
                    Tasks = Without(ops.Tasks, m.OrderKey, m.Task),
                    // Business time: the deadline that was missed.
                    Outbox = Append(ops.Outbox, Outcome(id, task, ServiceOutcomes.Missed, task.GuideId, null, task.DueAt + r.MissedAfter)),
                };
            case ChurnRecorded c:
                return c.State is { } churn
                    ? ops with
                    {
                        Outbox = Append(ops.Outbox, new OperationsNotice
                        {
                            Id = $"{id}/churn_risk/{churn.WireName()}/{s.Stats.LastOrderAt?.UtcTicks ?? 0}",
                            Kind = NoticeKinds.ChurnRisk,
                            At = at,
                            State = churn.WireName(),
                            PreviousState = ops.Churn?.WireName() ?? LifecycleState.Active.WireName(),
                            GuideId = s.OwningGuideId,
                        }),
                        Churn = c.State,
                    }
                    : ops with { Churn = c.State };
            case ReminderFired rf:
            {
                var kind = rf.Kind == ReminderKind.Birthday ? NoticeKinds.BirthdayReminder : NoticeKinds.AnniversaryReminder;
                return ops with
                {
                    BirthdayReminded = rf.Kind == ReminderKind.Birthday ? rf.Date : ops.BirthdayReminded,
                    AnniversaryReminded = rf.Kind == ReminderKind.Birthday ? ops.AnniversaryReminded : rf.Date,
                    Touches = AddTouch(ops.Touches, at.UtcDateTime, r),
                    Outbox = Append(ops.Outbox, new OperationsNotice
                    {
                        Id = $"{id}/{kind}/{rf.Date:yyyy-MM-dd}",
                        Kind = kind,
                        At = at,
                        Date = rf.Date,
                        DaysBefore = rf.Date.DayNumber - LocalDate(at, r).DayNumber,
                        GuideId = rf.GuideId,
                    }),
                };
            }
            case AudiencesChanged a:
            {
                var version = s.Version + 1;
                OperationsNotice Notice(string audience, string change) => new()
                {
                    Id = $"{id}/audience/{audience}/{change}/{version}",
                    Kind = NoticeKinds.Audience,
                    At = at,
                    Audience = audience,
                    Change = change,
                };
                var outbox = new OperationsNotice[ops.Outbox.Count + a.Entered.Count + a.Exited.Count];
                ops.Outbox.AsSpan().CopyTo(outbox);
                var n = ops.Outbox.Count;
                foreach (var x in a.Entered.AsSpan())
                {
                    outbox[n++] = Notice(x, "entered");
                }
                foreach (var x in a.Exited.AsSpan())
                {
                    outbox[n++] = Notice(x, "exited");
                }
                return ops with
                {
                    Audiences = ops.Audiences.Union(a.Entered, StringComparer.Ordinal).Except(a.Exited, StringComparer.Ordinal)
                        .Order(StringComparer.Ordinal).ToEquatableArray(),
                    Outbox = EquatableArray.Own(outbox),
                };
            }
            case ServiceTaskFired or ServiceTaskMissed:
                return ops; // the task is gone already (done or merged away)
            default:
                throw new ArgumentOutOfRangeException(nameof(evt), evt.GetType().Name, "not an operations event");
        }
    }

    /// <summary><paramref name="items"/> and one more, in one array.</summary>
    private static EquatableArray<T> Append<T>(EquatableArray<T> items, T item) where T : IEquatable<T>
    {
        var result = new T[items.Count + 1];
        items.AsSpan().CopyTo(result);
        result[^1] = item;
        return EquatableArray.Own(result);
    }

    /// <summary>The tasks without (order, task).</summary>
    private static EquatableArray<ServiceTask> Without(EquatableArray<ServiceTask> tasks, ulong orderKey, string task)
    {
        var span = tasks.AsSpan();
        var keep = 0;
        foreach (var t in span)
        {
            if (!(t.OrderKey == orderKey && t.Task == task))
            {
                keep++;
            }
        }
        var result = new ServiceTask[keep];
        var n = 0;
        foreach (var t in span)
        {
            if (!(t.OrderKey == orderKey && t.Task == task))
            {
                result[n++] = t;
            }
        }
        return EquatableArray.Own(result);
    }

    /// <summary>Takes published notices out of the outbox (not a domain change: no version bump); the same state when none was in it.</summary>
    public static CustomerState Published(CustomerState s, IReadOnlyCollection<string> noticeIds)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(noticeIds);
        var ops = s.Ops;
        var outbox = ops.Outbox.AsSpan();
        var keep = 0;
        foreach (var n in outbox)
        {
            if (!noticeIds.Contains(n.Id))
            {
                keep++;
            }
        }
        if (keep == outbox.Length)
        {
            return s;
        }
        var kept = new OperationsNotice[keep];
        var k = 0;
        foreach (var n in outbox)
        {
            if (!noticeIds.Contains(n.Id))
            {
                kept[k++] = n;
            }
        }
        return s.WithOps(ops with { Outbox = EquatableArray.Own(kept) });
    }

    /// <summary>Folds an absorbed customer's operations into the survivor's: tasks, touches and the outbox are united.</summary>
    public static OperationsState? Merge(OperationsState? survivor, OperationsState? absorbed, CustomerRules rules)
    {
        if (absorbed is null || absorbed.IsEmpty)
        {
            return survivor;
        }
        var a = survivor ?? OperationsState.Empty;
        var tasks = a.Tasks.Concat(absorbed.Tasks.Where(t => Find(a, t.OrderKey, t.Task) is null));
        var merged = a with
        {
            Tasks = Sorted(tasks).Take(rules.Operations.MaxOpenTasks).ToEquatableArray(),
            Touches = a.Touches.Union(absorbed.Touches).Order().ToEquatableArray(),
            Outbox = a.Outbox.Concat(absorbed.Outbox.Where(n => !a.Outbox.Any(x => x.Id == n.Id))).ToEquatableArray(),
            BirthdayReminded = a.BirthdayReminded ?? absorbed.BirthdayReminded,
            AnniversaryReminded = a.AnniversaryReminded ?? absorbed.AnniversaryReminded,
        };
        return merged.IsEmpty ? null : merged;
    }

    // ------------------------------------------------------------------ derived facts

    /// <summary>Audiences whose rule the customer matches at <paramref name="now"/>, sorted.</summary>
    public static EquatableArray<string> AudiencesOf(CustomerState state, DateTimeOffset now, CustomerRules rules)
    {
        var rulesList = rules.Operations.Audiences;
        if (rulesList.Count == 0 || state.IsNew || state.MergedInto is not null)
        {
            return default;
        }
        var facts = new AudienceFacts(state, Segments.Of(state, now, rules), ServiceDue(state), BirthdaySoon(state, now, rules.Operations));
        string[]? names = null;
        var n = 0;
        for (var i = 0; i < rulesList.Count; i++)
        {
            if (rulesList[i].Matches(facts))
            {
                (names ??= new string[rulesList.Count])[n++] = rulesList[i].Name;
            }
        }
        if (names is null)
        {
            return default;
        }
        Array.Sort(names, 0, n, StringComparer.Ordinal);
        return EquatableArray.Own(n == names.Length ? names : names[..n]);
    }

    /// <summary>A task was announced and is still open.</summary>
    public static bool ServiceDue(CustomerState state)
    {
        foreach (var t in state.Ops.Tasks.AsSpan())
        {
            if (t.Fired)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The birthday falls within the prompt horizon from today (local date).</summary>
    public static bool BirthdaySoon(CustomerState state, DateTimeOffset now, OperationsRules r)
    {
        if (state.Birthday is not { } b)
        {
            return false;
        }
        var today = LocalDate(now, r);
        return NextOccasion(b, today).DayNumber - today.DayNumber <= (int)r.PromptHorizon.TotalDays;
    }

    public static DateOnly LocalDate(DateTimeOffset instant, OperationsRules r) => DateOnly.FromDateTime(instant.ToOffset(r.LocalOffset).DateTime);

    private static DateTimeOffset LocalMidnight(DateOnly date, OperationsRules r) =>
        new DateTimeOffset(date.ToDateTime(TimeOnly.MinValue), r.LocalOffset).ToUniversalTime();

    /// <summary>The date of the yearly occasion on or after <paramref name="today"/> (29 Feb is the 28th in other years).</summary>
    public static DateOnly NextOccasion(DateOnly date, DateOnly today)
    {
        var thisYear = InYear(date, today.Year);
        return thisYear >= today ? thisYear : InYear(date, today.Year + 1);
    }

    private static DateOnly NextYear(DateOnly original, DateOnly occasion) => InYear(original, occasion.Year + 1);

    private static DateOnly InYear(DateOnly date, int year) =>
        new(year, date.Month, Math.Min(date.Day, DateTime.DaysInMonth(year, date.Month)));

    /// <summary>A yearly occasion: its current date, how many days ahead it is reminded, and the one reminded last.</summary>
    private readonly record struct Occasion(ReminderKind Kind, DateOnly Date, int Lead, DateOnly? Reminded);

    /// <summary>The birthday, then the anniversary, as far as they are known; fills <paramref name="into"/> (2 long), returns how many.</summary>
    private static int Occasions(CustomerState s, DateOnly today, OperationsRules r, Span<Occasion> into)
    {
        var ops = s.Ops;
        var n = 0;
        if (s.Birthday is { } b)
        {
            // A reminded occasion stays "current" until it has passed, so it is not reminded twice.
            var occasion = ops.BirthdayReminded is { } done && done >= today ? done : NextOccasion(b, today);
            into[n++] = new Occasion(ReminderKind.Birthday, occasion, r.BirthdayLeadDays, ops.BirthdayReminded);
        }
        if (Anniversary(s, r) is { } a)
        {
            var occasion = ops.AnniversaryReminded is { } done && done >= today ? done : NextOccasion(a, today);
            into[n++] = new Occasion(ReminderKind.Anniversary, occasion, r.AnniversaryLeadDays, ops.AnniversaryReminded);
        }
        return n;
    }

    /// <summary>The anniversary date from its tag (yyyy-MM-dd), if set and valid.</summary>
    public static DateOnly? Anniversary(CustomerState s, OperationsRules r)
    {
        foreach (var t in s.Tags)
        {
            if (t.Name == r.AnniversaryTag)
            {
                return DateOnly.TryParseExact(t.Value, "yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture,
                    System.Globalization.DateTimeStyles.None, out var d) ? d : null;
            }
        }
        return null;
    }

    private static ServiceTask? Find(OperationsState ops, ulong orderKey, string task)
    {
        foreach (var t in ops.Tasks)
        {
            if (t.OrderKey == orderKey && t.Task == task)
            {
                return t;
            }
        }
        return null;
    }

    private static IEnumerable<ServiceTask> Sorted(IEnumerable<ServiceTask> tasks) =>
        tasks.OrderBy(t => t.DueAt).ThenBy(t => t.OrderKey).ThenBy(t => t.Task, StringComparer.Ordinal);

    /// <summary>Adds a touch and forgets those older than the window before the newest one.</summary>
    private static EquatableArray<DateTime> AddTouch(EquatableArray<DateTime> touches, DateTime at, OperationsRules r)
    {
        var span = touches.AsSpan();
        var all = new DateTime[span.Length + 1];
        if (IsSorted(span))
        {
            // After the equal ones, as a stable sort of touches + at puts it.
            var i = span.Length;
            while (i > 0 && span[i - 1] > at)
            {
                i--;
            }
            span[..i].CopyTo(all);
            all[i] = at;
            span[i..].CopyTo(all.AsSpan(i + 1));
        }
        else
        {
            span.CopyTo(all);
            all[^1] = at;
            Array.Sort(all); // equal instants are equal values: no stable order to keep
        }
        var floor = all[^1] - r.ContactWindow;
        var first = 0;
        while (first < all.Length && all[first] <= floor)
        {
            first++;
        }
        return EquatableArray.Own(first == 0 ? all : all[first..]);
    }

    private static OperationsNotice Outcome(string customerId, ServiceTask task, string outcome, string? guideId, DateTimeOffset? doneAt, DateTimeOffset at) => new()
    {
        Id = $"{customerId}/service_outcome/{task.OrderKey:x16}/{task.Task}",
        Kind = NoticeKinds.ServiceOutcome,
        At = at,
        Task = task.Task,
        OrderId = task.OrderId,
        DueAt = task.DueAt,
        GuideId = guideId,
        Outcome = outcome,
        DoneAt = doneAt,
    };
}
