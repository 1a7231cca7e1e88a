using System.Text.Json.Serialization;
using Siyu.Host.Node;
using Siyu.Sinks;
using Siyu.Host.Api.Security;

namespace Siyu.Host.Api;

/// <summary>One row of <c>GET /v1/sales/summary</c>: a key's totals over the window.</summary>
public sealed record SalesSummaryRow(
    [property: JsonPropertyName("key")] string Key,
    [property: JsonPropertyName("net")] decimal Net,
    [property: JsonPropertyName("gross")] decimal Gross,
    [property: JsonPropertyName("refund_amount")] decimal RefundAmount,
    [property: JsonPropertyName("orders")] ulong Orders,
    [property: JsonPropertyName("refunds")] ulong Refunds,
    [property: JsonPropertyName("buyers")] ulong Buyers);

/// <summary>The answer of <c>GET /v1/sales/summary</c>.</summary>
public sealed record SalesSummary(
    [property: JsonPropertyName("by")] string By,
    [property: JsonPropertyName("window")] ApiWindow Window,
    [property: JsonPropertyName("rows")] IReadOnlyList<SalesSummaryRow> Rows);

/// <summary>
/// GET /v1/sales/summary?by=rule|campaign|guide|group|store[&amp;from=&amp;to=]: net, gross, refunds and
/// orders per key from the per-minute views the dashboards read, so an operator on the embedded
/// stack (one process may open chDB), a downstream service or a script gets them without a
/// ClickHouse client.
/// </summary>
public static class SalesApi
{
    /// <summary>How far back from <c>to</c> the window starts when <c>from</c> is not given.</summary>
    public static readonly TimeSpan DefaultRange = TimeSpan.FromDays(1);

    private static readonly string[] Parameters = ["by", "from", "to"];

    private static readonly Dictionary<string, SalesDimension> Dimensions = new(StringComparer.Ordinal)
    {
        ["rule"] = SalesDimension.Rule,
        ["campaign"] = SalesDimension.Campaign,
        ["guide"] = SalesDimension.Guide,
        ["group"] = SalesDimension.Group,
        ["store"] = SalesDimension.Store,
    };

    public static RouteHandlerBuilder MapSalesApi(this WebApplication app) =>
        app.MapGet("/v1/sales/summary", Summary)
            .WithTags("Sales")
            .WithSummary("Net, gross, refunds, orders and buyers per rule, campaign, guide, group or store over a window")
            .WithDescription("From the per-minute views the dashboards read. Without a range: the last day up to now; a bound left out is now (to) or a day before to (from). At most 92 days.")
            .WithQuery(
                ApiDocument.Query("by", "what the rows are per", required: true, values: Dimensions.Keys),
                ApiDocument.Query("from", "start of the window (ISO 8601 with offset), inclusive", format: "date-time"),
                ApiDocument.Query("to", "end of the window (ISO 8601 with offset), exclusive", format: "date-time"))
            .Produces<SalesSummary>()
            .Produces<ApiError>(StatusCodes.Status400BadRequest)
            .RequireRole(ApiSecurity.Pos);

    private static async Task<IResult> Summary(HttpRequest request, SinkService sinks, TimeProvider clock, CancellationToken ct)
    {
        // A misspelt parameter (`form=`) would otherwise be ignored and answer for another window.
        var unknown = request.Query.Keys.Where(k => !Parameters.Contains(k, StringComparer.Ordinal)).ToList();
        if (unknown.Count > 0)
        {
            return ApiInput.Error(400, $"unknown parameter {string.Join(", ", unknown)}: give by and optionally from, to");
        }
        if (request.Query.Any(q => q.Value.Count > 1))
        {
            return ApiInput.Error(400, "give each of by, from, to at most once");
        }
        var byText = request.Query["by"].ToString();
        if (!Dimensions.TryGetValue(byText, out var by))
        {
            return ApiInput.Error(400, $"by must be one of {string.Join(", ", Dimensions.Keys)} (got {(byText.Length == 0 ? "none" : $"'{Truncate(byText)}'")})");
        }
        if (!ApiInput.TryTime(request.Query["from"], out var fromTime) || !ApiInput.TryTime(request.Query["to"], out var toTime))
        {
            return ApiInput.Error(400, ApiInput.TimeFormatError);
        }
        // Without a range: the last day up to now; a bound left out is now (to) or a day before to (from).
        var to = toTime ?? clock.GetUtcNow();
        var from = fromTime ?? to - DefaultRange;
        if (from >= to || to - from > ApiInput.MaxRange)
        {
            return ApiInput.Error(400, "from must be before to, at most 92 days apart");
        }

        var totals = await (await sinks.Ready).Queries.SummaryAsync(by, from, to, ct);
        return TypedResults.Ok(new SalesSummary(byText, ApiWindow.Of(from, to),
            [.. totals.Select(t => new SalesSummaryRow(t.Key, t.Net, t.Gross, t.RefundAmount, t.Orders, t.Refunds, t.Buyers))]));
    }

    private static string Truncate(string s) => s.Length <= 32 ? s : s[..32] + "...";
}
