using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts.Events;

namespace Siyu.Host.Tests;

/// <summary>From Kafka to the operator's number: campaign, orders, a solitaire, a refund, through ClickHouse.</summary>
[Collection(NodeCollection.Name)]
public sealed class CampaignLiveTests(NodeFixture node)
{
    private static readonly DateTimeOffset T0 = DateTimeOffset.UtcNow.AddMinutes(-30);

    private static OrderPlaced Order(string id, string member, decimal amount, string? campaign = null, string sku = "CHERRY-5J") => new()
    {
        EventId = id, OccurredAt = T0.AddMinutes(5), Channel = Channel.MiniProgram, StoreId = "S001",
        Ids = new CustomerIds { MemberId = member }, OrderId = "O-" + id, Amount = amount,
        Items = [new LineItem(sku, 1, amount)], Payment = Payment.WechatPay, CampaignId = campaign,
    };

    [Fact]
    public async Task The_live_campaign_answer_adds_up_direct_and_last_touch_sales_net_of_refunds()
    {
        var campaign = $$"""{"campaign_id":"SOL-LIVE","type":"solitaire","name":"cherries 5 jin","skus":["CHERRY-5J"],"stock":100,"starts_at":"{{T0:O}}","ends_at":"{{T0.AddHours(6):O}}"}""";
        await node.Producer.ProduceAsync(node.Topics.Campaigns, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes("SOL-LIVE"), Value = Encoding.UTF8.GetBytes(campaign) });
        await Task.Delay(1000); // the feed reads the campaign before the orders are decided

        await node.SendAsync(Order("live-1", "LIVE-M1", 199m, campaign: "SOL-LIVE"));                    // direct
        await node.SendAsync(new SolitaireJoined
        {
            EventId = "live-2", OccurredAt = T0.AddMinutes(1), Channel = Channel.Group, Ids = new CustomerIds { MemberId = "LIVE-M2" },
            GroupId = "GR-LIVE", CampaignId = "SOL-LIVE", Items = [new LineItem("CHERRY-5J", 1, 199m)],
        });
        await Task.Delay(500);
        await node.SendAsync(Order("live-3", "LIVE-M2", 199m));                                          // last_touch
        await node.SendAsync(Order("live-4", "LIVE-M3", 50m, sku: "APPLE-6"));                           // organic
        await node.SendAsync(new OrderRefunded
        {
            EventId = "live-5", OccurredAt = T0.AddMinutes(20), Channel = Channel.MiniProgram, Ids = new CustomerIds { MemberId = "LIVE-M1" },
            OrderId = "O-live-1", Amount = 99m,
        });

        var live = await NodeFixture.Eventually(async () =>
            {
                var r = await node.Http.GetAsync("/v1/campaigns/SOL-LIVE/live");
                return r.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await r.Content.ReadAsStringAsync()) : null;
            },
            j => j?["refunds"]?.GetValue<ulong>() == 1 && j["orders"]?.GetValue<ulong>() == 2, seconds: 40);

        Assert.NotNull(live);
        Assert.Equal(2UL, live!["orders"]!.GetValue<ulong>());
        Assert.Equal(2UL, live["buyers"]!.GetValue<ulong>());
        Assert.Equal(398m - 99m, live["revenue"]!.GetValue<decimal>());
        Assert.Equal(100U, live["stock"]!.GetValue<uint>());
        Assert.NotEmpty(live["per_minute"]!.AsArray());
    }

    [Fact]
    public async Task A_malformed_campaign_id_is_a_400()
    {
        var r = await node.Http.GetAsync("/v1/campaigns/bad%20id!/live");
        Assert.Equal(HttpStatusCode.BadRequest, r.StatusCode);
    }
}
