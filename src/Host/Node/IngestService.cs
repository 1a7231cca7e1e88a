using Confluent.Kafka;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Siyu.Ingest;

namespace Siyu.Host.Node;

/// <summary>Runs the ingest pipeline for the life of the process; on stop it drains and commits.</summary>
public sealed class IngestService(IngestPipeline pipeline, IProducer<byte[]?, byte[]> producer, ILogger<IngestService> log)
    : BackgroundService, IHealthCheck
{
    private volatile bool _running;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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
