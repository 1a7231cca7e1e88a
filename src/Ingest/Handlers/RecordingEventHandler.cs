using System.Collections.Concurrent;

namespace Siyu.Ingest.Handlers;

/// <summary>
/// Keeps what it is given, in memory: the demo's handler until the customer actors take
/// over, and the tests' witness of what ingest delivered. Nothing here is durable.
/// </summary>
public sealed class RecordingEventHandler : IEventHandler
{
    private readonly ConcurrentDictionary<string, IngestedEvent> _byEventId = new();
    private readonly ConcurrentDictionary<string, int> _byType = new();
    private long _deliveries;

    public long Deliveries => Interlocked.Read(ref _deliveries);
    public int DistinctEvents => _byEventId.Count;
    public IReadOnlyDictionary<string, int> ByType => _byType;
    public ICollection<IngestedEvent> Events => _byEventId.Values;

    public ValueTask HandleAsync(IngestedEvent ingested, CancellationToken cancellationToken)
    {
        Interlocked.Increment(ref _deliveries);
        if (_byEventId.TryAdd(ingested.Event.EventId, ingested))
        {
            _byType.AddOrUpdate($"{ingested.Event.Channel}/{ingested.Event.Type}", 1, (_, n) => n + 1);
        }
        return ValueTask.CompletedTask;
    }
}
