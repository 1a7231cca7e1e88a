using Siyu.Actors.Customers;
using Siyu.Actors.Operations;
using Siyu.Actors.Tests.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Operations;

internal static class OpsEv
{
    public static ServiceDone Done(string task, DateTimeOffset at, string guide = "G1") => new()
    {
        EventId = Ev.NextId("sd"), OccurredAt = at, Ids = Ev.Member(), Channel = Channel.Group, GuideId = guide, Task = task,
    };

    public static MessageSent Message(DateTimeOffset at, string guide = "G1") => new()
    {
        EventId = Ev.NextId("ms"), OccurredAt = at, Ids = Ev.Member(), Channel = Channel.Group, GuideId = guide,
    };

    /// <summary>Ticks the customer at <paramref name="now"/> (through the journal format, like every command of the kit).</summary>
    public static IReadOnlyList<CustomerEvent> TickAt(this Customer c, DateTimeOffset now)
    {
        c.Clock = now;
        return c.Send(new Tick(now));
    }

    public static IEnumerable<OperationsNotice> Notices(this Customer c, string kind) => c.State.Ops.Outbox.Where(n => n.Kind == kind);
}

public class ServiceTaskTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    private static Customer Bought(CustomerRules? rules = null)
    {
        var c = new Customer(rules: rules) { Clock = T0 };
        c.ObserveAll(Ev.ContactAdd("G7", T0.AddDays(-10)), Ev.Order("O1", 5000m, T0));
        return c;
    }

    [Fact]
    public void An_order_plans_the_three_tasks_at_3_days_3_weeks_and_3_months()
    {
        var c = Bought();
        Assert.Equal(
            [("comfort_check", T0.AddDays(3)), ("cleaning", T0.AddDays(21)), ("trade_in", T0.AddDays(90))],
            c.State.Ops.Tasks.Select(t => (t.Task, t.DueAt)).ToArray());
        var profile = Profile.Project(c.State, T0, c.Rules);
        Assert.Equal("comfort_check", profile.Service.NextTask);
        Assert.Equal(T0.AddDays(3), profile.Service.DueAt);
    }

    [Fact]
    public void A_task_fires_at_its_due_time_once_for_the_owning_guide()
    {
        var c = Bought();
        Assert.Empty(c.TickAt(T0.AddDays(3).AddSeconds(-1)).OfType<ServiceTaskFired>());
        var fired = Assert.Single(c.TickAt(T0.AddDays(3)).OfType<ServiceTaskFired>());
        Assert.Equal(("comfort_check", "G7"), (fired.Task, fired.GuideId));
        Assert.Empty(c.TickAt(T0.AddDays(3)));
        Assert.Empty(c.TickAt(T0.AddDays(4)));
        var due = Assert.Single(c.Notices(NoticeKinds.ServiceDue));
        Assert.Equal(("comfort_check", "O1", T0.AddDays(3), "G7"), (due.Task, due.OrderId, due.DueAt!.Value, due.GuideId));
        Assert.True(OperationsDecider.ServiceDue(c.State));
    }

    [Theory]
    [InlineData(1, ServiceOutcomes.OnTime)]     // before due
    [InlineData(4.9, ServiceOutcomes.OnTime)]   // within OnTimeWithin (2 days) after due
    [InlineData(6, ServiceOutcomes.Late)]
    public void Service_done_completes_the_task_with_its_compliance(double daysAfterOrder, string outcome)
    {
        var c = Bought();
        c.TickAt(T0.AddDays(3));
        c.Observe(OpsEv.Done("comfort_check", T0.AddDays(daysAfterOrder)));
        Assert.DoesNotContain(c.State.Ops.Tasks, t => t.Task == "comfort_check");
        var row = Assert.Single(c.Notices(NoticeKinds.ServiceOutcome));
        Assert.Equal((outcome, "comfort_check", "G1"), (row.Outcome, row.Task, row.GuideId));
        Assert.Equal(T0.AddDays(daysAfterOrder), row.DoneAt);
    }

    [Fact]
    public void A_task_not_done_by_the_missed_deadline_is_closed_as_missed_once()
    {
        var c = Bought();
        c.TickAt(T0.AddDays(3));
        Assert.Empty(c.TickAt(T0.AddDays(17)).OfType<ServiceTaskMissed>()); // due + 14 days exactly: not yet
        Assert.Single(c.TickAt(T0.AddDays(17).AddSeconds(1)).OfType<ServiceTaskMissed>());
        Assert.Empty(c.TickAt(T0.AddDays(18)).OfType<ServiceTaskMissed>());
        Assert.Equal(ServiceOutcomes.Missed, Assert.Single(c.Notices(NoticeKinds.ServiceOutcome)).Outcome);
        // service_done after the task was closed matches nothing: the miss stands.
        c.Observe(OpsEv.Done("comfort_check", T0.AddDays(18)));
        Assert.Single(c.Notices(NoticeKinds.ServiceOutcome));
    }

    [Fact]
    public void Service_done_for_an_unknown_task_changes_nothing_but_dedup()
    {
        var c = Bought();
        var before = c.State.Ops;
        c.Observe(OpsEv.Done("polish", T0.AddDays(1)));
        Assert.Equal(before, c.State.Ops);
    }

    [Fact]
    public void A_backfilled_order_plans_only_tasks_that_can_still_be_done_on_time()
    {
        var c = new Customer { Clock = T0.AddDays(30) };
        c.Observe(Ev.Order("O1", 100m, T0));
        Assert.Equal(["trade_in"], c.State.Ops.Tasks.Select(t => t.Task).ToArray());
    }

    [Fact]
    public void Offsets_are_settings_so_a_demo_can_run_them_in_minutes()
    {
        var rules = CustomerRules.Default with
        {
            Operations = OperationsRules.Default with
            {
                ServiceTasks = [new("comfort_check", TimeSpan.FromMinutes(1)), new("cleaning", TimeSpan.FromMinutes(3))],
                OnTimeWithin = TimeSpan.FromMinutes(1),
                MissedAfter = TimeSpan.FromMinutes(5),
            },
        };
        var c = Bought(rules);
        Assert.Equal(T0.AddMinutes(1), OperationsDecider.NextWake(c.State, T0, rules));
        Assert.Single(c.TickAt(T0.AddMinutes(1)).OfType<ServiceTaskFired>());
        Assert.Equal(T0.AddMinutes(3), OperationsDecider.NextWake(c.State, T0.AddMinutes(1), rules));
    }

    [Fact]
    public void Next_wake_is_the_earliest_pending_deadline()
    {
        var c = Bought();
        Assert.Equal(T0.AddDays(3), OperationsDecider.NextWake(c.State, T0, c.Rules));
        c.TickAt(T0.AddDays(3));
        // comfort_check fired: next its missed deadline (day 17) vs cleaning due (day 21).
        Assert.Equal(T0.AddDays(17).AddSeconds(1), OperationsDecider.NextWake(c.State, T0.AddDays(3), c.Rules));
        Assert.Null(OperationsDecider.NextWake(CustomerState.Empty("C-x"), T0, c.Rules));
    }

    [Fact]
    public void A_merge_keeps_the_absorbed_customers_open_tasks()
    {
        var a = Bought();
        var b = new Customer("C-0002") { Clock = T0 };
        b.Observe(Ev.Order("O2", 10m, T0.AddDays(1), ids: Ev.Member("M2")));
        var merged = CustomerMerge.Fold(a.State, b.State, a.Rules);
        Assert.Equal(6, merged.Ops.Tasks.Count);
        Assert.Equal(merged.Ops.Tasks.OrderBy(t => t.DueAt).ToArray(), merged.Ops.Tasks.ToArray());
    }
}

public class ChurnTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void Churn_waits_k_times_the_usual_interval_and_at_least_the_floor()
    {
        // Orders every 100 days: at_risk after 2 x 100 = 200 days, lapsed after 4 x 100 = 400.
        var c = new Customer { Clock = T0.AddDays(200) };
        c.ObserveAll(Ev.Order("O1", 10m, T0), Ev.Order("O2", 10m, T0.AddDays(100)), Ev.Order("O3", 10m, T0.AddDays(200)));
        Assert.Equal((TimeSpan.FromDays(200), TimeSpan.FromDays(400)), Segments.Thresholds(c.State.Stats, c.Rules));
        var last = T0.AddDays(200);
        Assert.Equal(LifecycleState.Active, Segments.StateOf(c.State.Stats, last.AddDays(150), c.Rules)); // the 60-day floor alone would say at_risk
        Assert.Empty(c.TickAt(last.AddDays(200)).OfType<ChurnRecorded>());
        Assert.Equal(LifecycleState.AtRisk, Assert.Single(c.TickAt(last.AddDays(200).AddSeconds(1)).OfType<ChurnRecorded>()).State);
        Assert.Empty(c.TickAt(last.AddDays(300)).OfType<ChurnRecorded>());
        Assert.Equal(LifecycleState.Lapsed, Assert.Single(c.TickAt(last.AddDays(401)).OfType<ChurnRecorded>()).State);
        Assert.Equal(["at_risk", "lapsed"], c.Notices(NoticeKinds.ChurnRisk).Select(n => n.State!).ToArray());
        Assert.Equal("at_risk", c.Notices(NoticeKinds.ChurnRisk).Last().PreviousState);
    }

    [Fact]
    public void A_single_order_customer_gets_the_floor_and_a_new_order_clears_the_risk()
    {
        var c = new Customer { Clock = T0 };
        c.Observe(Ev.Order("O1", 10m, T0));
        Assert.Equal(T0.AddDays(30).AddSeconds(1), OperationsDecider.NextWake(c.State with { Operations = null }, T0.AddDays(29), c.Rules));
        Assert.Equal(LifecycleState.AtRisk, Assert.Single(c.TickAt(T0.AddDays(61)).OfType<ChurnRecorded>()).State);
        c.Observe(Ev.Order("O2", 10m, T0.AddDays(62)));
        Assert.Null(Assert.Single(c.TickAt(T0.AddDays(62)).OfType<ChurnRecorded>()).State);
        Assert.Single(c.Notices(NoticeKinds.ChurnRisk)); // clearing announces nothing (segment_changed does)
    }
}

public class ReminderTests
{
    private static readonly DateTimeOffset T0 = Ev.T0; // 2026-03-03 10:00 +08:00

    [Fact]
    public void A_birthday_is_reminded_the_configured_days_before_once_a_year()
    {
        var c = new Customer { Clock = T0 };
        c.ObserveAll(Ev.ContactAdd("G7", T0), Ev.Birthday(new DateOnly(1990, 3, 20), T0));
        // 7 days before, local midnight (+08:00): 2026-03-13 00:00 local = 03-12 16:00 UTC.
        var opens = new DateTimeOffset(2026, 3, 13, 0, 0, 0, TimeSpan.FromHours(8));
        Assert.Equal(opens, OperationsDecider.NextWake(c.State, T0, c.Rules));
        Assert.Empty(c.TickAt(opens.AddSeconds(-1)).OfType<ReminderFired>());
        var fired = Assert.Single(c.TickAt(opens).OfType<ReminderFired>());
        Assert.Equal((ReminderKind.Birthday, new DateOnly(2026, 3, 20), "G7"), (fired.Kind, fired.Date, fired.GuideId));
        Assert.Empty(c.TickAt(opens.AddDays(3)).OfType<ReminderFired>());
        Assert.Equal(7, Assert.Single(c.Notices(NoticeKinds.BirthdayReminder)).DaysBefore);
        // next year's occasion
        Assert.Single(c.TickAt(new DateTimeOffset(2027, 3, 13, 9, 0, 0, TimeSpan.FromHours(8))).OfType<ReminderFired>());
    }

    [Fact]
    public void An_anniversary_comes_from_its_tag()
    {
        var c = new Customer { Clock = T0 };
        c.Observe(Ev.Tag(T0, ("anniversary", "2019-03-05")));
        var fired = Assert.Single(c.TickAt(T0).OfType<ReminderFired>());
        Assert.Equal((ReminderKind.Anniversary, new DateOnly(2026, 3, 5)), (fired.Kind, fired.Date));
    }

    [Fact]
    public void A_birthday_this_week_is_soon()
    {
        var c = new Customer { Clock = T0 };
        c.Observe(Ev.Birthday(new DateOnly(1990, 3, 9), T0));
        Assert.True(OperationsDecider.BirthdaySoon(c.State, T0, c.Rules.Operations));
        Assert.False(OperationsDecider.BirthdaySoon(c.State, T0.AddDays(-10), c.Rules.Operations));
    }
}

public class ContactCapTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void Due_reminders_beyond_the_weekly_cap_wait_until_a_touch_ages_out()
    {
        var c = new Customer { Clock = T0 };
        c.Observe(Ev.Order("O1", 10m, T0));
        // Three guide touches in the week before the first task is due: the cap (3) is reached.
        c.ObserveAll(OpsEv.Message(T0.AddDays(1)), OpsEv.Message(T0.AddDays(2)), OpsEv.Message(T0.AddDays(2.5)));
        Assert.Empty(c.TickAt(T0.AddDays(3)).OfType<ServiceTaskFired>());
        var free = T0.AddDays(8).AddSeconds(1); // the touch of day 1 leaves the 7-day window
        Assert.Equal(free, OperationsDecider.NextWake(c.State, T0.AddDays(3), c.Rules));
        Assert.Empty(c.TickAt(free.AddSeconds(-2)).OfType<ServiceTaskFired>());
        Assert.Single(c.TickAt(free).OfType<ServiceTaskFired>());
        var touches = c.Notices(NoticeKinds.GuideTouch).ToList();
        Assert.Equal([1, 2, 3], touches.Select(t => t.TouchesInWindow!.Value).ToArray());
        Assert.All(touches, t => Assert.Equal(3, t.ContactCap));
    }

    [Fact]
    public void Reminders_due_together_fire_only_up_to_the_cap()
    {
        var rules = CustomerRules.Default with { Operations = OperationsRules.Default with { ContactCap = 1 } };
        var c = new Customer(rules: rules) { Clock = T0 };
        c.ObserveAll(Ev.Order("O1", 10m, T0), Ev.Order("O2", 10m, T0.AddHours(1)));
        var fired = c.TickAt(T0.AddDays(4)).OfType<ServiceTaskFired>().ToList();
        Assert.Single(fired);
        Assert.Equal(T0.AddDays(11).AddSeconds(1), OperationsDecider.NextWake(c.State, T0.AddDays(4), rules));
    }
}

public class AudienceTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void A_rule_parses_into_terms()
    {
        var rule = AudienceRule.Parse("winback", "in_private_domain and frequency=low and state=at_risk|lapsed and not tag.vip=yes");
        Assert.Equal(4, rule.Terms.Count);
        Assert.Equal(["at_risk", "lapsed"], rule.Terms[2].Values);
        Assert.True(rule.Terms[3].Negated);
        Assert.Equal("tag.vip", rule.Terms[3].Field);
    }

    [Theory]
    [InlineData("in_private_domain or state=at_risk", "expected 'and' before 'or'")]
    [InlineData("frequency=sometimes", "'sometimes' is not a frequency")]
    [InlineData("colour=red", "unknown field 'colour'")]
    [InlineData("vip", "unknown term 'vip'")]
    [InlineData("in_private_domain and", "ends where a term was expected")]
    [InlineData("", "the rule is empty")]
    [InlineData("state=", "has an empty value")]
    public void A_bad_rule_says_what_is_wrong(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => AudienceRule.Parse("a", text));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void Customers_enter_and_exit_audiences_as_their_state_and_the_clock_change()
    {
        var rules = CustomerRules.Default with
        {
            Operations = OperationsRules.Default with
            {
                Audiences = [AudienceRule.Parse("winback", "in_private_domain and frequency=low and state=at_risk")],
            },
        };
        var c = new Customer(rules: rules) { Clock = T0 };
        c.ObserveAll(Ev.Order("O1", 10m, T0), Ev.Join("G1", T0));
        Assert.Empty(c.TickAt(T0.AddDays(1)).OfType<AudiencesChanged>());
        var entered = Assert.Single(c.TickAt(T0.AddDays(61)).OfType<AudiencesChanged>());
        Assert.Equal(["winback"], entered.Entered.ToArray());
        Assert.Equal(["winback"], c.State.Ops.Audiences.ToArray());
        Assert.Empty(c.TickAt(T0.AddDays(62)).OfType<AudiencesChanged>());
        c.Observe(Ev.Leave("G1", T0.AddDays(63)));
        var exited = Assert.Single(c.TickAt(T0.AddDays(63)).OfType<AudiencesChanged>());
        Assert.Equal(["winback"], exited.Exited.ToArray());
        Assert.Equal(["entered", "exited"], c.Notices(NoticeKinds.Audience).Select(n => n.Change!).ToArray());
        Assert.Equal(2, c.Notices(NoticeKinds.Audience).Select(n => n.Id).Distinct().Count());
    }

    [Theory]
    [InlineData("3d", 3 * 24 * 60)]
    [InlineData("21d", 21 * 24 * 60)]
    [InlineData("2min", 2)]
    [InlineData("1.5h", 90)]
    [InlineData("1w", 7 * 24 * 60)]
    public void Durations_read_as_operators_write_them(string text, double minutes)
    {
        Assert.True(Durations.TryParse(text, out var value));
        Assert.Equal(TimeSpan.FromMinutes(minutes), value);
    }

    [Theory]
    [InlineData("3")]
    [InlineData("3m")]
    [InlineData("d")]
    [InlineData("-1d")]
    [InlineData("1000000w")]
    public void Bad_durations_are_refused(string text) => Assert.False(Durations.TryParse(text, out _));
}

public class PosPromptTests
{
    private static readonly DateTimeOffset T0 = Ev.T0;

    [Fact]
    public void The_cashier_sees_invite_service_due_and_birthday_this_week()
    {
        var c = new Customer { Clock = T0 };
        c.ObserveAll(Ev.Order("O1", 10m, T0), Ev.Birthday(new DateOnly(1990, 3, 8), T0));
        Assert.Equal([PosPrompts.InviteToGroup], PosPrompts.For(c.State, T0.AddDays(-30), c.Rules).Select(p => p.Code));
        var prompts = PosPrompts.For(c.State, T0, c.Rules);
        Assert.Equal([PosPrompts.InviteToGroup, PosPrompts.ServiceDue, PosPrompts.BirthdayThisWeek], prompts.Select(p => p.Code));
        Assert.Equal(("comfort_check", T0.AddDays(3)), (prompts[1].Task, prompts[1].DueAt!.Value));
        Assert.Equal(new DateOnly(2026, 3, 8), prompts[2].Date);
        c.ObserveAll(Ev.Join("GR1", T0), OpsEv.Done("comfort_check", T0.AddDays(1)));
        Assert.Equal([PosPrompts.BirthdayThisWeek], PosPrompts.For(c.State, T0.AddDays(1), c.Rules).Select(p => p.Code));
    }
}
