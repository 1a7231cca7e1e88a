using Microsoft.Extensions.Diagnostics.HealthChecks;
using Polly;
using Polly.Retry;
using Siyu.Host.Configuration;
using Siyu.Sinks;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;

namespace Siyu.Host.Node;

/// <summary>
/// Opens ClickHouse (embedded chDB or a server), applies the schema and runs the sinks. It is
/// registered before the actors, so on shutdown it stops after them: their last saves still
/// reach ClickHouse, and then every buffered row is inserted in order.
/// </summary>
/// <param name="wrapEngine">Tests only (<see cref="SiyuNode.Options.WrapClickHouse"/>): wraps the opened engine, e.g. to inject faults.</param>
public sealed class SinkService(SiyuSettings settings, ILoggerFactory loggers, Func<IClickHouse, IClickHouse>? wrapEngine = null) : IHostedService, IHealthCheck
{
    private readonly TaskCompletionSource<SiyuSinks> _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public Task<SiyuSinks> Ready => _ready.Task;

    /// <summary>Embedded only: written after every row reached chDB on a clean stop (see <see cref="ViewRebuilder"/>).</summary>
    private string? CleanStopMarker => settings.ClickHouse.Engine == "embedded"
        ? Path.Combine(settings.ClickHouse.DataPath, "siyu-clean-stop")
        : null;

    private readonly CancellationTokenSource _stopping = new();
    private Task _opening = Task.CompletedTask;

    /// <summary>
    /// Embedded chDB opens here, and a failure stops start-up (it is local: bad path or files).
    /// A ClickHouse server that cannot be reached is retried with backoff in the background while
    /// the node runs: customers' saves wait for it (acks, so offset commits, wait with them) and
    /// /health reports it unhealthy until the schema is applied.
    /// </summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        if (settings.ClickHouse.Engine != "server")
        {
            await OpenAsync(cancellationToken);
            return;
        }
        var log = loggers.CreateLogger<SinkService>();
        var retry = new ResiliencePipelineBuilder().AddRetry(new RetryStrategyOptions
        {
            ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException),
            MaxRetryAttempts = int.MaxValue,
            BackoffType = DelayBackoffType.Exponential,
            UseJitter = true,
            Delay = TimeSpan.FromSeconds(1),
            MaxDelay = TimeSpan.FromSeconds(30),
            OnRetry = a =>
            {
                log.LogError(a.Outcome.Exception,
                    "ClickHouse server unreachable at start-up (ClickHouse:Engine=server, ClickHouse:ConnectionString host {Host}); attempt {Attempt}, retrying in {Delay}",
                    HostOf(settings.ClickHouse.ConnectionString), a.AttemptNumber + 1, a.RetryDelay);
                return ValueTask.CompletedTask;
            },
        }).Build();
        _opening = Task.Run(async () =>
        {
            try
            {
                await retry.ExecuteAsync(async ct => await OpenAsync(ct), _stopping.Token);
            }
            catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);
    }

    /// <summary>The Host= part of a connection string, never its password.</summary>
    private static string HostOf(string connectionString) =>
        connectionString.Split(';').Select(p => p.Split('=', 2)).FirstOrDefault(kv => kv.Length == 2 && kv[0].Trim().Equals("Host", StringComparison.OrdinalIgnoreCase))?[1] ?? "(none)";

    /// <summary>
    /// For /health: unhealthy until ClickHouse is open and its schema applied, and while inserts fail
    /// (from a table's first failed attempt to its next success; the rows are held and retried).
    /// </summary>
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        if (!_ready.Task.IsCompletedSuccessfully)
        {
            return Task.FromResult(HealthCheckResult.Unhealthy("ClickHouse unreachable: schema not applied yet"));
        }
        var statuses = _ready.Task.Result.Statuses;
        var held = statuses.Sum(s => s.RowsHeld);
        var failing = statuses.Where(s => s.Failing).ToList();
        if (failing.Count == 0)
        {
            return Task.FromResult(HealthCheckResult.Healthy($"ClickHouse inserts succeeding ({held} rows buffered)"));
        }
        var since = failing.Min(s => s.FailingSince!.Value);
        var error = failing.Select(s => s.LastError).FirstOrDefault(e => e is not null) ?? "";
        if (error.Length > 300)
        {
            error = error[..300] + "…";
        }
        return Task.FromResult(HealthCheckResult.Unhealthy(
            $"ClickHouse inserts failing for {(DateTimeOffset.UtcNow - since).TotalSeconds:0} s into {string.Join(", ", failing.Select(s => s.Table))}; "
            + $"{held} rows held and retried, acknowledgements and offset commits wait; last error: {error}"));
    }

    private async Task OpenAsync(CancellationToken cancellationToken)
    {
        // A data directory with nothing in it is a first start, not the aftermath of a crash:
        // there is nothing to rebuild, and saying "unclean stop" would be untrue.
        var fresh = CleanStopMarker is not null
            && (!Directory.Exists(settings.ClickHouse.DataPath) || !Directory.EnumerateFileSystemEntries(settings.ClickHouse.DataPath).Any());
        var engine = ClickHouseEngineFactory.Create(new ClickHouseEngineOptions
        {
            Engine = settings.ClickHouse.Engine,
            ConnectionString = settings.ClickHouse.ConnectionString,
            DataPath = settings.ClickHouse.DataPath,
        });
        engine = wrapEngine?.Invoke(engine) ?? engine;
        try
        {
            var sinks = await SiyuSinks.StartAsync(engine, new SiyuSinksOptions(), loggers, cancellationToken);
            if (CleanStopMarker is { } marker)
            {
                // The marker exists only between a clean stop and the next start: without it the
                // last run died (kill -9, OOM, power), and views may miss its last insert.
                if (!fresh && !File.Exists(marker))
                {
                    await ViewRebuilder.RebuildAsync(engine, SchemaMigrator.DefaultDatabase,
                        loggers.CreateLogger<SinkService>(), cancellationToken);
                }
                File.Delete(marker);
            }
            _ready.SetResult(sinks);
        }
        catch (Exception e) when (settings.ClickHouse.Engine != "server")
        {
            _ready.TrySetException(e);
            throw;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _opening;
        if (_ready.Task.IsCompletedSuccessfully)
        {
            await (await _ready.Task).StopAsync(cancellationToken);
            if (CleanStopMarker is { } marker && !cancellationToken.IsCancellationRequested)
            {
                await File.WriteAllTextAsync(marker, DateTimeOffset.UtcNow.ToString("O"), CancellationToken.None);
            }
        }
    }
}
