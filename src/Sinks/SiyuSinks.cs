using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Pipeline;
using Siyu.Sinks.Rows;
using Siyu.Sinks.Sink;

namespace Siyu.Sinks;

/// <summary>Settings of <see cref="SiyuSinks"/>.</summary>
public sealed record SiyuSinksOptions
{
    public string Database { get; init; } = SchemaMigrator.DefaultDatabase;

    /// <summary>Batching, backpressure and retries of every table's sink.</summary>
    public ClickHouseSinkOptions Sink { get; init; } = new();

    /// <summary>Sampling of the Prometheus registry into pipeline_metrics; null turns it off.</summary>
    public PipelineMetricsOptions? PipelineMetrics { get; init; } = new();
}

/// <summary>
/// Everything the node writes to ClickHouse, started together: the schema migrated, one
/// <see cref="ClickHouseSink{TRow}"/> per table, the pipeline-metrics recorder and the API's reads.
/// Dispose (or <see cref="StopAsync"/>) on shutdown, after the writers have stopped.
/// </summary>
public sealed class SiyuSinks : IAsyncDisposable
{
    private readonly CustomerErasure _erasure;

    private SiyuSinks(IClickHouse clickHouse, SiyuSinksOptions options, SchemaMigrationResult schema, ILoggerFactory loggers)
    {
        Schema = schema;
        var db = options.Database;
        Sales = new ClickHouseSink<SaleRow>(clickHouse, SiyuTables.Sales(db), options.Sink, loggers.CreateLogger<ClickHouseSink<SaleRow>>());
        Touches = new ClickHouseSink<TouchRow>(clickHouse, SiyuTables.Touches(db), options.Sink, loggers.CreateLogger<ClickHouseSink<TouchRow>>());
        Profiles = new ClickHouseSink<ProfileRow>(clickHouse, SiyuTables.Profiles(db), options.Sink, loggers.CreateLogger<ClickHouseSink<ProfileRow>>());
        Campaigns = new ClickHouseSink<CampaignRow>(clickHouse, SiyuTables.Campaigns(db), options.Sink, loggers.CreateLogger<ClickHouseSink<CampaignRow>>());
        Operations = new ClickHouseSink<OperationsRow>(clickHouse, SiyuTables.Operations(db), options.Sink, loggers.CreateLogger<ClickHouseSink<OperationsRow>>());
        Audit = new ClickHouseSink<AuditRow>(clickHouse, SiyuTables.Audit(db), options.Sink, loggers.CreateLogger<ClickHouseSink<AuditRow>>());
        Queries = new SalesQueries(clickHouse, db);
        _erasure = new CustomerErasure(clickHouse, db);
        if (options.PipelineMetrics is { } metrics)
        {
            PipelineMetrics = new PipelineMetricsRecorder(clickHouse, db, metrics, logger: loggers.CreateLogger<PipelineMetricsRecorder>());
            PipelineMetrics.Start();
        }
    }

    public SchemaMigrationResult Schema { get; }

    public ClickHouseSink<SaleRow> Sales { get; }

    public ClickHouseSink<TouchRow> Touches { get; }

    public ClickHouseSink<ProfileRow> Profiles { get; }

    public ClickHouseSink<CampaignRow> Campaigns { get; }

    /// <summary>Service tasks, reminders, churn moves and guide touches (005_operations.sql).</summary>
    public ClickHouseSink<OperationsRow> Operations { get; }

    /// <summary>Erasures and denied API requests (006_audit.sql).</summary>
    public ClickHouseSink<AuditRow> Audit { get; }

    public PipelineMetricsRecorder? PipelineMetrics { get; }

    public SalesQueries Queries { get; }

    /// <summary>Every table sink's status (failing or not, rows held), for /health.</summary>
    public IReadOnlyList<SinkStatus> Statuses => [Sales.Status, Touches.Status, Profiles.Status, Campaigns.Status, Operations.Status, Audit.Status];

    /// <summary>
    /// PIPL erasure of a customer's analytics rows (see <see cref="CustomerErasure"/>): the sinks are
    /// flushed first, so a row of the customer still buffered cannot land after it.
    /// </summary>
    public async Task<CustomerErasureResult> EraseCustomerAsync(string customerId, CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(Sales.FlushAsync(cancellationToken), Touches.FlushAsync(cancellationToken),
            Profiles.FlushAsync(cancellationToken)).ConfigureAwait(false);
        return await _erasure.EraseAsync(customerId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Migrates the schema, then starts the sinks.</summary>
    public static async Task<SiyuSinks> StartAsync(IClickHouse clickHouse, SiyuSinksOptions? options = null,
        ILoggerFactory? loggers = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clickHouse);
        options ??= new SiyuSinksOptions();
        loggers ??= NullLoggerFactory.Instance;
        var schema = await new SchemaMigrator(clickHouse, options.Database, loggers.CreateLogger<SchemaMigrator>())
            .MigrateAsync(cancellationToken).ConfigureAwait(false);
        return new SiyuSinks(clickHouse, options, schema, loggers);
    }

    /// <summary>Flushes every sink (each in its own write order) and stops them.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await Task.WhenAll(
            Sales.StopAsync(cancellationToken),
            Touches.StopAsync(cancellationToken),
            Profiles.StopAsync(cancellationToken),
            Campaigns.StopAsync(cancellationToken),
            Operations.StopAsync(cancellationToken),
            Audit.StopAsync(cancellationToken)).ConfigureAwait(false);
        if (PipelineMetrics is not null)
        {
            await PipelineMetrics.DisposeAsync().ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(
            Sales.DisposeAsync().AsTask(),
            Touches.DisposeAsync().AsTask(),
            Profiles.DisposeAsync().AsTask(),
            Campaigns.DisposeAsync().AsTask(),
            Operations.DisposeAsync().AsTask(),
            Audit.DisposeAsync().AsTask()).ConfigureAwait(false);
        if (PipelineMetrics is not null)
        {
            await PipelineMetrics.DisposeAsync().ConfigureAwait(false);
        }
    }
}
