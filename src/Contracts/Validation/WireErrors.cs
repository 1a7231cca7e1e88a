using System.Text.Json;
using System.Text.RegularExpressions;

namespace Siyu.Contracts.Validation;

/// <summary>
/// Dead-letter messages for JSON that parses but does not fit the contract, in the words of
/// the contract ("items[0].qty must be a whole number, not the number 1.5"), never .NET type
/// names. Failure path only: none of this runs for a valid event.
/// </summary>
internal static partial class WireErrors
{
    // The contract's field names by what they hold (contract: event envelope and type fields).
    private static readonly HashSet<string> Strings = new(StringComparer.Ordinal)
    {
        "event_id", "type", "occurred_at", "store_id", "order_id", "guide_id", "payment", "campaign_id",
        "share_group_id", "page", "coupon_id", "group_id", "sku", "birthday", "name", "task",
        "member_id", "phone", "unionid", "openid", "external_userid", "app_user_id", "device_id",
    };

    [GeneratedRegex(@"\.([^.\[]+)|\['((?:[^']|\\')*)'\]|\[(\d+)\]")]
    private static partial Regex PathSegment();

    /// <summary>The first key that appears twice in one object, as a path ("ids.member_id"), or null.</summary>
    public static string? FindDuplicateKey(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload);
        var frames = new List<Frame>();
        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    Step(frames);
                    frames.Add(new Frame(new HashSet<string>(StringComparer.Ordinal)));
                    break;
                case JsonTokenType.StartArray:
                    Step(frames);
                    frames.Add(new Frame(null));
                    break;
                case JsonTokenType.EndObject or JsonTokenType.EndArray:
                    frames.RemoveAt(frames.Count - 1);
                    break;
                case JsonTokenType.PropertyName:
                    var name = Name(ref reader);
                    var top = frames[^1];
                    if (!top.Keys!.Add(name))
                    {
                        return PathOf(frames, name);
                    }
                    top.Property = name;
                    break;
                default:
                    Step(frames);
                    break;
            }
        }
        return null;
    }

    /// <summary>Whether a key or string escapes half a UTF-16 surrogate pair, which no reader can turn into text.</summary>
    public static bool HasUndecodableString(ReadOnlySpan<byte> payload)
    {
        var reader = new Utf8JsonReader(payload);
        while (reader.Read())
        {
            if (reader.TokenType is JsonTokenType.String or JsonTokenType.PropertyName && reader.ValueIsEscaped)
            {
                try
                {
                    reader.GetString();
                }
                catch (InvalidOperationException)
                {
                    return true;
                }
            }
        }
        return false;
    }

    // Unescaped, so "a" and "\u0061" are one key, as the serializer sees them; a name holding
    // half a surrogate pair has no text and is compared as written.
    private static string Name(ref Utf8JsonReader reader)
    {
        try
        {
            return reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            return System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? System.Buffers.BuffersExtensions.ToArray(reader.ValueSequence) : reader.ValueSpan);
        }
    }

    // A value starting inside an array moves that array's index on.
    private static void Step(List<Frame> frames)
    {
        if (frames.Count > 0 && frames[^1].Keys is null)
        {
            frames[^1].Index++;
        }
    }

    private static string PathOf(List<Frame> frames, string last)
    {
        var path = new System.Text.StringBuilder();
        for (var i = 0; i < frames.Count; i++)
        {
            var f = frames[i];
            var segment = i == frames.Count - 1 ? last : f.Property;
            if (f.Keys is null)
            {
                path.Append('[').Append(f.Index).Append(']');
            }
            else
            {
                path.Append(path.Length == 0 ? "" : ".").Append(Shorten(segment ?? ""));
            }
        }
        return path.ToString();
    }

    private sealed class Frame(HashSet<string>? keys)
    {
        public HashSet<string>? Keys { get; } = keys;
        public string? Property { get; set; }
        public int Index { get; set; } = -1;
    }

    /// <summary>"amount must be a number (yuan, e.g. 199.00), not a string" for the serializer's JSON path "$.amount".</summary>
    public static string DescribeWrongType(ReadOnlySpan<byte> payload, string jsonPath)
    {
        var segments = new List<object>();
        foreach (Match m in PathSegment().Matches(jsonPath))
        {
            segments.Add(m.Groups[3].Success ? int.Parse(m.Groups[3].Value, System.Globalization.CultureInfo.InvariantCulture)
                : m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value);
        }
        var field = string.Concat(segments.Select((s, i) => s is int n ? $"[{n}]" : (i == 0 ? "" : ".") + Shorten((string)s)));
        var actual = ActualKind(payload, segments);
        return $"{field} must be {Expected(segments)}" + (actual is null ? "" : $", not {actual}");
    }

    private static string Expected(List<object> segments)
    {
        var last = segments.Count == 0 ? null : segments[^1];
        var parent = segments.Count >= 2 ? segments[^2] as string : null;
        return last switch
        {
            int when parent == "items" => "an object {sku, qty, price}",
            "ids" when segments.Count == 1 => "an object of id type to value, e.g. {\"member_id\":\"M1\"}",
            "items" when segments.Count == 1 => "an array of {sku, qty, price}",
            "tags" when segments.Count == 1 => "an object of tag name to value",
            "amount" or "price" => "a number of yuan with at most 2 decimals, e.g. 199.00",
            "qty" => "a whole number",
            string s when Strings.Contains(s) => "a string",
            _ => "of another type",
        };
    }

    /// <summary>What the payload holds at that path ("a string", "the number 1.5"), or null if it cannot be found.</summary>
    private static string? ActualKind(ReadOnlySpan<byte> payload, List<object> segments)
    {
        try
        {
            using var doc = JsonDocument.Parse(payload.ToArray());
            var node = doc.RootElement;
            foreach (var s in segments)
            {
                if (s is int i)
                {
                    if (node.ValueKind != JsonValueKind.Array || i >= node.GetArrayLength())
                    {
                        return null;
                    }
                    node = node[i];
                }
                else if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty((string)s, out node))
                {
                    return null;
                }
            }
            return node.ValueKind == JsonValueKind.Number ? $"the number {Shorten(node.GetRawText())}" : KindName(node.ValueKind);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "something else",
    };

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
