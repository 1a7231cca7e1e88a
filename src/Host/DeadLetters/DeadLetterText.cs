using System.Globalization;
using System.Text;
using Siyu.Ingest;

namespace Siyu.Host.DeadLetters;

/// <summary>
/// How the CLI shows dead letters: aligned plain text that scripts can split on whitespace, and
/// refused bytes made safe for a terminal (a producer's bug can put escape sequences, bidi
/// overrides or binary in a message; printed raw they would garble or spoof the output).
/// </summary>
public static class DeadLetterText
{
    public static string Time(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);

    /// <summary>Counts by reason and topic, most first.</summary>
    public static string Stats(IReadOnlyList<DeadLetter> deadLetters, string topic, DateTimeOffset? from, DateTimeOffset? to)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{deadLetters.Count} dead letters in {topic}")
            .Append(from is { } f ? $" from {Time(f)}" : "")
            .Append(to is { } t ? $" to {Time(t)}" : "")
            .AppendLine();
        var rows = deadLetters
            .GroupBy(d => (Reason: d.Record?.Reason ?? "(unreadable)", Topic: d.Record?.Topic ?? "-"))
            .Select(g => (g.Key.Reason, g.Key.Topic, Count: g.Count(), First: g.Min(d => d.At), Last: g.Max(d => d.At)))
            .OrderByDescending(r => r.Count).ThenBy(r => r.Reason, StringComparer.Ordinal).ThenBy(r => r.Topic, StringComparer.Ordinal)
            .ToList();
        if (rows.Count == 0)
        {
            return text.ToString();
        }
        var reasonWidth = Math.Max("reason".Length, rows.Max(r => r.Reason.Length));
        var topicWidth = Math.Max("topic".Length, rows.Max(r => r.Topic.Length));
        var countWidth = Math.Max("count".Length, rows.Max(r => r.Count.ToString(CultureInfo.InvariantCulture).Length));
        text.AppendLine($"{"reason".PadRight(reasonWidth)}  {"topic".PadRight(topicWidth)}  {"count".PadLeft(countWidth)}  first                     last");
        foreach (var r in rows)
        {
            text.AppendLine(CultureInfo.InvariantCulture,
                $"{Safe(r.Reason).PadRight(reasonWidth)}  {Safe(r.Topic).PadRight(topicWidth)}  {r.Count.ToString(CultureInfo.InvariantCulture).PadLeft(countWidth)}  {Time(r.First)}  {Time(r.Last)}");
        }
        return text.ToString();
    }

    /// <summary>One dead letter: when, why, where from, the error and the refused bytes (shown safely, cut at <paramref name="maxChars"/>).</summary>
    public static string Describe(DeadLetter d, int maxChars)
    {
        var text = new StringBuilder();
        text.Append(CultureInfo.InvariantCulture, $"{Time(d.At)}  deadletter {d.Partition}/{d.Offset}");
        if (d.Record is not { } r)
        {
            return text.AppendLine($"  unreadable dead letter: {Safe(d.Unreadable ?? "")}").ToString();
        }
        text.AppendLine(CultureInfo.InvariantCulture, $"  {Safe(r.Reason)}  from {Safe(r.Topic)} {r.Partition}/{r.Offset}");
        if (d.Key is { } key)
        {
            text.AppendLine($"  key:   {Bytes(key, maxChars)}");
        }
        text.AppendLine($"  error: {Safe(r.Error)}");
        var raw = DeadLetterPublisher.RawBytes(r);
        var size = r.RawSize > 0 ? r.RawSize : raw.Length;
        text.AppendLine(CultureInfo.InvariantCulture,
            $"  raw ({size} bytes{(r.RawTruncated ? $", only the first {raw.Length} kept" : "")}): {Bytes(raw, maxChars)}");
        return text.ToString();
    }

    /// <summary>UTF-8 text shown with <see cref="Safe"/>; anything else as hex.</summary>
    public static string Bytes(byte[] bytes, int maxChars)
    {
        if (System.Text.Unicode.Utf8.IsValid(bytes))
        {
            var s = Safe(Encoding.UTF8.GetString(bytes));
            return s.Length > maxChars ? s[..maxChars] + $"… ({s.Length - maxChars} more chars)" : s;
        }
        var shown = Math.Max(1, maxChars / 3);
        var hex = string.Join(' ', bytes.Take(shown).Select(b => b.ToString("x2", CultureInfo.InvariantCulture)));
        return $"(not UTF-8, hex) {hex}" + (bytes.Length > shown ? $" … ({bytes.Length - shown} more bytes)" : "");
    }

    /// <summary>
    /// Text with every control character (C0, DEL, C1), line and paragraph separator and bidi
    /// control written as a \uXXXX escape, and backslashes doubled so an escape is unambiguous.
    /// </summary>
    public static string Safe(string s)
    {
        var text = new StringBuilder(s.Length);
        foreach (var c in s)
        {
            if (c == '\\')
            {
                text.Append(@"\\");
            }
            else if (c < 0x20 || c is >= '\u007f' and <= '\u009f' || c is '\u2028' or '\u2029' or '\u061c'
                     || c is >= '\u200e' and <= '\u200f' || c is >= '\u202a' and <= '\u202e' || c is >= '\u2066' and <= '\u2069')
            {
                text.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}");
            }
            else
            {
                text.Append(c);
            }
        }
        return text.ToString();
    }

    /// <summary>
    /// A point in time for --from/--to: ISO 8601 with an offset (2026-12-03T08:00:00Z), or a span
    /// back from now (90s, 30m, 2h, 7d).
    /// </summary>
    public static bool TryParseTime(string text, DateTimeOffset now, out DateTimeOffset at)
    {
        text = text.Trim();
        if (text.Length >= 2 && char.IsAsciiLetter(text[^1])
            && double.TryParse(text[..^1], NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out var n))
        {
            TimeSpan? span = text[^1] switch
            {
                's' => TimeSpan.FromSeconds(n),
                'm' => TimeSpan.FromMinutes(n),
                'h' => TimeSpan.FromHours(n),
                'd' => TimeSpan.FromDays(n),
                _ => null,
            };
            if (span is { } ago)
            {
                at = now - ago;
                return true;
            }
        }
        // An offset is required: a bare local time would mean different instants on different machines.
        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out at)
            && (text.EndsWith('Z') || text.EndsWith('z') || System.Text.RegularExpressions.Regex.IsMatch(text, @"[+-]\d\d:?\d\d$")))
        {
            return true;
        }
        at = default;
        return false;
    }
}
