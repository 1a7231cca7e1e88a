using Akka.Hosting;
using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Siyu.Actors.Hosting;
using Siyu.Ingest;

namespace Siyu.Host.Node;

/// <summary>
/// Runs the ingest pipeline for the life of the process. It starts consuming only once the
/// customer shard regions exist, and on stop it drains and commits.
/// </summary>
public sealed class IngestService(IServiceProvider services, IProducer<byte[]?, byte[]> producer, ILogger<IngestService> log)
    : BackgroundService, IHealthCheck
{
    private volatile bool _running;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var registry = services.GetRequiredService<ActorRegistry>();
        await registry.GetAsync<CustomerRegion>(stoppingToken);
        await registry.GetAsync<IdentityRegion>(stoppingToken);
        var pipeline = services.GetRequiredService<IngestPipeline>();
        _running = true;
        try
        {
            await pipeline.RunAsync(producer, stoppingToken);
        }
        finally
        {
            _running = false;
            var left = producer.Flush(TimeSpan.FromSeconds(10));
            if (left > 0)
            {
                log.LogWarning("{Count} produced records were not acknowledged before shutdown", left);
            }
        }
    }

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_running ? HealthCheckResult.Healthy("ingest running") : HealthCheckResult.Unhealthy("ingest not running"));
}
