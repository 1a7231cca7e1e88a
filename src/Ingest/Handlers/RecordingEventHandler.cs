using System.Collections.Concurrent;

namespace Siyu.Ingest.Handlers;

/// <summary>
/// Keeps what it is given, in memory: the tests' witness of what ingest delivered. Nothing here
/// is durable.
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

    public IReadOnlyList<Task> Handle(IReadOnlyList<IngestedEvent> batch, CancellationToken cancellationToken)
    {
        foreach (var ingested in batch)
        {
            Interlocked.Increment(ref _deliveries);
            if (_byEventId.TryAdd(ingested.Event.EventId, ingested))
            {
                _byType.AddOrUpdate($"{ingested.Event.Channel}/{ingested.Event.Type}", 1, (_, n) => n + 1);
            }
        }
        return Enumerable.Repeat(Task.CompletedTask, batch.Count).ToArray();
    }
}
