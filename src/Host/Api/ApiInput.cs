using System.Globalization;
using System.Text.Json.Serialization;

namespace Siyu.Host.Api;

/// <summary>The body of every 4xx/5xx answer of the API: what is wrong, in one sentence.</summary>
public sealed record ApiError([property: JsonPropertyName("error")] string Error);

/// <summary>The window an answer covers: minutes starting from <c>from</c> to <c>to</c>, UTC (RFC 3339); null is unbounded.</summary>
public sealed record ApiWindow(
    [property: JsonPropertyName("from")] string? From,
    [property: JsonPropertyName("to")] string? To)
{
    public static ApiWindow Of(DateTimeOffset? from, DateTimeOffset? to) => new(ApiInput.Iso(from), ApiInput.Iso(to));
}

/// <summary>Query input shared by the read endpoints, parsed by hand so every refusal is a 400 with a body.</summary>
internal static class ApiInput
{
    /// <summary>The longest range a read endpoint takes: ClickHouse scans per minute.</summary>
    public static readonly TimeSpan MaxRange = TimeSpan.FromDays(92);

    public const string TimeFormatError = "from and to must be ISO 8601 times between 1970 and 2105, e.g. 2026-11-23T10:00:00+08:00";

    public static IResult Error(int status, string error) => Results.Json(new ApiError(error), statusCode: status);

    /// <summary>An absent or empty value is null; ClickHouse's DateTime covers 1970 to early 2106.</summary>
    public static bool TryTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        if (!DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed)
            || parsed.Year is < 1970 or > 2105)
        {
            return false;
        }
        time = parsed;
        return true;
    }

    /// <summary>UTC, milliseconds, <c>Z</c>: how the API writes times it computed.</summary>
    public static string? Iso(DateTimeOffset? t) =>
        t?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
}
