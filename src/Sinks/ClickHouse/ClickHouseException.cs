using System.Globalization;
using System.Text.RegularExpressions;

namespace Siyu.Sinks.ClickHouse;

/// <summary>
/// An error reported by ClickHouse (embedded or server). <see cref="Exception.Message"/> is the
/// engine's own text, e.g. <c>Code: 60. DB::Exception: Unknown table expression identifier … (UNKNOWN_TABLE)</c>.
/// </summary>
public sealed partial class ClickHouseException : Exception
{
    public ClickHouseException(string serverMessage)
        : this(serverMessage, null)
    {
    }

    public ClickHouseException(string serverMessage, Exception? innerException)
        : base(serverMessage, innerException)
    {
        ServerMessage = serverMessage;
        var code = CodeRegex().Match(serverMessage);
        if (code.Success && int.TryParse(code.Groups[1].ValueSpan, NumberStyles.None, CultureInfo.InvariantCulture, out var c))
        {
            Code = c;
        }

        var name = NameRegex().Match(serverMessage);
        if (name.Success)
        {
            ErrorName = name.Groups[1].Value;
        }
    }

    /// <summary>The message exactly as the engine gave it.</summary>
    public string ServerMessage { get; }

    /// <summary>ClickHouse's numeric error code (the first <c>Code: N.</c>), if the message has one.</summary>
    public int? Code { get; }

    /// <summary>ClickHouse's symbolic error name (the trailing <c>(NAME)</c>), e.g. <c>SYNTAX_ERROR</c>.</summary>
    public string? ErrorName { get; }

    [GeneratedRegex(@"Code:\s*(\d+)\.")]
    private static partial Regex CodeRegex();

    [GeneratedRegex(@"\(([A-Z][A-Z0-9_]+)\)\s*$")]
    private static partial Regex NameRegex();
}
