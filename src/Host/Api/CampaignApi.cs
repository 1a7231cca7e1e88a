using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Siyu.Host.Node;

namespace Siyu.Host.Api;

/// <summary>GET /v1/campaigns/{campaign_id}/live: what an operator watches during a flash sale, from ClickHouse.</summary>
public static partial class CampaignApi
{
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex CampaignIdFormat();

    // ClickHouse's DateTime covers 1970 to early 2106.
    private static bool TryTime(string? text, out DateTimeOffset? time)
    {
        time = null;
        if (string.IsNullOrEmpty(text))
        {
            return true;
        }
        if (!DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture,
                System.Globalization.DateTimeStyles.AssumeUniversal, out var parsed) || parsed.Year is < 1970 or > 2105)
        {
            return false;
        }
        time = parsed;
        return true;
    }

    private static string? Iso(DateTimeOffset? t) =>
        t?.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    public static void MapCampaignApi(this WebApplication app) =>
        app.MapGet("/v1/campaigns/{campaignId}/live", async (string campaignId, string? from, string? to, SinkService sinks, CancellationToken ct) =>
        {
            if (!CampaignIdFormat().IsMatch(campaignId))
            {
                return Results.Json(new JsonObject { ["error"] = "campaign_id must be 1-128 letters, digits or . _ : -" }, statusCode: 400);
            }
            // Parsed here rather than bound by the framework, whose refusal is a 400 with no body
            // (found by the API fuzz test in tests/Siyu.Reliability.Tests).
            if (!TryTime(from, out var fromTime) || !TryTime(to, out var toTime))
            {
                return Results.Json(new JsonObject { ["error"] = "from and to must be ISO 8601 times between 1970 and 2105, e.g. 2026-11-23T10:00:00+08:00" }, statusCode: 400);
            }
            // Without a range every figure covers the campaign's own period plus its attribution
            // window; a bound left out is taken from there (open when the definition is unknown).
            if (fromTime is { } f && toTime is { } t && (f >= t || t - f > TimeSpan.FromDays(92)))
            {
                return Results.Json(new JsonObject { ["error"] = "from must be before to, at most 92 days apart" }, statusCode: 400);
            }
            var queries = (await sinks.Ready).Queries;
            var period = await queries.CampaignPeriodAsync(campaignId, ct);
            if (period is not null && (fromTime ?? period.DefaultWindow.From) >= (toTime ?? period.DefaultWindow.To))
            {
                return Results.Json(new JsonObject { ["error"] = $"from must be before to (the campaign's window is {Iso(period.DefaultWindow.From)} to {Iso(period.DefaultWindow.To)})" }, statusCode: 400);
            }
            var live = await queries.CampaignLiveAsync(campaignId, fromTime, toTime, period, ct);
            return Results.Json(new JsonObject
            {
                ["campaign_id"] = live.CampaignId,
                ["window"] = new JsonObject { ["from"] = Iso(live.From), ["to"] = Iso(live.To) },
                ["campaign"] = live.Period is { } c
                    ? new JsonObject
                    {
                        ["starts_at"] = Iso(c.StartsAt),
                        ["ends_at"] = Iso(c.EndsAt),
                        ["attribution_window_hours"] = c.AttributionWindow.TotalHours,
                    }
                    : null,
                ["revenue"] = live.Revenue,
                ["refund_amount"] = live.RefundAmount,
                ["orders"] = live.Orders,
                ["refunds"] = live.Refunds,
                ["buyers"] = live.Buyers,
                ["units_sold"] = live.UnitsSold,
                ["units_after_campaign"] = live.UnitsAfterCampaign,
                ["stock"] = live.Stock,
                ["sell_through"] = live.SellThrough,
                ["per_minute"] = new JsonArray([.. live.Minutes.Select(m => (JsonNode)new JsonObject
                {
                    ["minute"] = m.Minute,
                    ["revenue"] = m.Revenue,
                    ["orders"] = m.Orders,
                    ["buyers"] = m.Buyers,
                    ["units"] = m.Units,
                    ["units_sold"] = m.UnitsSold,
                    ["units_after_campaign"] = m.UnitsAfterCampaign,
                })]),
            });
        });
}
