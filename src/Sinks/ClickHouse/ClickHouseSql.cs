using System.Text.RegularExpressions;

namespace Siyu.Sinks.ClickHouse;

/// <summary>Identifiers, which (unlike values) cannot be bound as parameters: validated, then quoted.</summary>
public static partial class ClickHouseSql
{
    /// <summary>
    /// Quotes <c>table</c> or <c>database.table</c> as <c>`database`.`table`</c>. Only plain names
    /// (letters, digits, underscore; not starting with a digit) are accepted, so nothing can be injected.
    /// </summary>
    public static string QuoteTableName(string table)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(table);
        var m = QualifiedNameRegex().Match(table);
        if (!m.Success)
        {
            throw new ArgumentException(
                $"'{table}' is not a plain table name (table or database.table; letters, digits, underscore).", nameof(table));
        }

        return m.Groups[1].Success
            ? $"`{m.Groups[1].Value}`.`{m.Groups[2].Value}`"
            : $"`{m.Groups[2].Value}`";
    }

    [GeneratedRegex(@"^(?:([A-Za-z_][A-Za-z0-9_]*)\.)?([A-Za-z_][A-Za-z0-9_]*)$")]
    private static partial Regex QualifiedNameRegex();
}
