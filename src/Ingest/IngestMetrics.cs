using Prometheus;

namespace Siyu.Ingest;

/// <summary>Prometheus metrics of the ingest stage (names are part of what dashboards read).</summary>
public static class IngestMetrics
{
    public static readonly Counter Messages = Metrics.CreateCounter(
        "siyu_ingest_messages_total", "Input messages by topic and outcome (accepted, dead_lettered).",
        "topic", "outcome");

    public static readonly Counter DeadLetters = Metrics.CreateCounter(
        "siyu_deadletters_total", "Messages sent to the dead-letter topic, by reason code.", "reason");

    public static readonly Counter RefusedIds = Metrics.CreateCounter(
        "siyu_ids_refused_total", "Ids dropped from otherwise valid events (placeholders such as N/A, impossible phones), by id type and reason.",
        "id_type", "reason");

    public static readonly Gauge InFlight = Metrics.CreateGauge(
        "siyu_ingest_in_flight", "Messages consumed but not yet durably handled.");

    public static readonly Gauge InFlightLimit = Metrics.CreateGauge(
        "siyu_ingest_in_flight_limit", "The adaptive bound on messages in flight (Kafka:MaxInFlight at most; halves on handler failures).");

    public static readonly Counter Retries = Metrics.CreateCounter(
        "siyu_ingest_retries_total", "Retries of handling or dead-lettering after a failure.");

    public static readonly Gauge ConsumerLag = Metrics.CreateGauge(
        "siyu_consumer_lag", "Messages behind the end of each input partition (librdkafka statistics).",
        "topic", "partition");
}
