using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Kafka;

namespace Siyu.Reliability.Tests.Support;

/// <summary>The test's side of Kafka: a broker that outlives the nodes, producing the input, reading outputs back.</summary>
public sealed class TestKafka : IDisposable
{
    public EmbeddedKafka Broker { get; }
    public Topics Topics { get; } = new();
    public IProducer<byte[]?, byte[]> Producer { get; }

    public TestKafka(int partitions = 4)
    {
        Broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = partitions });
        foreach (var t in Topics.All)
        {
            Broker.CreateTopic(t);
        }
        Producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig
        {
            BootstrapServers = Broker.BootstrapServers,
            EnableIdempotence = true,
            LingerMs = 5,
            // A request in flight when a fault test takes the broker down is otherwise only
            // abandoned (and retried, idempotently) after the 60 s default.
            SocketTimeoutMs = 10_000,
        }).Build();
    }

    public string Bootstrap => Broker.BootstrapServers;

    public Task SendAsync(SentEvent e) =>
        Producer.ProduceAsync(Topics.Prefix + e.Channel, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(e.Key), Value = e.Bytes });

    public async Task SendCampaignsAsync(EventSet set)
    {
        foreach (var (key, json) in set.CampaignDefinitions)
        {
            await Producer.ProduceAsync(Topics.Campaigns, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(json) });
        }
    }

    /// <summary>Every record of <paramref name="topic"/> from the start to its end now.</summary>
    public List<(string? Key, byte[]? Value)> ReadAll(string topic)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = Bootstrap,
            GroupId = "reader-" + Guid.NewGuid().ToString("N"),
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        var result = new List<(string?, byte[]?)>();
        var partitions = Enumerable.Range(0, Partitions(topic)).Select(p => new TopicPartition(topic, p)).ToList();
        var ends = partitions.ToDictionary(tp => tp.Partition.Value, tp => consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value);
        consumer.Assign(partitions.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
        var position = partitions.ToDictionary(tp => tp.Partition.Value, _ => 0L);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (position.Any(p => p.Value < ends[p.Key]) && DateTime.UtcNow < deadline)
        {
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (cr?.Message is null)
            {
                continue;
            }
            position[cr.Partition.Value] = cr.Offset.Value + 1;
            result.Add((cr.Message.Key is null ? null : Encoding.UTF8.GetString(cr.Message.Key), cr.Message.Value));
        }
        return result;
    }

    /// <summary>The latest profile per customer_id on siyu.profiles (what a compacted topic keeps).</summary>
    public Dictionary<string, JsonObject?> LatestProfiles()
    {
        var latest = new Dictionary<string, JsonObject?>();
        foreach (var (key, value) in ReadAll(Topics.Profiles))
        {
            latest[key ?? ""] = value is null ? null : JsonNode.Parse(value)!.AsObject();
        }
        return latest;
    }

    /// <summary>Messages of the input topics before the group's committed offsets.</summary>
    public long Committed(string group)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = Bootstrap, GroupId = group, EnableAutoCommit = false }).Build();
        long committed = 0;
        foreach (var topic in Topics.Inputs)
        {
            var tps = Enumerable.Range(0, Partitions(topic)).Select(p => new TopicPartition(topic, p)).ToList();
            committed += consumer.Committed(tps, TimeSpan.FromSeconds(10)).Sum(c => Math.Max(0, c.Offset.Value));
        }
        return committed;
    }

    /// <summary>Offsets the group committed, against each partition's end: what is still to be read.</summary>
    public long Uncommitted(string group)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = Bootstrap, GroupId = group, EnableAutoCommit = false }).Build();
        long behind = 0;
        foreach (var topic in Topics.Inputs)
        {
            var tps = Enumerable.Range(0, Partitions(topic)).Select(p => new TopicPartition(topic, p)).ToList();
            var committed = consumer.Committed(tps, TimeSpan.FromSeconds(10));
            foreach (var c in committed)
            {
                var high = consumer.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High.Value;
                behind += high - Math.Max(0, c.Offset.Value);
            }
        }
        return behind;
    }

    private int Partitions(string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = Bootstrap }).Build();
        return admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;
    }

    public void Dispose()
    {
        Producer.Dispose();
        Broker.Dispose();
    }
}
