using Siyu.Actors.Campaigns;
using Siyu.Sinks.Rows;

namespace Siyu.Host.Node;

/// <summary>Runs the node's campaign feed, and copies each campaign to ClickHouse for sell-through.</summary>
public sealed class CampaignFeedService(CampaignFeed feed, SinkService sinks, TimeProvider clock, ILogger<CampaignFeedService> log) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken)
    {
        feed.Changed += async (id, campaign, stamp) =>
        {
            if (campaign is null)
            {
                return;
            }
            try
            {
                var sink = await sinks.Ready;
                await sink.Campaigns.WriteAsync(new CampaignRow
                {
                    CampaignId = campaign.CampaignId,
                    Type = campaign.Type.WireName(),
                    Name = campaign.Name,
                    StoreId = campaign.StoreId ?? "",
                    GroupIds = [.. campaign.GroupIds],
                    Skus = [.. campaign.Skus],
                    Stock = campaign.Stock is { } stock ? (uint)stock : null,
                    StartsAt = campaign.StartsAt,
                    EndsAt = campaign.EndsAt,
                    AttributionWindowHours = (ushort)Math.Clamp(campaign.AttributionWindow.TotalHours, 0, ushort.MaxValue),
                    // The feed's order, not a counter: the latest definition wins in ClickHouse too, across restarts.
                    Version = stamp.Version,
                    UpdatedAt = clock.GetUtcNow(),
                }, stoppingToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                log.LogWarning(e, "Campaign {CampaignId} not copied to ClickHouse", id);
            }
        };
        return feed.RunAsync(stoppingToken);
    }
}
