using System.Text.Json.Nodes;
using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Siyu.Actors.Hosting;

namespace Siyu.Host.Api;

/// <summary>
/// GET /v1/cluster: this node's view of the cluster (members, unreachable ones) and the shards it
/// hosts right now, per region. What an operator asks when a node left or crashed ("did its
/// shards move?"), and how the two-node test checks that no shard is live on two nodes at once.
/// Shard ids only: no customer or identifier appears here.
/// </summary>
public static class ClusterApi
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(5);

    public static void MapClusterApi(this WebApplication app) =>
        app.MapGet("/v1/cluster", async (ActorSystem system, ActorRegistry registry, CancellationToken ct) =>
        {
            var cluster = Cluster.Get(system);
            var state = cluster.State;
            var members = new JsonArray();
            foreach (var m in state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal))
            {
                members.Add(new JsonObject
                {
                    ["address"] = m.Address.ToString(),
                    ["status"] = m.Status.ToString(),
                    ["roles"] = new JsonArray([.. m.Roles.Order(StringComparer.Ordinal).Select(r => (JsonNode)r)]),
                });
            }
            return Results.Json(new JsonObject
            {
                ["self"] = cluster.SelfAddress.ToString(),
                ["status"] = cluster.SelfMember.Status.ToString(),
                ["leader"] = state.Leader?.ToString(),
                ["members"] = members,
                ["unreachable"] = new JsonArray([.. state.Unreachable.Select(m => m.Address.ToString()).Order(StringComparer.Ordinal).Select(a => (JsonNode)a)]),
                ["shards"] = new JsonObject
                {
                    ["customer"] = await Shards(registry.Get<CustomerRegion>(), ct),
                    ["identity"] = await Shards(registry.Get<IdentityRegion>(), ct),
                },
            });
        });

    /// <summary>The shards the region hosts on this node, with how many entities each has live.</summary>
    private static async Task<JsonObject> Shards(IActorRef region, CancellationToken ct)
    {
        var current = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, AskTimeout, ct);
        var shards = new JsonObject();
        foreach (var s in current.Shards.OrderBy(s => s.ShardId, StringComparer.Ordinal))
        {
            shards[s.ShardId] = s.EntityIds.Count;
        }
        return shards;
    }
}
