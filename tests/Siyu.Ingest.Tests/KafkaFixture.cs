using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Siyu.Contracts;
using Siyu.Contracts.Privacy;
using Siyu.Contracts.Validation;
using Siyu.Kafka;

namespace Siyu.Ingest.Tests;

/// <summary>One embedded broker for the test run; each test gets its own topic prefix and group.</summary>
public sealed class KafkaFixture : IDisposable
{
    public EmbeddedKafka Broker { get; } = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 4 });

    public Topics NewTopics()
    {
        var topics = new Topics($"t{Guid.NewGuid():N}.");
        foreach (var t in topics.All)
        {
            Broker.CreateTopic(t, 4);
        }
        return topics;
    }

    public IProducer<byte[]?, byte[]> Producer() => new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
    {
        BootstrapServers = Broker.BootstrapServers,
        Acks = Acks.All,
        MessageMaxBytes = 10 * 1024 * 1024, // so the 5 MB hostile payload reaches the broker
    }).Build();

    public IngestPipeline Pipeline(Topics topics, IEventHandler handler, string group, int maxInFlight = 1000,
        Microsoft.Extensions.Logging.ILogger<IngestPipeline>? log = null) => new(
        new IngestOptions
        {
            BootstrapServers = Broker.BootstrapServers,
            GroupId = group,
            Topics = topics,
            SessionTimeoutMs = 6000,
            MaxInFlight = maxInFlight,
            AutoCommitIntervalMs = 100,
            DrainTimeout = TimeSpan.FromSeconds(1),
        },
        handler,
        new EventParser(clock: new FixedClock(new DateTimeOffset(2026, 11, 23, 12, 0, 0, TimeSpan.Zero))),
        Hasher,
        log ?? NullLogger<IngestPipeline>.Instance);

    public static readonly PhoneHasher Hasher = new("ingest-tests-key-0123456789");

    /// <summary>Reads a topic from the start until <paramref name="count"/> messages arrived or the timeout passed.</summary>
    public List<ConsumeResult<byte[]?, byte[]>> ReadAll(string topic, int count, TimeSpan timeout)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
        }).Build();
        consumer.Subscribe(topic);
        var results = new List<ConsumeResult<byte[]?, byte[]>>();
        var deadline = DateTime.UtcNow + timeout;
        while (results.Count < count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { IsPartitionEOF: false } cr)
            {
                results.Add(cr);
            }
        }
        consumer.Close();
        return results;
    }

    public void Dispose() => Broker.Dispose();

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}

[CollectionDefinition(Name)]
public sealed class KafkaCollection : ICollectionFixture<KafkaFixture>
{
    public const string Name = "kafka";
}

/// <summary>Runs a pipeline in the background for the length of a using block.</summary>
public sealed class RunningPipeline : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _run;

    public RunningPipeline(IngestPipeline pipeline, IProducer<byte[]?, byte[]> producer) =>
        _run = pipeline.RunAsync(producer, _stop.Token);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _run;
        _stop.Dispose();
    }

    public static async Task Until(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
    }
}
