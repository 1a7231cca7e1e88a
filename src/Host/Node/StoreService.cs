using Microsoft.Extensions.Diagnostics.HealthChecks;
using Polly;
using Polly.Retry;
using Prometheus;
using Siyu.Actors.Hosting;
using Siyu.Actors.Publishing;
using Siyu.Actors.Storage;
using Siyu.Host.Configuration;

namespace Siyu.Host.Node;

/// <summary>
/// Opens the database of customers' states and the identity index (`Journal:*`), and runs the
/// node's <see cref="Committer"/>. Registered after the ClickHouse sinks and before the actors:
/// hosted services stop in reverse order, so on shutdown the actors' last saves are committed,
/// then the committer stops, then the sinks insert what they still hold.
/// A SQLite file that cannot be opened stops start-up; a PostgreSQL server that cannot be reached
/// is retried (start-up waits for it, logging each attempt).
/// </summary>
public sealed class StoreService(SiyuSettings settings, ISalesWriter rows, ILoggerFactory loggers) : IHostedService, IHealthCheck
{
    /// <summary>Read at each scrape from the store's save status, as the health check reads it (alert SiyuJournalFailing).</summary>
    private static readonly Gauge JournalFailing = Metrics.CreateGauge(
        "siyu_journal_failing", "1 while customers' saves to the journal fail (from the first failed batch to the next success), else 0.");

    private CustomerStore? _store;
    private Committer? _committer;

    public Committer Committer => _committer ?? throw new InvalidOperationException("the store is not open yet");

    public CustomerStore Store => _store ?? throw new InvalidOperationException("the store is not open yet");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var log = loggers.CreateLogger<StoreService>();
        var options = new JournalOptions(settings.Journal.Provider, settings.Journal.ConnectionString).ToStoreOptions();
        if (settings.Journal.Provider == "sqlite")
        {
            _store = await CustomerStore.OpenAsync(options, log, cancellationToken);
        }
        else
        {
            var retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(1),
                MaxDelay = TimeSpan.FromSeconds(15),
                OnRetry = a =>
                {
                    log.LogWarning("Journal database unreachable at start-up (Journal:Provider=postgresql, Journal:ConnectionString): {Error}; attempt {Attempt}, retrying in {Delay}",
                        a.Outcome.Exception?.Message, a.AttemptNumber + 1, a.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            }).Build();
            _store = await retry.ExecuteAsync(async ct => await CustomerStore.OpenAsync(options, log, ct), cancellationToken);
        }
        _committer = new Committer(_store, rows, loggers.CreateLogger<Committer>());
        var store = _store;
        Metrics.DefaultRegistry.AddBeforeCollectCallback(() => JournalFailing.Set(store.Status.Failing is null ? 0 : 1));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_committer is not null)
        {
            await _committer.DisposeAsync();
        }
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    /// <summary>Unhealthy while saves fail or the database cannot be reached: nothing is lost meanwhile, but nothing progresses.</summary>
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var journal = $"journal ({settings.Journal.Provider})";
        if (_store is null)
        {
            return HealthCheckResult.Unhealthy($"{journal} not open yet");
        }
        if (_store.Status.Failing is { } f)
        {
            return HealthCheckResult.Unhealthy(
                $"{journal}: customers' saves failing since {f.Since:yyyy-MM-ddTHH:mm:ssZ} ({f.Batches} batches), events held unacknowledged and retried: {f.Error}");
        }
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(3));
            await _store.ProbeAsync(timeout.Token);
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return HealthCheckResult.Unhealthy($"{journal} unreachable: {e.Message}");
        }
        return HealthCheckResult.Healthy($"{journal} reachable, saves succeeding");
    }
}
