using System.Text;
using Siyu.Contracts.Events;
using Siyu.Tests.Shared;

namespace Siyu.Reliability.Tests.Fuzz;

/// <summary>
/// Seeded generator of hostile event payloads: byte noise, bit flips, truncations, token
/// splices and structural edits of the good corpus, and hostile sizes (huge strings, deep
/// nesting, long arrays, payloads at and over the size limit). The same seed gives the same
/// sequence, so a failure is replayed from the seed and case number it prints.
/// </summary>
public sealed class Mutator(int seed, int maxPayloadBytes = 256 * 1024)
{
    private readonly Random _rng = new(seed);

    private static readonly string[] Tokens =
    [
        "{", "}", "[", "]", "\"", ",", ":", "null", "true", "-0", "1e999", "-1e-999", "99999999999999999999999999999",
        "\\u0000", "\\ud800", "\"\\\"", "NaN", "Infinity", "0x10", "\u200b", "私域", "\ud83c\udf52", "\"amount\":-1",
        "\"event_id\":null", "\"ids\":{}", "\"type\":\"order\"", "\"occurred_at\":\"9999-12-31T23:59:59Z\"",
    ];

    private static readonly string[] Fields =
        ["event_id", "type", "occurred_at", "store_id", "ids", "order_id", "amount", "items", "payment", "campaign_id",
         "group_id", "guide_id", "tags", "birthday", "sku", "page", "coupon_id", "share_group_id", "task", "name"];

    public (Channel Channel, byte[] Payload, string Kind) Next()
    {
        var good = EventCorpus.Good[_rng.Next(EventCorpus.Good.Count)];
        var channel = _rng.Next(10) == 0 ? (Channel)_rng.Next(4) : good.Channel;
        var text = Encoding.UTF8.GetString(good.Payload);
        return _rng.Next(9) switch
        {
            0 => (channel, Noise(_rng.Next(0, 400)), "noise"),
            1 => (channel, Flip(good.Payload), "bit flips"),
            2 => (channel, good.Payload[.._rng.Next(good.Payload.Length)], "truncated"),
            3 => (channel, Encoding.UTF8.GetBytes(Splice(text)), "token splice"),
            4 => (channel, Encoding.UTF8.GetBytes(ReplaceValue(text)), "value replaced"),
            5 => (channel, Encoding.UTF8.GetBytes(DropField(text)), "field dropped"),
            6 => (channel, Hostile(text), "hostile size"),
            7 => (channel, Encoding.UTF8.GetBytes(text.Insert(1, $"\"{Fields[_rng.Next(Fields.Length)]}\":{Value()},")), "duplicate key"),
            _ => (channel, Encoding.UTF8.GetBytes(Splice(ReplaceValue(text))), "combined"),
        };
    }

    private byte[] Noise(int length)
    {
        var bytes = new byte[length];
        _rng.NextBytes(bytes);
        return bytes;
    }

    private byte[] Flip(byte[] payload)
    {
        var copy = (byte[])payload.Clone();
        for (var i = _rng.Next(1, 6); i > 0; i--)
        {
            copy[_rng.Next(copy.Length)] ^= (byte)(1 << _rng.Next(8));
        }
        return copy;
    }

    private string Splice(string text)
    {
        for (var i = _rng.Next(1, 4); i > 0; i--)
        {
            text = text.Insert(_rng.Next(text.Length + 1), Tokens[_rng.Next(Tokens.Length)]);
        }
        return text;
    }

    /// <summary>Replaces the value of one field (found by its quoted name) with a hostile value.</summary>
    private string ReplaceValue(string text)
    {
        var field = Fields[_rng.Next(Fields.Length)];
        var at = text.IndexOf($"\"{field}\":", StringComparison.Ordinal);
        if (at < 0)
        {
            return text.Insert(1, $"\"{field}\":{Value()},");
        }
        var start = at + field.Length + 3;
        var end = ValueEnd(text, start);
        return text[..start] + Value() + text[end..];
    }

    private string DropField(string text)
    {
        var field = Fields[_rng.Next(Fields.Length)];
        var at = text.IndexOf($"\"{field}\":", StringComparison.Ordinal);
        if (at < 0)
        {
            return text;
        }
        var end = ValueEnd(text, at + field.Length + 3);
        return text[..at] + text[end..].TrimStart(',');
    }

    // End of a JSON value starting at start (strings, numbers, nested objects/arrays), tolerant of junk.
    private static int ValueEnd(string text, int start)
    {
        int depth = 0, i = start;
        var inString = false;
        for (; i < text.Length; i++)
        {
            var c = text[i];
            if (inString)
            {
                if (c == '\\') { i++; }
                else if (c == '"') { inString = false; if (depth == 0) { return i + 1; } }
                continue;
            }
            if (c == '"') { inString = true; }
            else if (c is '{' or '[') { depth++; }
            else if (c is '}' or ']') { if (depth == 0) { return i; } depth--; if (depth == 0) { return i + 1; } }
            else if (c == ',' && depth == 0) { return i; }
        }
        return Math.Min(i, text.Length);
    }

    private string Value() => _rng.Next(14) switch
    {
        0 => "null",
        1 => "\"\"",
        2 => "\"" + new string('x', _rng.Next(100, 5000)) + "\"",
        3 => _rng.Next(-1_000_000, 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture),
        4 => "1e308",
        5 => "-0.0000001",
        6 => "[]",
        7 => "{}",
        8 => "[" + string.Join(",", Enumerable.Repeat("{\"sku\":\"A\",\"qty\":1,\"price\":1}", _rng.Next(1, 3000))) + "]",
        9 => new string('[', _rng.Next(10, 3000)) + new string(']', _rng.Next(10, 3000)),
        10 => "\"\\ud800\\udc00\\u0000\\n\"",
        11 => "\"2026-02-30T25:61:61+08:00\"",
        12 => "{\"member_id\":\"" + new string('9', _rng.Next(1, 400)) + "\"}",
        _ => "true",
    };

    /// <summary>Sizes at and over the limit, deep nesting, huge arrays.</summary>
    private byte[] Hostile(string text) => _rng.Next(5) switch
    {
        0 => Encoding.UTF8.GetBytes(Pad(text, maxPayloadBytes + _rng.Next(1, 100_000))),   // over: rejected by size
        1 => Encoding.UTF8.GetBytes(Pad(text, maxPayloadBytes - _rng.Next(0, 1000))),      // just under: parsed in full
        2 => Encoding.UTF8.GetBytes(new string('{', _rng.Next(1000, maxPayloadBytes))),
        3 => Encoding.UTF8.GetBytes(new string('[', _rng.Next(1000, 100_000)) + "1" + new string(']', _rng.Next(1000, 100_000))),
        _ => Encoding.UTF8.GetBytes(text.Insert(1, "\"pad\":[" + string.Join(",", Enumerable.Repeat("0", _rng.Next(1000, 60_000))) + "],")),
    };

    // Pads an event to about `size` bytes with an unknown field, which the parser must bound by size, not read blindly.
    private static string Pad(string text, int size)
    {
        var room = Math.Max(0, size - text.Length - 10);
        return text.Insert(1, "\"pad\":\"" + new string('p', room) + "\",");
    }
}
