using Siyu.Contracts;

namespace Siyu.Ingest;

public sealed record IngestOptions
{
    public required string BootstrapServers { get; init; }
    public string GroupId { get; init; } = "siyu-ingest";
    public Topics Topics { get; init; } = new();

    /// <summary>A rejoining consumer waits this long for its old membership to expire.</summary>
    public int SessionTimeoutMs { get; init; } = 45_000;

    /// <summary>Messages taken from Kafka but not yet durably handled; the consumer pauses at this bound.</summary>
    public int MaxInFlight { get; init; } = 5_000;

    /// <summary>How often stored offsets are committed; a crash redelivers at most this much.</summary>
    public int AutoCommitIntervalMs { get; init; } = 1_000;

    /// <summary>On shutdown or rebalance, how long to wait for in-flight events before giving up on them (they are redelivered).</summary>
    public TimeSpan DrainTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>librdkafka statistics interval; they feed the consumer lag metric.</summary>
    public int StatisticsIntervalMs { get; init; } = 5_000;

    /// <summary>Where the consumer's librdkafka logs and connection failures go (one warning per interval, /health).</summary>
    public Siyu.Kafka.KafkaHealth? Health { get; init; }

    /// <summary>Extra librdkafka properties (security.protocol, sasl.*, ...) passed as they are.</summary>
    public IReadOnlyDictionary<string, string> Client { get; init; } = new Dictionary<string, string>();
}
