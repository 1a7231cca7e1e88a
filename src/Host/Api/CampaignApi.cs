using System.Text.RegularExpressions;
using Siyu.Host.Node;
using Siyu.Host.Api.Security;

namespace Siyu.Host.Api;

/// <summary>GET /v1/campaigns/{campaign_id}/live: what an operator watches during a flash sale, from ClickHouse.</summary>
public static partial class CampaignApi
{
    [GeneratedRegex("^[A-Za-z0-9._:-]{1,128}$")]
    private static partial Regex CampaignIdFormat();

    public static void MapCampaignApi(this WebApplication app) =>
        app.MapGet("/v1/campaigns/{campaignId}/live", async Task<IResult> (string campaignId, string? from, string? to, SinkService sinks, CancellationToken ct) =>
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
            return TypedResults.Ok(new CampaignLiveAnswer(
                live.CampaignId,
                ApiWindow.Of(live.From, live.To),
                live.Period is { } c ? new CampaignPeriodBody(ApiInput.Iso(c.StartsAt)!, ApiInput.Iso(c.EndsAt)!, c.AttributionWindow.TotalHours) : null,
                live.Revenue, live.RefundAmount, live.Orders, live.Refunds, live.Buyers,
                live.UnitsSold, live.UnitsAfterCampaign, live.Stock, live.SellThrough,
                [.. live.Minutes.Select(m => new CampaignMinuteBody(m.Minute, m.Revenue, m.Orders, m.Buyers, m.Units, m.UnitsSold, m.UnitsAfterCampaign))]));
        })
        .WithTags("Campaigns")
        .WithSummary("A campaign's figures, totals and per minute, all over one window")
        .WithDescription("Revenue (net of refunds), orders, buyers, units sold through the campaign and later buys of its skus, stock and sell-through, from ClickHouse. "
            + "Without a range: the campaign's own period plus its attribution window; a bound left out is taken from there. from and to are ISO 8601 with offset, at most 92 days apart.")
        .Produces<CampaignLiveAnswer>()
        .Produces<ApiError>(StatusCodes.Status400BadRequest)
        .RequireRole(ApiSecurity.Pos);
}

/// <summary>The answer of <c>GET /v1/campaigns/{campaign_id}/live</c> (see <see cref="Siyu.Sinks.CampaignLive"/>); campaign is null when its definition is unknown.</summary>
public sealed record CampaignLiveAnswer(
    string CampaignId,
    ApiWindow Window,
    CampaignPeriodBody? Campaign,
    decimal Revenue,
    decimal RefundAmount,
    ulong Orders,
    ulong Refunds,
    ulong Buyers,
    long UnitsSold,
    long? UnitsAfterCampaign,
    uint? Stock,
    double? SellThrough,
    IReadOnlyList<CampaignMinuteBody> PerMinute);

/// <summary>The campaign's own period as defined on siyu.campaigns.</summary>
public sealed record CampaignPeriodBody(string StartsAt, string EndsAt, double AttributionWindowHours);

/// <summary>One minute of a live campaign (minutes with no sale are absent).</summary>
public sealed record CampaignMinuteBody(DateTimeOffset Minute, decimal Revenue, ulong Orders, ulong Buyers, long Units, long UnitsSold, long? UnitsAfterCampaign);
