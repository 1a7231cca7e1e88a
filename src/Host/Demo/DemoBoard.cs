using System.Globalization;
using Spectre.Console;
using Spectre.Console.Rendering;
using Siyu.Actors.Campaigns;
using Siyu.Simulator;

namespace Siyu.Host.Demo;

/// <summary>Everything the board shows at one moment.</summary>
public sealed record BoardState(
    string Title,
    DateTimeOffset? SimulatedAt,
    long Produced,
    long Planned,
    double ProducedPerSecond,
    long Accepted,
    double AcceptedPerSecond,
    long ConsumerLag,
    TimeSpan Elapsed,
    IReadOnlyDictionary<string, long> Traffic,
    IReadOnlyDictionary<string, long> DeadLetters,
    IReadOnlyDictionary<string, long> ProfileChanges,
    SalesSnapshot Sales,
    IReadOnlyDictionary<string, Campaign> Campaigns,
    IReadOnlyList<string> Try,
    string? Note);

/// <summary>
/// The live board: what a newcomer needs to see in a minute. Top: the simulated day and how
/// much flows. Middle: where the money comes from (attribution rules, campaigns, groups,
/// guides), read from ClickHouse. Bottom: what was refused and why, what changed in profiles,
/// and how to ask the API.
/// </summary>
public static class DemoBoard
{
    public static IRenderable Render(BoardState s)
    {
        var clock = s.SimulatedAt is { } at
            ? $"[bold yellow]{at:ddd yyyy-MM-dd HH:mm}[/] (China time)  [yellow]{Markup.Escape(TrafficSimulator.PhaseOf(at.TimeOfDay))}[/]"
            : "[grey]waiting for the first event[/]";
        var progress = s.Planned > 0 ? (double)s.Produced / s.Planned : 0;
        var bar = new string('█', (int)(progress * 30)) + new string('░', 30 - (int)(progress * 30));
        var header = new Rows(
            new Markup($"[bold]{Markup.Escape(s.Title)}[/]"),
            new Markup($"simulated clock {clock}  {bar} {progress:P0} of the day"),
            new Markup(
                $"wall {s.Elapsed:mm\\:ss}   sent to Kafka [cyan]{s.Produced:N0}[/] ({s.ProducedPerSecond:N0}/s)   " +
                $"-> accepted by customer actors [green]{s.Accepted:N0}[/] ({s.AcceptedPerSecond:N0}/s)   " +
                $"consumer lag [cyan]{s.ConsumerLag:N0}[/]   dead-lettered [red]{s.DeadLetters.Values.Sum():N0}[/]   " +
                $"profile changes [cyan]{s.ProfileChanges.Values.Sum():N0}[/]"));

        var money = new Columns(RuleTable(s.Sales), CampaignTable(s.Sales, s.Campaigns), GroupTable(s.Sales), GuideTable(s.Sales)) { Expand = false };
        var flow = new Columns(
            Counts("traffic sent, by kind", s.Traffic, "kind"),
            Counts("dead letters, by reason", s.DeadLetters, "reason"),
            Counts("profile changes, by kind", s.ProfileChanges, "change")) { Expand = false };
        var tryIt = new Panel(new Rows(s.Try.Select(t => (IRenderable)new Text(t)).ToArray()))
        {
            Header = new PanelHeader("try the API while it runs"),
            Border = BoxBorder.Rounded,
        };
        var parts = new List<IRenderable> { header, money, flow, tryIt };
        if (s.Note is not null)
        {
            parts.Add(new Markup($"[grey]{Markup.Escape(s.Note)}[/]"));
        }
        return new Rows(parts);
    }

    private static Table RuleTable(SalesSnapshot sales)
    {
        var t = NewTable("sales by attribution rule", "rule", "orders", "revenue ¥");
        foreach (var r in sales.ByRule)
        {
            t.AddRow(Markup.Escape(r.Rule), r.Orders.ToString("N0", CultureInfo.InvariantCulture), r.Total.ToString("N0", CultureInfo.InvariantCulture));
        }
        return t;
    }

    private static Table CampaignTable(SalesSnapshot sales, IReadOnlyDictionary<string, Campaign> campaigns)
    {
        // Units as the live API and the dashboard show them: sold through the sale against its
        // stock, then later buys of its skus still attributed to it (never added to the first).
        var t = NewTable("campaign revenue by rule", "campaign", "rule", "orders", "revenue ¥", "sold/stock", "later");
        var units = sales.Units.ToDictionary(u => u.CampaignId);
        // Totals per campaign type and rule first (the coupon day, solitaires, flash sales), then the top campaigns.
        foreach (var g in sales.ByCampaign.GroupBy(c => (c.CampaignType, c.Rule)).OrderByDescending(g => g.Sum(c => c.Total)))
        {
            t.AddRow($"[bold]all {Markup.Escape(g.Key.CampaignType)}[/]", Markup.Escape(g.Key.Rule), g.Sum(c => (long)c.Orders).ToString("N0", CultureInfo.InvariantCulture),
                g.Sum(c => c.Total).ToString("N0", CultureInfo.InvariantCulture), "", "");
        }
        // The top three by revenue, and the best-selling flash sales with their sell-through.
        var ranked = sales.ByCampaign.GroupBy(c => c.CampaignId).OrderByDescending(g => g.Sum(c => c.Total)).ThenBy(g => g.Key, StringComparer.Ordinal).ToList();
        var shown = ranked.Take(3).Concat(ranked.Skip(3).Where(g => campaigns.GetValueOrDefault(g.Key) is { Stock: not null }).Take(2));
        foreach (var c in shown)
        {
            var u = units.GetValueOrDefault(c.Key);
            var sold = u is { Stock: { } stock } ? $"{u.UnitsSold}/{stock}" : "";
            var later = u is { Stock: not null } ? $"+{u.UnitsAfterCampaign}" : "";
            t.AddRow(Markup.Escape(c.Key), Markup.Escape(string.Join("+", c.Select(x => x.Rule).Distinct())), c.Sum(x => (long)x.Orders).ToString("N0", CultureInfo.InvariantCulture),
                c.Sum(x => x.Total).ToString("N0", CultureInfo.InvariantCulture), sold, later);
        }
        return t;
    }

    private static Table GroupTable(SalesSnapshot sales)
    {
        var t = NewTable("top WeCom groups", "group", "buyers", "revenue ¥");
        foreach (var g in sales.TopGroups)
        {
            t.AddRow(Markup.Escape(g.GroupId), g.Buyers.ToString("N0", CultureInfo.InvariantCulture), g.Total.ToString("N0", CultureInfo.InvariantCulture));
        }
        return t;
    }

    private static Table GuideTable(SalesSnapshot sales)
    {
        var t = NewTable("top guides", "guide", "orders", "revenue ¥", "via WeCom pay");
        foreach (var g in sales.TopGuides)
        {
            t.AddRow(Markup.Escape(g.GuideId), g.Orders.ToString("N0", CultureInfo.InvariantCulture), g.Total.ToString("N0", CultureInfo.InvariantCulture),
                g.Collected.ToString("N0", CultureInfo.InvariantCulture));
        }
        return t;
    }

    private static Table Counts(string title, IReadOnlyDictionary<string, long> counts, string what)
    {
        var t = NewTable(title, what, "count");
        foreach (var (k, v) in counts.OrderByDescending(kv => kv.Value).ThenBy(kv => kv.Key, StringComparer.Ordinal).Take(12))
        {
            t.AddRow(Markup.Escape(k), v.ToString("N0", CultureInfo.InvariantCulture));
        }
        return t;
    }

    private static Table NewTable(string title, string first, params string[] numbers)
    {
        var t = new Table().Border(TableBorder.Rounded).Title($"[bold]{Markup.Escape(title)}[/]").AddColumn(first);
        foreach (var n in numbers)
        {
            t.AddColumn(new TableColumn(n).RightAligned());
        }
        return t;
    }
}
