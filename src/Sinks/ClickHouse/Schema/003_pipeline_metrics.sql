-- Siyu ClickHouse schema, version 3: the pipeline's own Prometheus metrics, sampled every few
-- seconds by PipelineMetricsRecorder (consumer lag, messages, dead letters by reason, sink rows,
-- freshness histogram buckets), so dashboards/pipeline.json needs only the ClickHouse datasource.
-- Counters are stored as the raw cumulative value; the dashboard turns them into rates per
-- series (instance + labels), treating a drop as a counter reset.

CREATE TABLE IF NOT EXISTS {{database}}.pipeline_metrics
(
    ts DateTime64(3, 'UTC'),
    instance LowCardinality(String),
    metric LowCardinality(String),
    -- the label set as text (a="x",b="y"), one series per (instance, metric, series)
    series String,
    labels Map(String, String),
    value Float64
)
ENGINE = MergeTree
PARTITION BY toYYYYMMDD(ts)
ORDER BY (metric, instance, series, ts)
TTL toDateTime(ts) + INTERVAL 30 DAY;
