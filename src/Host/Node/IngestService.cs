using Akka.Hosting;
using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Hosting;
using Siyu.Ingest;
using Siyu.Kafka;

namespace Siyu.Host.Node;

/// <summary>
/// Runs the ingest pipeline for the life of the process. It starts consuming only once the
/// customer shard regions exist, and on stop it drains and commits.
/// </summary>
public sealed class IngestService(IServiceProvider services, IProducer<byte[]?, byte[]> producer, KafkaHealth kafka, ILogger<IngestService> log)
    : BackgroundService, IHealthCheck
{
    private volatile bool _running;
    private volatile string _waiting = "ingest not started yet";

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var registry = services.GetRequiredService<ActorRegistry>();
        _waiting = "ingest waits for the customer shard regions";
        await registry.GetAsync<CustomerRegion>(stoppingToken);
        await registry.GetAsync<IdentityRegion>(stoppingToken);
        // Orders are attributed against the campaigns known when they are decided: consuming
        // before the feed has read siyu.campaigns would credit a restart's redelivered orders
        // to no campaign (found by the kill -9 test in tests/Siyu.Reliability.Tests).
        var campaigns = services.GetRequiredService<CampaignFeed>().CaughtUp;
        _waiting = "ingest waits for the campaign feed to read siyu.campaigns to its end";
        while (!campaigns.IsCompleted)
        {
            stoppingToken.ThrowIfCancellationRequested();
            // An unreachable broker is warned about by KafkaHealth already; this is for a slow feed.
            if (await Task.WhenAny(campaigns, Task.Delay(TimeSpan.FromSeconds(30), stoppingToken)) != campaigns && kafka.Problem is null)
            {
                log.LogWarning("Ingest waits for the campaign feed to read siyu.campaigns to its end");
            }
        }
        var pipeline = services.GetRequiredService<IngestPipeline>();
        _running = true;
        try
        {
            await pipeline.RunAsync(producer, stoppingToken);
        }
        finally
        {
            _running = false;
            _waiting = "ingest stopped";
            var left = producer.Flush(TimeSpan.FromSeconds(10));
            if (left > 0)
            {
                log.LogWarning("{Count} produced records were not acknowledged before shutdown", left);
            }
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(kafka.Problem is { } problem ? HealthCheckResult.Unhealthy(problem)
            : _running ? HealthCheckResult.Healthy("ingest running")
            : HealthCheckResult.Unhealthy(_waiting));
}
