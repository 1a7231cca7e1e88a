using Siyu.Actors.Customers;

namespace Siyu.Actors.Operations;

/// <summary>A prompt for the cashier in the POS lookup answer.</summary>
public sealed record PosPrompt(string Code, string Message, string? Task = null, DateTimeOffset? DueAt = null, DateOnly? Date = null);

/// <summary>
/// What the POS tells the cashier at checkout (domain.md), as a pure function of the state and
/// "now": not in a group (invite), an after-sale service task due (announced, or due within the
/// prompt horizon), a birthday within the prompt horizon ("this week").
/// </summary>
public static class PosPrompts
{
    public const string InviteToGroup = "invite_to_group";
    public const string ServiceDue = "service_due";
    public const string BirthdayThisWeek = "birthday_this_week";

    /// <summary>The fruit chain's checkout prompt: "not in a group yet, invite them".</summary>
    public const string InviteMessage = "该用户未进社群,请加用户到社群";

    public static IReadOnlyList<PosPrompt> For(CustomerState state, DateTimeOffset now, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(rules);
        var r = rules.Operations;
        var prompts = new List<PosPrompt>();
        if (!state.ActiveGroups.Any())
        {
            prompts.Add(new PosPrompt(InviteToGroup, InviteMessage));
        }
        foreach (var t in state.Ops.Tasks)
        {
            if (t.Fired || t.DueAt <= now + r.PromptHorizon)
            {
                var local = t.DueAt.ToOffset(r.LocalOffset);
                prompts.Add(new PosPrompt(ServiceDue, $"售后服务到期: {t.Task} ({local:MM-dd}),可在店内完成", t.Task, t.DueAt));
            }
        }
        if (state.Birthday is { } b && OperationsDecider.BirthdaySoon(state, now, r))
        {
            var occasion = OperationsDecider.NextOccasion(b, OperationsDecider.LocalDate(now, r));
            prompts.Add(new PosPrompt(BirthdayThisWeek, $"顾客本周生日 ({occasion:MM-dd}),请送上祝福", Date: occasion));
        }
        return prompts;
    }
}
