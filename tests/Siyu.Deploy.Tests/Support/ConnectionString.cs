namespace Siyu.Deploy.Tests.Support;

internal static class ConnectionString
{
    /// <summary>Parses "Key=Value;Key=Value" (ClickHouse.Driver and Npgsql style), keys case-insensitive.</summary>
    public static IReadOnlyDictionary<string, string> Parse(string connectionString)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var part in connectionString.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = part.IndexOf('=', StringComparison.Ordinal);
            Assert.True(eq > 0, $"'{part}' in connection string '{connectionString}' is not Key=Value");
            result[part[..eq].Trim()] = part[(eq + 1)..].Trim();
        }

        return result;
    }

    public static string Part(this IReadOnlyDictionary<string, string> parts, string key, string what)
    {
        Assert.True(parts.TryGetValue(key, out var value) && value.Length > 0, $"{what}: connection string has no {key}=");
        return value!;
    }
}
