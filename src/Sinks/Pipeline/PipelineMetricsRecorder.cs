using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Prometheus;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Rows;

namespace Siyu.Sinks.Pipeline;

/// <summary>Settings of <see cref="PipelineMetricsRecorder"/>.</summary>
public sealed record PipelineMetricsOptions
{
    /// <summary>How often the registry is sampled.</summary>
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>The <c>instance</c> column: which node the samples come from.</summary>
    public string Instance { get; init; } = Environment.MachineName;

    /// <summary>Only metrics whose name starts with this are kept (the runtime's are left to Prometheus).</summary>
    public string MetricPrefix { get; init; } = "siyu_";
}

/// <summary>
/// Samples this process's Prometheus registry (consumer lag, ingest and dead-letter counters, sink
/// rows and the freshness histogram…) into <c>siyu.pipeline_metrics</c> every
/// <see cref="PipelineMetricsOptions.Interval"/>, so the pipeline dashboard reads ClickHouse like
/// the others and the stack needs no Prometheus server. <c>/metrics</c> still serves the same
/// metrics to a Prometheus that wants them.
/// </summary>
/// <remarks>
/// Samples are written directly, not through a <see cref="Sink.ClickHouseSink{TRow}"/>: a snapshot
/// that fails is logged and skipped (the next one carries the cumulative counters anyway), so a
/// ClickHouse outage never backs up into the pipeline through its own monitoring.
/// </remarks>
public sealed class PipelineMetricsRecorder : IAsyncDisposable
{
    private readonly IClickHouse _clickHouse;
    private readonly string _table;
    private readonly PipelineMetricsOptions _options;
    private readonly CollectorRegistry _registry;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private Task? _loop;
    private int _failures; // consecutive failed samples

    public PipelineMetricsRecorder(IClickHouse clickHouse, string database = SchemaMigrator.DefaultDatabase,
        PipelineMetricsOptions? options = null, CollectorRegistry? registry = null, ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(clickHouse);
        SchemaMigrator.QuoteDatabase(database);
        _clickHouse = clickHouse;
        _table = $"{database}.pipeline_metrics";
        _options = options ?? new PipelineMetricsOptions();
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(_options.Interval, TimeSpan.Zero);
        _registry = registry ?? Metrics.DefaultRegistry;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Starts sampling every interval until disposed.</summary>
    public void Start()
    {
        _loop ??= Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(_options.Interval, _time);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token).ConfigureAwait(false))
                {
                    await RecordAsync(_stop.Token).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        });
    }

    /// <summary>Takes one sample now (or at <paramref name="at"/>) and returns how many samples were written.</summary>
    public async Task<int> RecordAsync(CancellationToken cancellationToken = default, DateTimeOffset? at = null)
    {
        try
        {
            using var buffer = new MemoryStream();
            await _registry.CollectAndExportAsTextAsync(buffer, cancellationToken).ConfigureAwait(false);
            var text = System.Text.Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
            var rows = Samples(text, at ?? _time.GetUtcNow(), _options.Instance, _options.MetricPrefix);
            var written = await _clickHouse.InsertJsonEachRowAsync(_table, rows, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (Interlocked.Exchange(ref _failures, 0) > 0)
            {
                _logger.LogInformation("Pipeline metrics recorded into {Table} again", _table);
            }
            return written;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Once per outage, not every interval: the sinks already report the outage.
            if (Interlocked.Increment(ref _failures) == 1)
            {
                _logger.LogWarning("Could not record pipeline metrics into {Table}: {Error}; samples are skipped until it works again",
                    _table, e.Message);
            }
            return 0;
        }
    }

    /// <summary>The rows for one sample of an exposition <paramref name="text"/> (non-finite values are skipped).</summary>
    public static IReadOnlyList<MetricSampleRow> Samples(string text, DateTimeOffset at, string instance, string prefix) =>
        PrometheusText.Parse(text)
            .Where(s => s.Name.StartsWith(prefix, StringComparison.Ordinal) && double.IsFinite(s.Value))
            .Select(s => new MetricSampleRow(at, instance, s.Name, s.Series,
                s.Labels.GroupBy(l => l.Key, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Last().Value, StringComparer.Ordinal),
                s.Value))
            .ToList();

    /// <summary>Stops sampling after one last sample, so the final counters are kept.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            await RecordAsync(timeout.Token).ConfigureAwait(false);
        }

        _stop.Dispose();
    }
}
