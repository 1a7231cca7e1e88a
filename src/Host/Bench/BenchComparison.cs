using System.Text.Json.Nodes;

namespace Siyu.Host.Bench;

/// <summary>
/// Two `siyu bench --json` files side by side: every numeric figure of the run and of its first
/// node (the product's), with the ratio new / old. Figures only one file has are listed too, so
/// a renamed figure shows up instead of disappearing.
/// </summary>
public static class BenchComparison
{
    public sealed record Row(string Name, double? Old, double? New)
    {
        public double? Ratio => Old is { } o && New is { } n && o != 0 ? n / o : null;
    }

    public static IReadOnlyList<Row> Compare(string oldJson, string newJson)
    {
        var (o, n) = (Figures(Parse(oldJson, "old")), Figures(Parse(newJson, "new")));
        var names = o.Keys.Concat(n.Keys.Where(k => !o.ContainsKey(k))).ToList();
        return [.. names.Select(k => new Row(k, o.GetValueOrDefault(k), n.GetValueOrDefault(k)))];
    }

    private static JsonObject Parse(string json, string which)
    {
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new FormatException("not a JSON object");
        }
        catch (System.Text.Json.JsonException ex)
        {
            throw new FormatException($"the {which} file is not JSON: {ex.Message}");
        }
    }

    private static Dictionary<string, double?> Figures(JsonObject doc)
    {
        if (doc["format"]?.GetValue<int>() != 1)
        {
            throw new FormatException("not a `siyu bench --json` file of format 1");
        }
        var figures = new Dictionary<string, double?>(StringComparer.Ordinal);
        Add(figures, "", doc);
        if (doc["nodes"] is JsonArray { Count: > 0 } nodes && nodes[0] is JsonObject node)
        {
            Add(figures, "", node);
        }
        return figures;
    }

    private static void Add(Dictionary<string, double?> figures, string prefix, JsonObject o)
    {
        foreach (var (key, value) in o)
        {
            if (key == "format")
            {
                continue; // checked, not a figure
            }
            switch (value)
            {
                case JsonValue v when v.TryGetValue<double>(out var d):
                    figures[prefix + key] = d;
                    break;
                case JsonValue v when v.TryGetValue<bool>(out var b):
                    figures[prefix + key] = b ? 1 : 0;
                    break;
                case null:
                    figures[prefix + key] = null; // a figure the run could not measure
                    break;
                case JsonObject child when key == "options":
                    Add(figures, key + ".", child);
                    break;
            }
        }
    }
}
