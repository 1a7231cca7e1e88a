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

    /// <summary>
    /// The event may have been handled before: redelivered after a restart or a rebalance (its
    /// offset was below the partition's end when the partition was assigned), or retried.
    /// Handlers use it to look for earlier effects only where there can be some.
    /// </summary>
    public bool MaybeSeen { get; init; }
}

/// <summary>
/// Receives every valid event, a poll batch at a time. <see cref="Handle"/> starts handling the
/// batch in order before it returns (so per-partition order is kept) and returns one task per
/// event, in the batch's order, that completes when that event is durably accepted; only then
/// may its offset be committed (at-least-once). A task faulted with
/// <see cref="EventRejectedException"/> sends the event to the dead-letter topic; any other
/// fault is retried. Implementations must tolerate redelivery of the same event_id.
/// </summary>
public interface IEventHandler
{
    IReadOnlyList<Task> Handle(IReadOnlyList<IngestedEvent> batch, CancellationToken cancellationToken);
}

public static class EventHandlerExtensions
{
    /// <summary>One event on its own (tests, retries).</summary>
    public static Task HandleAsync(this IEventHandler handler, IngestedEvent ingested, CancellationToken cancellationToken = default) =>
        handler.Handle([ingested], cancellationToken)[0];
}
