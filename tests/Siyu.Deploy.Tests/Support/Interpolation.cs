using System.Text.RegularExpressions;

namespace Siyu.Deploy.Tests.Support;

/// <summary>A variable reference in a compose file or a Grafana provisioning file: ${NAME}, ${NAME:?err}, ${NAME:-default}, $NAME.</summary>
internal sealed record VarRef(string Name, string Operator, string Argument)
{
    /// <summary>Compose refuses to start when the variable is unset or empty.</summary>
    public bool IsRequired => Operator is ":?" or "?";
}

internal static partial class Interpolation
{
    [GeneratedRegex(@"\$\{(?<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?<op>:?[-?+])(?<arg>[^}]*))?\}|\$(?<bare>[A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Reference();

    public static IReadOnlyList<VarRef> References(string value) =>
        Reference().Matches(value.Replace("$$", "\u0000\u0000", StringComparison.Ordinal))
            .Select(m => m.Groups["bare"].Success
                ? new VarRef(m.Groups["bare"].Value, string.Empty, string.Empty)
                : new VarRef(m.Groups["name"].Value, m.Groups["op"].Value, m.Groups["arg"].Value))
            .ToList();

    /// <summary>True when the whole value is exactly one variable reference (no literal text around it).</summary>
    public static bool IsOnlyReference(string value, out VarRef reference)
    {
        var match = Reference().Match(value.Trim());
        if (match.Success && match.Length == value.Trim().Length)
        {
            reference = References(value.Trim())[0];
            return true;
        }

        reference = new VarRef(string.Empty, string.Empty, string.Empty);
        return false;
    }
}
