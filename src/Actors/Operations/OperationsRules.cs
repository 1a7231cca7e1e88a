using System.Globalization;

namespace Siyu.Actors.Operations;

/// <summary>One after-sale service task of the plan every order starts (the jeweller's 3-3-3).</summary>
public sealed record ServiceTaskRule(string Name, TimeSpan Offset);

/// <summary>
/// The tunable rules of private-domain operations (service timers, reminders, the contact cap,
/// audiences). Settings, not state: <see cref="OperationsDecider"/> takes them as an argument.
/// One deployment serves one brand, so "per brand" means these settings.
/// </summary>
public sealed record OperationsRules
{
    public static OperationsRules Default { get; } = new();

    /// <summary>Tasks started by every order, by offset after its occurred_at.</summary>
    public IReadOnlyList<ServiceTaskRule> ServiceTasks { get; init; } =
    [
        new("comfort_check", TimeSpan.FromDays(3)),
        new("cleaning", TimeSpan.FromDays(21)),
        new("trade_in", TimeSpan.FromDays(90)),
    ];

    /// <summary>A task done no later than due + this is on time; later is late.</summary>
    public TimeSpan OnTimeWithin { get; init; } = TimeSpan.FromDays(2);

    /// <summary>A task not done by due + this is missed (and closed).</summary>
    public TimeSpan MissedAfter { get; init; } = TimeSpan.FromDays(14);

    /// <summary>Open tasks kept per customer (the earliest due); a bulk buyer cannot grow the state without bound.</summary>
    public int MaxOpenTasks { get; init; } = 30;

    public int BirthdayLeadDays { get; init; } = 7;

    public int AnniversaryLeadDays { get; init; } = 7;

    /// <summary>The tag holding an anniversary date (yyyy-MM-dd); profile_update carries only the birthday.</summary>
    public string AnniversaryTag { get; init; } = "anniversary";

    /// <summary>Guide-initiated touches per customer in <see cref="ContactWindow"/>; due reminders beyond it wait.</summary>
    public int ContactCap { get; init; } = 3;

    public TimeSpan ContactWindow { get; init; } = TimeSpan.FromDays(7);

    /// <summary>The brand's local time (dates of birthdays, "this week"); China has no DST, so an offset suffices.</summary>
    public TimeSpan LocalOffset { get; init; } = TimeSpan.FromHours(8);

    /// <summary>How far ahead the POS prompt looks for a due task or a birthday.</summary>
    public TimeSpan PromptHorizon { get; init; } = TimeSpan.FromDays(7);

    public IReadOnlyList<AudienceRule> Audiences { get; init; } = [];

    public ServiceTaskRule? Task(string name)
    {
        foreach (var t in ServiceTasks)
        {
            if (t.Name == name)
            {
                return t;
            }
        }
        return null;
    }

    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (ServiceTasks.Select(t => t.Name).Distinct(StringComparer.Ordinal).Count() != ServiceTasks.Count)
        {
            problems.Add("ServiceTasks names must be distinct");
        }
        foreach (var t in ServiceTasks)
        {
            if (string.IsNullOrWhiteSpace(t.Name) || t.Offset < TimeSpan.Zero)
            {
                problems.Add($"ServiceTasks entry '{t.Name}' needs a name and an offset >= 0");
            }
        }
        if (OnTimeWithin < TimeSpan.Zero || MissedAfter <= OnTimeWithin)
        {
            problems.Add("MissedAfter must be longer than OnTimeWithin (>= 0)");
        }
        if (MaxOpenTasks < 1) problems.Add("MaxOpenTasks must be at least 1");
        if (BirthdayLeadDays is < 0 or > 60) problems.Add("BirthdayLeadDays must be between 0 and 60");
        if (AnniversaryLeadDays is < 0 or > 60) problems.Add("AnniversaryLeadDays must be between 0 and 60");
        if (ContactCap < 1) problems.Add("ContactCap must be at least 1");
        if (ContactWindow <= TimeSpan.Zero) problems.Add("ContactWindow must be positive");
        if (LocalOffset.Duration() > TimeSpan.FromHours(14)) problems.Add("LocalOffset must be within ±14 hours");
        if (Audiences.Select(a => a.Name).Distinct(StringComparer.Ordinal).Count() != Audiences.Count)
        {
            problems.Add("audience names must be distinct");
        }
        return problems;
    }
}

/// <summary>
/// Durations as operators write them: a number and a unit, s (seconds), min (minutes), h, d, w.
/// "3d", "21d", "90d" for the jeweller; "2min" lets a demo on a compressed clock see timers fire.
/// </summary>
public static class Durations
{
    public static bool TryParse(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var t = text.Trim();
        var i = 0;
        while (i < t.Length && (char.IsAsciiDigit(t[i]) || t[i] == '.'))
        {
            i++;
        }
        if (i == 0 || !double.TryParse(t[..i], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
        {
            return false;
        }
        TimeSpan? unit = t[i..].Trim() switch
        {
            "s" => TimeSpan.FromSeconds(1),
            "min" => TimeSpan.FromMinutes(1),
            "h" => TimeSpan.FromHours(1),
            "d" => TimeSpan.FromDays(1),
            "w" => TimeSpan.FromDays(7),
            _ => null,
        };
        if (unit is not { } u || n * u.Ticks > TimeSpan.FromDays(36_500).Ticks)
        {
            return false;
        }
        value = TimeSpan.FromTicks((long)(n * u.Ticks));
        return true;
    }

    public static string Format(TimeSpan value) =>
        value.TotalDays >= 1 && value.Ticks % TimeSpan.TicksPerDay == 0 ? $"{value.TotalDays:0}d"
        : value.Ticks % TimeSpan.TicksPerMinute == 0 ? $"{value.TotalMinutes:0}min"
        : $"{value.TotalSeconds:0.###}s";
}
