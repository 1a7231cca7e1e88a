using Confluent.Kafka;

namespace Siyu.Kafka.Tests;

/// <summary>Client settings that suit the mock broker (see EmbeddedKafka's remarks).</summary>
static class Clients
{
    public const int SessionTimeoutMs = 6000;

    public static IProducer<string, string> Producer(string bootstrap) =>
        new ProducerBuilder<string, string>(new ProducerConfig
        {
            BootstrapServers = bootstrap,
            Acks = Acks.All,
            LingerMs = 5,
        }).Build();

    public static IConsumer<string, string> Consumer(string bootstrap, string group) =>
        new ConsumerBuilder<string, string>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            // The mock holds a rebalance open for session.timeout.ms - 1 s whenever the group had members.
            SessionTimeoutMs = SessionTimeoutMs,
            HeartbeatIntervalMs = 1000,
            TopicMetadataRefreshIntervalMs = 1000,
        }).Build();

    public static List<(string Key, string Value)> Produce(string bootstrap, string topic, int count, int from = 0)
    {
        using var producer = Producer(bootstrap);
        var sent = new List<(string, string)>(count);
        var failures = 0;
        for (var i = from; i < from + count; i++)
        {
            var m = new Message<string, string> { Key = $"customer-{i % 997}", Value = $"event-{i}" };
            producer.Produce(topic, m, r => { if (r.Error.IsError) Interlocked.Increment(ref failures); });
            sent.Add((m.Key, m.Value));
        }
        Assert.Equal(0, producer.Flush(TimeSpan.FromSeconds(10)));
        Assert.Equal(0, failures);
        return sent;
    }

    /// <summary>Consumes until <paramref name="count"/> messages arrived or the deadline passed.</summary>
    public static List<ConsumeResult<string, string>> Take(IConsumer<string, string> consumer, int count, TimeSpan deadline)
    {
        var got = new List<ConsumeResult<string, string>>(count);
        var until = DateTime.UtcNow + deadline;
        while (got.Count < count && DateTime.UtcNow < until)
            if (consumer.Consume(TimeSpan.FromMilliseconds(100)) is { IsPartitionEOF: false } r)
                got.Add(r);
        return got;
    }
}
