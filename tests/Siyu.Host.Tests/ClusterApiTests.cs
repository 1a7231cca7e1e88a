using System.Net;
using System.Text.Json.Nodes;
using Siyu.Contracts.Events;

namespace Siyu.Host.Tests;

[Collection(NodeCollection.Name)]
public sealed class ClusterApiTests(NodeFixture node)
{
    [Fact]
    public async Task The_cluster_view_lists_this_node_as_an_up_member_and_the_shard_of_a_customer_it_started()
    {
        await node.SendAsync(new OrderPlaced
        {
            EventId = "cluster-api-1", OccurredAt = NodeFixture.Start.AddDays(-1),
            Channel = Channel.Pos, StoreId = "S001", Ids = new CustomerIds { MemberId = "CLUSTER-API-M1" },
            OrderId = "O-cluster-api-1", Amount = 12m, Items = [new LineItem("CHERRY-5J", 1, 12m)], Payment = Payment.Cash,
        });
        await NodeFixture.Eventually(() => node.Http.GetAsync("/v1/customers/lookup?member_id=CLUSTER-API-M1"), r => r.StatusCode == HttpStatusCode.OK);

        var response = await node.Http.GetAsync("/v1/cluster");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var view = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
        Assert.Equal("Up", (string)view["status"]!);
        var member = Assert.Single(view["members"]!.AsArray())!;
        Assert.Equal((string)view["self"]!, (string)member["address"]!);
        Assert.Equal(("Up", "customers"), ((string)member["status"]!, (string)member["roles"]![0]!));
        Assert.Empty(view["unreachable"]!.AsArray());
        // The customer just looked up lives here, so its shard is listed with a live entity.
        Assert.Contains(view["shards"]!["customer"]!.AsObject(), s => (int)s.Value! > 0);
        Assert.NotNull(view["shards"]!["identity"]!.AsObject());
    }
}
