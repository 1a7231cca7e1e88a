using Akka.Actor;
using Akka.Cluster;
using Akka.Cluster.Sharding;
using Akka.Hosting;
using Siyu.Actors.Hosting;
using Siyu.Host.Api.Security;

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
            return TypedResults.Ok(new ClusterView(
                cluster.SelfAddress.ToString(),
                cluster.SelfMember.Status.ToString(),
                state.Leader?.ToString(),
                [.. state.Members.OrderBy(m => m.Address.ToString(), StringComparer.Ordinal)
                    .Select(m => new ClusterMemberBody(m.Address.ToString(), m.Status.ToString(), [.. m.Roles.Order(StringComparer.Ordinal)]))],
                [.. state.Unreachable.Select(m => m.Address.ToString()).Order(StringComparer.Ordinal)],
                new ClusterShards(await Shards(registry.Get<CustomerRegion>(), ct), await Shards(registry.Get<IdentityRegion>(), ct))));
        })
        .WithTags("Operations")
        .WithSummary("This node's view of the cluster and the shards it hosts now (shard id -> live entities)")
        .Produces<ClusterView>()
        .RequireRole(ApiSecurity.Admin);

    /// <summary>The shards the region hosts on this node, with how many entities each has live.</summary>
    private static async Task<SortedDictionary<string, int>> Shards(IActorRef region, CancellationToken ct)
    {
        var current = await region.Ask<CurrentShardRegionState>(GetShardRegionState.Instance, AskTimeout, ct);
        var shards = new SortedDictionary<string, int>(StringComparer.Ordinal);
        foreach (var s in current.Shards.OrderBy(s => s.ShardId, StringComparer.Ordinal))
        {
            shards[s.ShardId] = s.EntityIds.Count;
        }
        return shards;
    }
}

/// <summary>The answer of <c>GET /v1/cluster</c>: this node, its status, the leader, members and unreachable ones, and the shards it hosts.</summary>
public sealed record ClusterView(string Self, string Status, string? Leader, IReadOnlyList<ClusterMemberBody> Members, IReadOnlyList<string> Unreachable, ClusterShards Shards);

/// <summary>A cluster member: address, status (Joining, Up, Leaving...) and roles.</summary>
public sealed record ClusterMemberBody(string Address, string Status, IReadOnlyList<string> Roles);

/// <summary>The shards of each region this node hosts: shard id -> entities live in it.</summary>
public sealed record ClusterShards(IReadOnlyDictionary<string, int> Customer, IReadOnlyDictionary<string, int> Identity);
