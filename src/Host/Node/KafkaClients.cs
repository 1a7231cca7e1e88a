using Confluent.Kafka;
using Siyu.Host.Configuration;
using Siyu.Ingest;
using Siyu.Kafka;

namespace Siyu.Host.Node;

/// <summary>Kafka clients built from settings, so every part of the process talks to Kafka the same way.</summary>
public static class KafkaClients
{
    /// <param name="health">Where the client's logs and connection failures go; without it librdkafka's defaults (stderr).</param>
    public static IProducer<byte[]?, byte[]> Producer(KafkaSettings kafka, string bootstrapServers, KafkaHealth? health = null, string client = "producer")
    {
        Librdkafka.EnsureLoaded();
        var config = new ProducerConfig
        {
            BootstrapServers = bootstrapServers,
            // Dead letters and published profiles must not be lost or duplicated by a retry.
            Acks = Acks.All,
            EnableIdempotence = true,
            LingerMs = 5,
        };
        if (health is not null)
        {
            config.StatisticsIntervalMs = KafkaHealth.StatisticsIntervalMs;
        }
        foreach (var (key, value) in kafka.Client)
        {
            config.Set(key, value);
        }
        var builder = new ProducerBuilder<byte[]?, byte[]>(config);
        return (health is null ? builder : health.Attach(builder, client)).Build();
    }

    public static IngestOptions IngestOptions(KafkaSettings kafka, string bootstrapServers, KafkaHealth? health = null) => new()
    {
        Health = health,
        BootstrapServers = bootstrapServers,
        GroupId = kafka.GroupId,
        Topics = new Contracts.Topics(kafka.TopicPrefix),
        SessionTimeoutMs = kafka.SessionTimeoutMs,
        MaxInFlight = kafka.MaxInFlight,
        AutoCommitIntervalMs = kafka.AutoCommitIntervalMs,
        Client = kafka.Client,
    };
}
