using Siyu.Contracts.Events;

namespace Siyu.Ingest;

/// <summary>Where a message came from: enough to find it again in Kafka.</summary>
public readonly record struct SourcePosition(string Topic, int Partition, long Offset);

/// <summary>A validated event with its source position (phone already hashed).</summary>
public sealed record IngestedEvent(InputEvent Event, SourcePosition Source)
{
    /// <summary>
    /// Completes when the events before this one in its partition that are still being handled
    /// are done (ingest's bookkeeping; at once outside a pipeline). What a refund waits for before
    /// it is called unmatched: its order may be one of them.
    /// </summary>
    public Func<Task> EarlierEventsDone { get; init; } = static () => Task.CompletedTask;
}

/// <summary>
/// Receives every valid event. The returned task completes when the event is durably
/// accepted; only then may its offset be committed (at-least-once). Implementations must
/// start work in call order before they first await, so per-partition order is kept, and
/// must tolerate redelivery of the same event_id.
/// </summary>
public interface IEventHandler
{
    ValueTask HandleAsync(IngestedEvent ingested, CancellationToken cancellationToken);
}
