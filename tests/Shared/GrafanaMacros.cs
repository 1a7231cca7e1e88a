using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

using System.Text.Json;
using System.Text.Json.Nodes;
using Xunit;

namespace Siyu.Tests.Shared;

/// <summary>
/// Expands a panel's SQL the way Grafana and grafana-clickhouse-datasource v4 do before it reaches
/// ClickHouse: the plugin's macros (as its pkg/macros/macros.go writes them) and template variables.
/// </summary>
public sealed partial class GrafanaMacros
{
    /// <summary>A variable set to "All" (<c>$__all</c>).</summary>
    public static readonly string[] All = ["$__all"];

    public required DateTimeOffset From { get; init; }

    public required DateTimeOffset To { get; init; }

    public int IntervalSeconds { get; init; } = 60;

    /// <summary>Variable values; <see cref="All"/> for "All".</summary>
    public required IReadOnlyDictionary<string, string[]> Variables { get; init; }

    /// <summary>The database the SQL's <c>siyu.</c> prefix is pointed at (tests use a fresh one).</summary>
    public required string Database { get; init; }

    public string Expand(string sql)
    {
        var from = $"toDateTime({From.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)})";
        var to = $"toDateTime({To.ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture)})";

        sql = ReplaceCalls(sql, "$__conditionalAll", args =>
        {
            Assert.Equal(2, args.Count);
            var name = VariableName().Match(args[1].Trim());
            Assert.True(name.Success, $"second argument of $__conditionalAll must be a plain variable: {args[1]}");
            return IsAll(Value(name.Groups[1].Value)) ? "1=1" : args[0];
        });
        sql = ReplaceCalls(sql, "$__timeFilter", args => $"{Single(args)} >= {from} AND {Single(args)} <= {to}");
        sql = ReplaceCalls(sql, "$__timeInterval", args =>
            $"toStartOfInterval(toDateTime({Single(args)}), INTERVAL {IntervalSeconds.ToString(CultureInfo.InvariantCulture)} second)");
        sql = sql.Replace("$__fromTime", from, StringComparison.Ordinal)
            .Replace("$__toTime", to, StringComparison.Ordinal)
            .Replace("$__interval_s", IntervalSeconds.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);

        sql = FormattedVariable().Replace(sql, m => Format(Value(m.Groups[1].Value), m.Groups[2].Value));
        sql = BracedVariable().Replace(sql, m => string.Join(',', Value(m.Groups[1].Value)));
        sql = PlainVariable().Replace(sql, m => string.Join(',', Value(m.Groups[1].Value)));
        Assert.DoesNotContain("$", sql, StringComparison.Ordinal);
        return SiyuPrefix().Replace(sql, $"`{Database}`.");
    }

    private string[] Value(string name) =>
        Variables.TryGetValue(name, out var v) ? v : throw new InvalidOperationException($"No test value for variable ${name}.");

    private static bool IsAll(string[] value) => value.Length == 1 && value[0] == All[0];

    private static string Format(string[] values, string format) => format switch
    {
        "singlequote" => string.Join(',', values.Select(v => "'" + v.Replace("'", "\\'", StringComparison.Ordinal) + "'")),
        "raw" => string.Join(',', values),
        _ => throw new InvalidOperationException($"Unsupported variable format :{format}."),
    };

    private static string Single(IReadOnlyList<string> args)
    {
        Assert.Single(args);
        return args[0].Trim();
    }

    // Finds name( … ) with balanced parentheses and replaces it with expand(top-level arguments).
    private static string ReplaceCalls(string sql, string name, Func<IReadOnlyList<string>, string> expand)
    {
        var sb = new StringBuilder();
        var i = 0;
        while (true)
        {
            var at = sql.IndexOf(name + "(", i, StringComparison.Ordinal);
            if (at < 0)
            {
                return sb.Append(sql, i, sql.Length - i).ToString();
            }

            sb.Append(sql, i, at - i);
            var depth = 0;
            var args = new List<string>();
            var start = at + name.Length + 1;
            var j = start;
            for (; j < sql.Length; j++)
            {
                var c = sql[j];
                if (c == '(')
                {
                    depth++;
                }
                else if (c == ')' && depth-- == 0)
                {
                    break;
                }
                else if (c == ',' && depth == 0)
                {
                    args.Add(sql[start..j]);
                    start = j + 1;
                }
            }

            Assert.True(j < sql.Length, $"unbalanced {name}( in: {sql}");
            args.Add(sql[start..j]);
            sb.Append(expand(args));
            i = j + 1;
        }
    }

    [GeneratedRegex(@"^\$\{?(\w+)\}?$")]
    private static partial Regex VariableName();

    [GeneratedRegex(@"\$\{(\w+):(\w+)\}")]
    private static partial Regex FormattedVariable();

    [GeneratedRegex(@"\$\{(\w+)\}")]
    private static partial Regex BracedVariable();

    [GeneratedRegex(@"\$(?!__)(\w+)")]
    private static partial Regex PlainVariable();

    [GeneratedRegex(@"\bsiyu\.(?=\w)")]
    private static partial Regex SiyuPrefix();
}

/// <summary>The dashboards of dashboards/*.json and their queries, as the tests read them.</summary>
public static class DashboardFiles
{
    public const string DatasourceUid = "siyu-clickhouse";

    public static readonly string[] Names = ["live-campaign.json", "group-attribution.json", "private-domain-health.json", "pipeline.json"];

    public static string Directory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Siyu.slnx")))
            {
                return Path.Combine(dir.FullName, "dashboards");
            }
        }

        throw new DirectoryNotFoundException("No Siyu.slnx above " + AppContext.BaseDirectory);
    }

    public static JsonNode Load(string file) =>
        JsonNode.Parse(File.ReadAllText(Path.Combine(Directory(), file)))!;

    public static IEnumerable<JsonNode> Panels(JsonNode dashboard) =>
        dashboard["panels"]!.AsArray().Select(p => p!).Where(p => p["type"]!.GetValue<string>() != "row");

    /// <summary>Every panel's and every template variable's SQL, by title.</summary>
    public static IEnumerable<(string Title, string Sql)> Queries(JsonNode dashboard) =>
        Panels(dashboard).Select(p => (p["title"]!.GetValue<string>(), p["targets"]![0]!["rawSql"]!.GetValue<string>()))
            .Concat(dashboard["templating"]!["list"]!.AsArray()
                .Select(v => ("variable $" + v!["name"]!.GetValue<string>(), v["query"]!["rawSql"]!.GetValue<string>())));

    /// <summary>A JSONEachRow row with at least one value that is not null, zero or empty.</summary>
    public static bool HasData(string jsonRow)
    {
        using var doc = JsonDocument.Parse(jsonRow);
        return doc.RootElement.EnumerateObject().Any(p => p.Value.ValueKind switch
        {
            JsonValueKind.Null => false,
            JsonValueKind.Number => p.Value.GetDouble() != 0,
            JsonValueKind.String => p.Value.GetString() is { Length: > 0 } s && s != "0",
            _ => true,
        });
    }
}
