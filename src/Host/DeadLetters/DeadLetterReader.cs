using System.Text.Json;
using Confluent.Kafka;
using Siyu.Contracts.Json;
using Siyu.Ingest;
using Siyu.Kafka;

namespace Siyu.Host.DeadLetters;

/// <summary>One record of siyu.deadletter: where it sits, when it was written, its key and what it says.</summary>
public sealed record DeadLetter(int Partition, long Offset, DateTimeOffset At, byte[]? Key, DeadLetterRecord? Record, string? Unreadable);

/// <summary>
/// Reads siyu.deadletter from its start up to its end as it is when reading starts, so a command
/// sees a fixed set of records even while the node keeps dead-lettering. Time is the dead
/// letter's Kafka timestamp: when the message was refused. The range is applied while reading,
/// not by seeking with OffsetsForTimes: the embedded broker answers that with the end, and a
/// dead-letter topic is small enough to read through.
/// </summary>
public static class DeadLetterReader
{
    public static List<DeadLetter> Read(string bootstrapServers, string topic, IReadOnlyDictionary<string, string> client,
        KafkaHealth health, DateTimeOffset? from, DateTimeOffset? to, CancellationToken ct)
    {
        Librdkafka.EnsureLoaded();
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"siyu-deadletter-{Guid.NewGuid():N}",
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        foreach (var (k, v) in client)
        {
            config.Set(k, v);
        }
        var adminConfig = new AdminClientConfig { BootstrapServers = bootstrapServers };
        foreach (var (k, v) in client)
        {
            adminConfig.Set(k, v);
        }
        int partitions;
        // The error handler too: without it librdkafka logs every reconnect failure as an ERROR line.
        using (var admin = new AdminClientBuilder(adminConfig).SetLogHandler((_, m) => health.OnLog("admin", m)).SetErrorHandler((_, e) => health.OnError("admin", e)).Build())
        {
            var meta = admin.GetMetadata(topic, TimeSpan.FromSeconds(15));
            var t = meta.Topics.SingleOrDefault(x => x.Topic == topic);
            if (t is null || t.Error.IsError || t.Partitions.Count == 0)
            {
                throw new InvalidOperationException($"topic {topic} not found at {bootstrapServers}" + (t?.Error.IsError == true ? $": {t.Error.Reason}" : ""));
            }
            partitions = t.Partitions.Count;
        }
        using var consumer = health.Attach(new ConsumerBuilder<byte[]?, byte[]?>(config), "dead-letter reader", statistics: false).Build();
        var ends = new Dictionary<int, long>();
        var starts = new List<TopicPartitionOffset>();
        for (var p = 0; p < partitions; p++)
        {
            var tp = new TopicPartition(topic, p);
            var w = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(15));
            var start = w.Low;
            if (start.Value < w.High.Value)
            {
                ends[p] = w.High.Value;
                starts.Add(new TopicPartitionOffset(tp, start));
            }
        }
        var result = new List<DeadLetter>();
        if (starts.Count == 0)
        {
            return result;
        }
        consumer.Assign(starts);
        var position = starts.ToDictionary(s => s.Partition.Value, s => s.Offset.Value);
        var idle = DateTime.UtcNow;
        while (position.Any(p => p.Value < ends[p.Key]))
        {
            ct.ThrowIfCancellationRequested();
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (cr?.Message is null)
            {
                if (DateTime.UtcNow - idle > TimeSpan.FromSeconds(30))
                {
                    throw new TimeoutException($"{topic}: no record for 30 s before its end; {health.Problem ?? "the broker does not serve it"}");
                }
                continue;
            }
            idle = DateTime.UtcNow;
            position[cr.Partition.Value] = cr.Offset.Value + 1;
            var at = cr.Message.Timestamp.UtcDateTime;
            if (to is { } t && at > t.UtcDateTime || from is { } f && at < f.UtcDateTime)
            {
                continue;
            }
            DeadLetterRecord? record = null;
            string? unreadable = null;
            try
            {
                record = cr.Message.Value is { } v ? DeadLetterPublisher.Read(v) : null;
                unreadable = record is null ? "tombstone" : null;
            }
            catch (Exception e) when (e is JsonException or InvalidDataException)
            {
                unreadable = e.Message;
            }
            result.Add(new DeadLetter(cr.Partition.Value, cr.Offset.Value, new DateTimeOffset(at, TimeSpan.Zero), cr.Message.Key, record, unreadable));
        }
        consumer.Close();
        return [.. result.OrderBy(d => d.At).ThenBy(d => d.Partition).ThenBy(d => d.Offset)];
    }
}
