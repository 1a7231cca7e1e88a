using Prometheus;

namespace Siyu.Sinks.Sink;

/// <summary>The sinks' Prometheus metrics (default registry), labelled by table.</summary>
public static class SinkMetrics
{
    /// <summary>Buckets from 50 ms to 1 h: a live sale is seconds old, a late event hours.</summary>
    public static readonly double[] FreshnessBuckets = [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 900, 3600];

    public static readonly Histogram Freshness = Metrics.CreateHistogram(
        "siyu_sink_freshness_seconds",
        "From an event's occurred_at to its row being visible in ClickHouse (observed per row after the insert returns).",
        new HistogramConfiguration { LabelNames = ["table"], Buckets = FreshnessBuckets });

    public static readonly Counter Rows = Metrics.CreateCounter(
        "siyu_sink_rows_total", "Rows inserted into ClickHouse (rate = rows/s).", "table");

    public static readonly Counter Duplicates = Metrics.CreateCounter(
        "siyu_sink_duplicates_total", "Rows not inserted because their key was already in the batch, the recent window or the table.", "table");

    public static readonly Counter Batches = Metrics.CreateCounter(
        "siyu_sink_batches_total", "Insert batches that succeeded.", "table");

    public static readonly Counter Retries = Metrics.CreateCounter(
        "siyu_sink_retries_total", "Insert attempts that failed and were retried.", "table");

    public static readonly Counter FailedRows = Metrics.CreateCounter(
        "siyu_sink_failed_rows_total", "Rows given up on: retries exhausted, or still buffered when a shutdown timed out.", "table");

    public static readonly Gauge Failing = Metrics.CreateGauge(
        "siyu_sink_failing", "1 while the table's inserts fail (from the first failed attempt to the next success), else 0.", "table");

    public static readonly Gauge Queued = Metrics.CreateGauge(
        "siyu_sink_queued_rows", "Rows buffered in the sink, waiting for an insert.", "table");

    public static readonly Histogram InsertSeconds = Metrics.CreateHistogram(
        "siyu_sink_insert_seconds", "Time of one successful batch insert, dedup lookup and retries included.",
        new HistogramConfiguration { LabelNames = ["table"], Buckets = Histogram.ExponentialBuckets(0.001, 2, 16) });
}
