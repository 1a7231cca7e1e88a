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
    public static ObservedEvent? Observe(CustomerState state, InputEvent evt, DateTimeOffset occurred, CustomerRules rules)
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
                        return new ServiceDoneRecorded(t.OrderKey, t.Task, d.GuideId, outcome);
                    }
                }
                return null;
            case MessageSent m:
                return new GuideTouchRecorded(m.GuideId, evt.EventId);
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
        var tasks = ops.Tasks.ToList();
        foreach (var rule in r.ServiceTasks)
        {
            var due = occurred + rule.Offset;
            if (due + r.OnTimeWithin > processedAt && !tasks.Any(t => t.OrderKey == orderKey && t.Task == rule.Name))
            {
                tasks.Add(new ServiceTask(orderKey, orderId, rule.Name, due, null, null));
            }
        }
        return ops with { Tasks = Sorted(tasks).Take(r.MaxOpenTasks).ToEquatableArray() };
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
        var events = new List<CustomerEvent>();
        var slots = r.ContactCap - ops.TouchesSince(now - r.ContactWindow);
        var guide = state.OwningGuideId;

        foreach (var t in ops.Tasks)
        {
            if (now > t.DueAt + r.MissedAfter)
            {
                events.Add(new ServiceTaskMissed(t.OrderKey, t.Task));
            }
            else if (!t.Fired && t.DueAt <= now && slots > 0)
            {
                events.Add(new ServiceTaskFired(t.OrderKey, t.Task, guide));
                slots--;
            }
        }

        var today = LocalDate(now, r);
        foreach (var (kind, occasion, lead, reminded) in Occasions(state, today, r))
        {
            if (reminded != occasion && today >= occasion.AddDays(-lead) && slots > 0)
            {
                events.Add(new ReminderFired(kind, occasion, guide));
                slots--;
            }
        }

        var lifecycle = Segments.StateOf(state.Stats, now, rules);
        LifecycleState? churn = lifecycle is LifecycleState.AtRisk or LifecycleState.Lapsed ? lifecycle : null;
        if (churn != ops.Churn)
        {
            events.Add(new ChurnRecorded(churn));
        }

        if (r.Audiences.Count > 0 || !ops.Audiences.IsEmpty)
        {
            var after = state;
            foreach (var e in events)
            {
                after = Apply(after, e with { At = now }, rules);
            }
            var current = AudiencesOf(after, now, rules);
            var entered = current.Except(ops.Audiences, StringComparer.Ordinal).ToEquatableArray();
            var exited = ops.Audiences.Except(current, StringComparer.Ordinal).ToEquatableArray();
            if (entered.Count > 0 || exited.Count > 0)
            {
                events.Add(new AudiencesChanged(entered, exited));
            }
        }
        return events.Select(e => e with { At = now }).ToList();
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
        foreach (var (_, occasion, lead, reminded) in Occasions(state, today, r))
        {
            var opens = LocalMidnight(reminded == occasion ? NextYear(occasion, occasion).AddDays(-lead) : occasion.AddDays(-lead), r);
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
        var inWindow = ops.Touches.Where(t => t > (now - r.ContactWindow).UtcDateTime).Order().ToList();
        if (inWindow.Count < r.ContactCap)
        {
            return now;
        }
        // The touch whose ageing out leaves cap - 1 in the window.
        var freeing = inWindow[inWindow.Count - r.ContactCap];
        return new DateTimeOffset(freeing, TimeSpan.Zero) + r.ContactWindow + Epsilon;
    }

    // ------------------------------------------------------------------ apply

    public static CustomerState Apply(CustomerState s, CustomerEvent evt, CustomerRules rules)
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
                ops = ops with
                {
                    Tasks = ops.Tasks.Where(t => !(t.OrderKey == d.OrderKey && t.Task == d.Task)).ToEquatableArray(),
                    // Business time: when the service was done (dashboards bucket compliance by it).
                    Outbox = ops.Outbox.Append(Outcome(id, task, d.Outcome, d.GuideId, d.OccurredAt.ToUniversalTime(), d.OccurredAt.ToUniversalTime())).ToEquatableArray(),
                };
                break;
            case ServiceDoneRecorded:
                return s;
            case GuideTouchRecorded g:
            {
                var occurred = g.OccurredAt.ToUniversalTime();
                var touches = AddTouch(ops.Touches, occurred.UtcDateTime, r);
                var count = touches.Count(t => t > (occurred - r.ContactWindow).UtcDateTime && t <= occurred.UtcDateTime);
                ops = ops with
                {
                    Touches = touches,
                    Outbox = ops.Outbox.Append(new OperationsNotice
                    {
                        Id = $"{id}/guide_touch/{g.EventId ?? occurred.Ticks.ToString(System.Globalization.CultureInfo.InvariantCulture)}",
                        Kind = NoticeKinds.GuideTouch,
                        At = occurred,
                        GuideId = g.GuideId,
                        TouchesInWindow = count,
                        ContactCap = r.ContactCap,
                    }).ToEquatableArray(),
                };
                break;
            }
            case ServiceTaskFired f when Find(ops, f.OrderKey, f.Task) is { } task:
                ops = ops with
                {
                    Tasks = ops.Tasks.Select(t => t.OrderKey == f.OrderKey && t.Task == f.Task ? t with { FiredAt = at, GuideId = f.GuideId } : t).ToEquatableArray(),
                    Touches = AddTouch(ops.Touches, at.UtcDateTime, r),
                    Outbox = ops.Outbox.Append(new OperationsNotice
                    {
                        Id = $"{id}/service_due/{f.OrderKey:x16}/{f.Task}",
                        Kind = NoticeKinds.ServiceDue,
                        At = at,
                        Task = f.Task,
                        OrderId = task.OrderId,
                        DueAt = task.DueAt,
                        GuideId = f.GuideId,
                    }).ToEquatableArray(),
                };
                break;
            case ServiceTaskMissed m when Find(ops, m.OrderKey, m.Task) is { } task:
                ops = ops with
                {
                    Tasks = ops.Tasks.Where(t => !(t.OrderKey == m.OrderKey && t.Task == m.Task)).ToEquatableArray(),
                    // Business time: the deadline that was missed.
                    Outbox = ops.Outbox.Append(Outcome(id, task, ServiceOutcomes.Missed, task.GuideId, null, task.DueAt + r.MissedAfter)).ToEquatableArray(),
                };
                break;
            case ChurnRecorded c:
                if (c.State is { } churn)
                {
                    ops = ops with
                    {
                        Outbox = ops.Outbox.Append(new OperationsNotice
                        {
                            Id = $"{id}/churn_risk/{churn.WireName()}/{s.Stats.LastOrderAt?.UtcTicks ?? 0}",
                            Kind = NoticeKinds.ChurnRisk,
                            At = at,
                            State = churn.WireName(),
                            PreviousState = ops.Churn?.WireName() ?? LifecycleState.Active.WireName(),
                            GuideId = s.OwningGuideId,
                        }).ToEquatableArray(),
                    };
                }
                ops = ops with { Churn = c.State };
                break;
            case ReminderFired rf:
            {
                var kind = rf.Kind == ReminderKind.Birthday ? NoticeKinds.BirthdayReminder : NoticeKinds.AnniversaryReminder;
                ops = (rf.Kind == ReminderKind.Birthday ? ops with { BirthdayReminded = rf.Date } : ops with { AnniversaryReminded = rf.Date }) with
                {
                    Touches = AddTouch(ops.Touches, at.UtcDateTime, r),
                    Outbox = ops.Outbox.Append(new OperationsNotice
                    {
                        Id = $"{id}/{kind}/{rf.Date:yyyy-MM-dd}",
                        Kind = kind,
                        At = at,
                        Date = rf.Date,
                        DaysBefore = rf.Date.DayNumber - LocalDate(at, r).DayNumber,
                        GuideId = rf.GuideId,
                    }).ToEquatableArray(),
                };
                break;
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
                ops = ops with
                {
                    Audiences = ops.Audiences.Union(a.Entered, StringComparer.Ordinal).Except(a.Exited, StringComparer.Ordinal)
                        .Order(StringComparer.Ordinal).ToEquatableArray(),
                    Outbox = ops.Outbox
                        .Concat(a.Entered.Select(x => Notice(x, "entered")))
                        .Concat(a.Exited.Select(x => Notice(x, "exited")))
                        .ToEquatableArray(),
                };
                break;
            }
            case ServiceTaskFired or ServiceTaskMissed:
                return s; // the task is gone already (done or merged away)
            default:
                throw new ArgumentOutOfRangeException(nameof(evt), evt.GetType().Name, "not an operations event");
        }
        return s.WithOps(ops);
    }

    /// <summary>Takes published notices out of the outbox (not a domain change: no version bump).</summary>
    public static CustomerState Published(CustomerState s, IReadOnlyCollection<string> noticeIds)
    {
        ArgumentNullException.ThrowIfNull(s);
        ArgumentNullException.ThrowIfNull(noticeIds);
        var ops = s.Ops;
        return s.WithOps(ops with { Outbox = ops.Outbox.Where(n => !noticeIds.Contains(n.Id)).ToEquatableArray() });
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
        return rulesList.Where(a => a.Matches(facts)).Select(a => a.Name).Order(StringComparer.Ordinal).ToEquatableArray();
    }

    /// <summary>A task was announced and is still open.</summary>
    public static bool ServiceDue(CustomerState state) => state.Ops.Tasks.Any(t => t.Fired);

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

    private static IEnumerable<(ReminderKind Kind, DateOnly Occasion, int Lead, DateOnly? Reminded)> Occasions(CustomerState s, DateOnly today, OperationsRules r)
    {
        var ops = s.Ops;
        if (s.Birthday is { } b)
        {
            // A reminded occasion stays "current" until it has passed, so it is not reminded twice.
            var occasion = ops.BirthdayReminded is { } done && done >= today ? done : NextOccasion(b, today);
            yield return (ReminderKind.Birthday, occasion, r.BirthdayLeadDays, ops.BirthdayReminded);
        }
        if (Anniversary(s, r) is { } a)
        {
            var occasion = ops.AnniversaryReminded is { } done && done >= today ? done : NextOccasion(a, today);
            yield return (ReminderKind.Anniversary, occasion, r.AnniversaryLeadDays, ops.AnniversaryReminded);
        }
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
        var all = touches.Append(at).Order().ToList();
        var floor = all[^1] - r.ContactWindow;
        return all.Where(t => t > floor).ToEquatableArray();
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
