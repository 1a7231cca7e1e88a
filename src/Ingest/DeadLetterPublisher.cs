using System.Text;
using System.Text.Json;
using System.Text.Unicode;
using Confluent.Kafka;
using Siyu.Contracts.Json;

namespace Siyu.Ingest;

/// <summary>
/// Writes rejected messages to the dead-letter topic with the original bytes, where they came
/// from and why. The task completes when the broker has acknowledged the record, so the
/// original's offset is committed only once the dead letter is safe.
/// </summary>
public sealed class DeadLetterPublisher(IProducer<byte[]?, byte[]> producer, string topic, int maxRawBytes = DeadLetterPublisher.DefaultMaxRawBytes)
{
    public const string ReasonHeader = "siyu-reason";

    /// <summary>Keeps a dead letter (base64 included) well under Kafka's default 1 MB message limit.</summary>
    public const int DefaultMaxRawBytes = 256 * 1024;

    public Task PublishAsync(ConsumeResult<byte[]?, byte[]?> source, string reason, string error, CancellationToken ct)
    {
        var original = source.Message.Value ?? [];
        var raw = original.AsSpan(0, Math.Min(original.Length, maxRawBytes));
        var isText = Utf8.IsValid(raw);
        var record = new DeadLetterRecord(
            source.Topic, source.Partition.Value, source.Offset.Value, reason, error,
            isText ? Encoding.UTF8.GetString(raw) : Convert.ToBase64String(raw),
            isText ? "utf8" : "base64",
            original.Length,
            raw.Length < original.Length);
        var message = new Message<byte[]?, byte[]>
        {
            Key = source.Message.Key,
            Value = JsonSerializer.SerializeToUtf8Bytes(record, SiyuJsonContext.Default.DeadLetterRecord),
            Headers = new Headers { { ReasonHeader, Encoding.UTF8.GetBytes(reason) } },
        };
        return producer.ProduceAsync(topic, message, ct);
    }

    /// <summary>Reads a dead-letter value back (operators' tools and tests).</summary>
    public static DeadLetterRecord Read(byte[] value) =>
        JsonSerializer.Deserialize(value, SiyuJsonContext.Default.DeadLetterRecord)
        ?? throw new InvalidDataException("dead-letter value is JSON null");

    /// <summary>The original bytes of a dead letter.</summary>
    public static byte[] RawBytes(DeadLetterRecord record) =>
        record.RawEncoding == "base64" ? Convert.FromBase64String(record.Raw) : Encoding.UTF8.GetBytes(record.Raw);
}
