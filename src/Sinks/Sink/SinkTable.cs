using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Rows;

namespace Siyu.Sinks.Sink;

/// <summary>Where a <see cref="ClickHouseSink{TRow}"/> writes and how it deduplicates.</summary>
public sealed class SinkTable<TRow>
{
    public SinkTable(string table, string? metricLabel = null)
    {
        ClickHouseSql.QuoteTableName(table);
        Table = table;
        MetricLabel = metricLabel ?? table[(table.LastIndexOf('.') + 1)..];
    }

    /// <summary><c>database.table</c>.</summary>
    public string Table { get; }

    /// <summary>The <c>table</c> label of the sink's metrics.</summary>
    public string MetricLabel { get; }

    /// <summary>Event time of a row, for the freshness histogram (none: not observed).</summary>
    public Func<TRow, DateTimeOffset>? OccurredAt { get; init; }

    /// <summary>
    /// Dedup key of a row (the event_id). With a key, repeats within a batch and keys the sink
    /// inserted recently (<see cref="ClickHouseSinkOptions.DedupWindow"/>) are dropped.
    /// </summary>
    public Func<TRow, string>? Key { get; init; }

    /// <summary>
    /// The key's column. When set (with <see cref="TimeColumn"/> and <see cref="OccurredAt"/>), every
    /// insert attempt first asks the table which of the batch's keys it already holds and drops
    /// those rows: exact across restarts, which the materialized views over the table rely on.
    /// </summary>
    public string? KeyColumn { get; init; }

    /// <summary>The event-time column that narrows that lookup (part of the sorting key).</summary>
    public string? TimeColumn { get; init; }

    internal bool LooksUpStoredKeys => Key is not null && KeyColumn is not null && TimeColumn is not null && OccurredAt is not null;
}

/// <summary>The sink tables of the Siyu schema (<see cref="SchemaMigrator"/>).</summary>
public static class SiyuTables
{
    /// <summary>
    /// <c>attributed_sales</c>: deduplicated by event_id against the batch, the recent window and
    /// the stored rows, because its per-minute views sum money (see 002_minute_views.sql).
    /// </summary>
    public static SinkTable<SaleRow> Sales(string database = SchemaMigrator.DefaultDatabase) =>
        new($"{database}.attributed_sales")
        {
            OccurredAt = r => r.OccurredAt,
            Key = r => r.EventId,
            KeyColumn = "event_id",
            TimeColumn = "occurred_at",
        };

    /// <summary>
    /// <c>touches</c>: deduplicated within the batch and the recent window only; its views count with
    /// uniqExact, so a repeat that slips through changes nothing, and reads use FINAL.
    /// </summary>
    public static SinkTable<TouchRow> Touches(string database = SchemaMigrator.DefaultDatabase) =>
        new($"{database}.touches") { OccurredAt = r => r.OccurredAt, Key = r => r.EventId };

    /// <summary><c>profiles</c>: versioned (ReplacingMergeTree(version)); freshness from updated_at.</summary>
    public static SinkTable<ProfileRow> Profiles(string database = SchemaMigrator.DefaultDatabase) =>
        new($"{database}.profiles") { OccurredAt = r => r.UpdatedAt };

    /// <summary><c>campaigns</c>: versioned (ReplacingMergeTree(version)).</summary>
    public static SinkTable<CampaignRow> Campaigns(string database = SchemaMigrator.DefaultDatabase) =>
        new($"{database}.campaigns");

    /// <summary><c>operations</c>: notices keyed by notice_id (ReplacingMergeTree collapses a republished one).</summary>
    public static SinkTable<OperationsRow> Operations(string database = SchemaMigrator.DefaultDatabase) =>
        new($"{database}.operations") { OccurredAt = r => r.At, Key = r => r.NoticeId };

    /// <summary><c>audit_log</c>: erasures and denied API requests (plain rows; a repeat is harmless).</summary>
    public static SinkTable<AuditRow> Audit(string database = SchemaMigrator.DefaultDatabase) =>
        new($"{database}.audit_log") { OccurredAt = r => r.At };

    /// <summary><c>pipeline_metrics</c>: plain samples.</summary>
    public static SinkTable<MetricSampleRow> PipelineMetrics(string database = SchemaMigrator.DefaultDatabase) =>
        new($"{database}.pipeline_metrics");
}
