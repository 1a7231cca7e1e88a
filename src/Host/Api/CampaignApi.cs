using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Siyu.Host.Node;

namespace Siyu.Host.Api;

/// <summary>GET /v1/campaigns/{campaign_id}/live: what an operator watches during a flash sale, from ClickHouse.</summary>
public static partial class CampaignApi
{
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex CampaignIdFormat();

    public static void MapCampaignApi(this WebApplication app) =>
        app.MapGet("/v1/campaigns/{campaignId}/live", async (string campaignId, string? from, string? to, SinkService sinks, CancellationToken ct) =>
        {
            if (!CampaignIdFormat().IsMatch(campaignId))
            {
                return ApiInput.Error(400, "campaign_id must be 1-128 letters, digits or . _ : -");
            }
            // Parsed here rather than bound by the framework, whose refusal is a 400 with no body
            // (found by the API fuzz test in tests/Siyu.Reliability.Tests).
            if (!ApiInput.TryTime(from, out var fromTime) || !ApiInput.TryTime(to, out var toTime))
            {
                return ApiInput.Error(400, ApiInput.TimeFormatError);
            }
            // Without a range every figure covers the campaign's own period plus its attribution
            // window; a bound left out is taken from there (open when the definition is unknown).
            if (fromTime is { } f && toTime is { } t && (f >= t || t - f > ApiInput.MaxRange))
            {
                return ApiInput.Error(400, "from must be before to, at most 92 days apart");
            }
            var queries = (await sinks.Ready).Queries;
            var period = await queries.CampaignPeriodAsync(campaignId, ct);
            if (period is not null && (fromTime ?? period.DefaultWindow.From) >= (toTime ?? period.DefaultWindow.To))
            {
                return ApiInput.Error(400, $"from must be before to (the campaign's window is {ApiInput.Iso(period.DefaultWindow.From)} to {ApiInput.Iso(period.DefaultWindow.To)})");
            }
            var live = await queries.CampaignLiveAsync(campaignId, fromTime, toTime, period, ct);
            return Results.Json(new JsonObject
            {
                ["campaign_id"] = live.CampaignId,
                ["window"] = new JsonObject { ["from"] = ApiInput.Iso(live.From), ["to"] = ApiInput.Iso(live.To) },
                ["campaign"] = live.Period is { } c
                    ? new JsonObject
                    {
                        ["starts_at"] = ApiInput.Iso(c.StartsAt),
                        ["ends_at"] = ApiInput.Iso(c.EndsAt),
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
