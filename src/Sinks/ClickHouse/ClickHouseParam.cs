using System.Collections;
using System.Globalization;
using System.Text;

namespace Siyu.Sinks.ClickHouse;

/// <summary>
/// Renders .NET values in ClickHouse's text form for query parameters (<c>{name:Type}</c>),
/// the form both chDB's <c>chdb_query_with_params</c> and the server's HTTP <c>param_name</c> take.
/// </summary>
/// <remarks>
/// Measured on chDB 26.5: a top-level String parameter is read in the "escaped" form — a
/// backslash starts an escape (<c>\\</c>, <c>\t</c>, <c>\n</c>…), a raw tab or newline is refused,
/// and <c>\N</c> means NULL — while an Array parameter is read as a literal (<c>['a','b\'c']</c>)
/// with no outer escaping layer. DateTime parameters refuse a fraction; DateTime64 accepts one.
/// Binding is never injection-prone (the value is parsed as data after the SQL is parsed); getting
/// this form right only decides whether the value arrives intact.
/// </remarks>
public static class ClickHouseParam
{
    /// <summary>The value that binds SQL NULL to a <c>Nullable(…)</c> parameter.</summary>
    public const string Null = @"\N";

    /// <summary>
    /// Renders <paramref name="value"/>: null, string, char, bool, integers, floating point, decimal,
    /// DateTime (UTC; local times are converted), DateTimeOffset (as UTC), DateOnly, Guid, and
    /// sequences of these (as an Array literal; nested sequences nest).
    /// </summary>
    public static string Of(object? value) => value switch
    {
        null => Null,
        string s => Escape(s),
        char c => Escape(c.ToString()),
        IEnumerable e => ArrayLiteral(e),
        _ => Scalar(value),
    };

    /// <summary>Escapes a string for a String/FixedString/Enum/LowCardinality(String) parameter.</summary>
    public static string Escape(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.AsSpan().IndexOfAny("\\\t\n\r\0\b\f") < 0)
        {
            return value;
        }

        var sb = new StringBuilder(value.Length + 8);
        foreach (var ch in value)
        {
            AppendEscaped(sb, ch);
        }

        return sb.ToString();
    }

    private static string Scalar(object value) => value switch
    {
        bool b => b ? "true" : "false",
        DateTime dt => DateTimeText(dt),
        DateTimeOffset dto => DateTimeText(dto.UtcDateTime),
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        Guid g => g.ToString("D"),
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        float f => f.ToString("R", CultureInfo.InvariantCulture),
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => throw new ArgumentException(
            $"No ClickHouse parameter form for {value.GetType()}; render it as a string yourself.", nameof(value)),
    };

    private static string ArrayLiteral(IEnumerable items)
    {
        var sb = new StringBuilder("[");
        var first = true;
        foreach (var item in items)
        {
            if (!first)
            {
                sb.Append(',');
            }

            first = false;
            AppendLiteral(sb, item);
        }

        return sb.Append(']').ToString();
    }

    // Inside an Array literal: strings and dates are quoted, NULL is a keyword.
    private static void AppendLiteral(StringBuilder sb, object? item)
    {
        switch (item)
        {
            case null:
                sb.Append("NULL");
                break;
            case string s:
                AppendQuoted(sb, s);
                break;
            case char c:
                AppendQuoted(sb, c.ToString());
                break;
            case IEnumerable e:
                sb.Append(ArrayLiteral(e));
                break;
            case DateTime or DateTimeOffset or DateOnly or Guid:
                AppendQuoted(sb, Scalar(item));
                break;
            default:
                sb.Append(Scalar(item));
                break;
        }
    }

    private static void AppendQuoted(StringBuilder sb, string s)
    {
        sb.Append('\'');
        foreach (var ch in s)
        {
            if (ch == '\'')
            {
                sb.Append("\\'");
            }
            else
            {
                AppendEscaped(sb, ch);
            }
        }

        sb.Append('\'');
    }

    private static void AppendEscaped(StringBuilder sb, char ch)
    {
        switch (ch)
        {
            case '\\': sb.Append(@"\\"); break;
            case '\t': sb.Append(@"\t"); break;
            case '\n': sb.Append(@"\n"); break;
            case '\r': sb.Append(@"\r"); break;
            case '\0': sb.Append(@"\0"); break;
            case '\b': sb.Append(@"\b"); break;
            case '\f': sb.Append(@"\f"); break;
            default: sb.Append(ch); break;
        }
    }

    // Whole seconds print without a fraction so the value also binds to DateTime (which refuses one).
    private static string DateTimeText(DateTime dt)
    {
        if (dt.Kind == DateTimeKind.Local)
        {
            dt = dt.ToUniversalTime();
        }

        return dt.Ticks % TimeSpan.TicksPerSecond == 0
            ? dt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)
            : dt.ToString("yyyy-MM-dd HH:mm:ss.fffffff", CultureInfo.InvariantCulture);
    }
}
