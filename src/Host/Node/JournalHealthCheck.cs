using Akka.Actor;
using LinqToDB.Data;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Siyu.Actors.Hosting;
using Siyu.Host.Configuration;

namespace Siyu.Host.Node;

/// <summary>
/// Unhealthy while the journal database fails customers' saves or cannot be reached. Nothing is
/// lost meanwhile (no event is acknowledged, so no offset is committed past it), but nothing
/// progresses either: an operator should see why.
/// </summary>
public sealed class JournalHealthCheck(ActorSystem system, SiyuSettings settings) : IHealthCheck
{
    private static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var setup = system.Settings.Setup.Get<GroupCommitSetup>().Value
            ?? throw new InvalidOperationException("the actor system has no journal (WithSiyuPersistence)");
        var journal = $"journal ({settings.Journal.Provider})";
        if (setup.Status.Failing is { } f)
        {
            return HealthCheckResult.Unhealthy(
                $"{journal}: customers' saves failing since {f.Since:yyyy-MM-ddTHH:mm:ssZ} ({f.Batches} batches), events held unacknowledged and retried: {f.Error}");
        }
        // No save failing may also mean none tried: customers starting up (loading their state)
        // are what an outage hits first, so the database is asked directly too.
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            await using var db = new DataConnection(setup.Data);
            await db.ExecuteAsync("SELECT 1", timeout.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"{journal} unreachable: {e.Message}");
        }
        return HealthCheckResult.Healthy($"{journal} reachable, saves succeeding");
    }
}
