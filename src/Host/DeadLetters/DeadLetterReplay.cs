using System.Text;
using Confluent.Kafka;
using Siyu.Ingest;

namespace Siyu.Host.DeadLetters;

/// <summary>One message to produce again: the original bytes and key, to the topic they were refused from.</summary>
public sealed record ReplayMessage(string Topic, byte[]? Key, byte[] Value, DeadLetter Source);

/// <summary>
/// What a replay of some dead letters sends. Exactness comes from the pipeline: an event already
/// applied is recognised by its event_id (orders by order_id, refunds by their own key) and
/// changes nothing, so replaying twice, or replaying what was since accepted, is harmless. The
/// plan keeps a replay from multiplying work: identical bytes for the same topic (the same message
/// refused twice, e.g. by a replay before the fix) go out once, and a record cut to fit the
/// dead-letter topic is never sent, since its tail is gone.
/// </summary>
public sealed record ReplayPlan(IReadOnlyList<ReplayMessage> Messages, int Matched, int Copies, IReadOnlyList<DeadLetter> Truncated, IReadOnlyList<DeadLetter> Unreadable)
{
    /// <summary>Header on a replayed message: the dead letter's place in siyu.deadletter it came from.</summary>
    public const string ReplayHeader = "siyu-replay-of";

    public static ReplayPlan For(IReadOnlyList<DeadLetter> deadLetters, string reason)
    {
        var matched = 0;
        var copies = 0;
        var truncated = new List<DeadLetter>();
        var unreadable = new List<DeadLetter>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var messages = new List<ReplayMessage>();
        // In the order the originals were read (topic, partition, offset), so one customer's
        // events arrive again in their first order (an order before its refund).
        foreach (var d in deadLetters.Where(d => d.Record is not null)
                     .OrderBy(d => d.Record!.Topic, StringComparer.Ordinal).ThenBy(d => d.Record!.Partition).ThenBy(d => d.Record!.Offset)
                     .Concat(deadLetters.Where(d => d.Record is null)))
        {
            if (d.Record is not { } r)
            {
                unreadable.Add(d);
                continue;
            }
            if (r.Reason != reason)
            {
                continue;
            }
            matched++;
            if (r.RawTruncated)
            {
                truncated.Add(d);
                continue;
            }
            var value = DeadLetterPublisher.RawBytes(r);
            if (!seen.Add(r.Topic + "\n" + Convert.ToBase64String(d.Key ?? []) + "\n" + Convert.ToBase64String(value)))
            {
                copies++;
                continue;
            }
            messages.Add(new ReplayMessage(r.Topic, d.Key, value, d));
        }
        return new ReplayPlan(messages, matched, copies, truncated, unreadable);
    }

    /// <summary>Produces the plan's messages and waits for every acknowledgement; returns how many failed.</summary>
    public async Task<int> SendAsync(IProducer<byte[]?, byte[]> producer, string deadLetterTopic, CancellationToken ct, Action<int>? progress = null)
    {
        var pending = new List<Task<DeliveryResult<byte[]?, byte[]>>>(Messages.Count);
        foreach (var m in Messages)
        {
            var message = new Message<byte[]?, byte[]>
            {
                Key = m.Key,
                Value = m.Value,
                Headers = new Headers { { ReplayHeader, Encoding.UTF8.GetBytes($"{deadLetterTopic}/{m.Source.Partition}/{m.Source.Offset}") } },
            };
            pending.Add(producer.ProduceAsync(m.Topic, message, ct));
        }
        var failed = 0;
        var done = 0;
        foreach (var p in pending)
        {
            try
            {
                await p;
            }
            catch (ProduceException<byte[]?, byte[]> e)
            {
                failed++;
                await Console.Error.WriteLineAsync($"siyu: delivery failed: {e.Error.Reason}");
            }
            progress?.Invoke(++done);
        }
        return failed;
    }
}
