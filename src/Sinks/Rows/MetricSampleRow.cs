namespace Siyu.Sinks.Rows;

/// <summary>One sample of a Prometheus metric in <c>siyu.pipeline_metrics</c>.</summary>
public sealed record MetricSampleRow(
    DateTimeOffset Ts,
    string Instance,
    string Metric,
    string Series,
    IReadOnlyDictionary<string, string> Labels,
    double Value);
