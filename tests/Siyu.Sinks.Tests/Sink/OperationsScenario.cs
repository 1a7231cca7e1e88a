using Siyu.Sinks.Rows;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// Operations notices of one day as customers publish them (siyu.operations): 3-3-3 tasks due and
/// closed on time, late or missed, guide touches (some customers above the cap), churn moves and
/// reminders; a few notices are published twice, as after a crash (same notice_id).
/// </summary>
public sealed class OperationsScenario
{
    public static readonly string[] Tasks = ["comfort_check", "cleaning", "trade_in"];
    public static readonly string[] Outcomes = ["on_time", "on_time", "late", "missed"];

    public OperationsScenario()
    {
        var day = SalesScenario.Day;
        var rows = new List<OperationsRow>();
        for (var i = 0; i < 120; i++)
        {
            var customer = $"c{i % 40:D4}";
            var task = Tasks[i % Tasks.Length];
            var guide = SalesScenario.Guides[i % SalesScenario.Guides.Length];
            var due = day.AddMinutes(i * 5);
            rows.Add(new OperationsRow
            {
                NoticeId = $"{customer}/service_due/{i:x16}/{task}", Kind = "service_due", At = due, CustomerId = customer,
                GuideId = guide, Task = task, OrderId = $"O{i}", DueAt = due,
            });
            var outcome = Outcomes[i % Outcomes.Length];
            rows.Add(new OperationsRow
            {
                NoticeId = $"{customer}/service_outcome/{i:x16}/{task}", Kind = "service_outcome", At = due.AddHours(outcome == "missed" ? 14 * 24 : 3),
                CustomerId = customer, GuideId = guide, Task = task, OrderId = $"O{i}", DueAt = due,
                DoneAt = outcome == "missed" ? null : due.AddHours(outcome == "late" ? 60 : 3), Outcome = outcome,
            });
        }
        // Guide touches: customer c0001 is messaged five times in a week (cap 3), c0002 twice.
        for (var n = 1; n <= 5; n++)
        {
            rows.Add(Touch("c0001", "U01", day.AddHours(n), n));
        }
        rows.Add(Touch("c0002", "U02", day.AddHours(1), 1));
        rows.Add(Touch("c0002", "U02", day.AddHours(2), 2));
        rows.Add(new OperationsRow { NoticeId = "c0003/churn_risk/at_risk/1", Kind = "churn_risk", At = day, CustomerId = "c0003", State = "at_risk" });
        rows.Add(new OperationsRow { NoticeId = "c0004/churn_risk/lapsed/1", Kind = "churn_risk", At = day, CustomerId = "c0004", State = "lapsed" });
        rows.Add(new OperationsRow { NoticeId = "c0005/birthday_reminder/2026-12-01", Kind = "birthday_reminder", At = day, CustomerId = "c0005", GuideId = "U03" });
        Unique = rows;
        // Republished after a crash: the same notices again.
        Rows = [.. rows, .. rows.Where((_, i) => i % 7 == 0)];
    }

    private static OperationsRow Touch(string customer, string guide, DateTimeOffset at, int inWindow) => new()
    {
        NoticeId = $"{customer}/guide_touch/ms-{customer}-{inWindow}", Kind = "guide_touch", At = at, CustomerId = customer,
        GuideId = guide, TouchesInWindow = (ushort)inWindow, ContactCap = 3,
    };

    /// <summary>Every notice once.</summary>
    public IReadOnlyList<OperationsRow> Unique { get; }

    /// <summary>What reaches the table, with repeats.</summary>
    public IReadOnlyList<OperationsRow> Rows { get; }
}
