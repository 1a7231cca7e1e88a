using System.Collections.Concurrent;

namespace Siyu.Ingest.Handlers;

/// <summary>
/// Counts what the inner handler accepted, by channel and type, in constant memory (the demo's
/// board reads it). Counts deliveries: a rare redelivery after a crash counts twice.
/// </summary>
public sealed class TallyingEventHandler(IEventHandler inner) : IEventHandler
{
    private readonly ConcurrentDictionary<string, long> _byType = new();
    private long _accepted;

    public long Accepted => Interlocked.Read(ref _accepted);
    public IReadOnlyDictionary<string, long> ByType => _byType;

    public IReadOnlyList<Task> Handle(IReadOnlyList<IngestedEvent> batch, CancellationToken cancellationToken)
    {
        var tasks = inner.Handle(batch, cancellationToken);
        var counted = new Task[tasks.Count];
        for (var i = 0; i < tasks.Count; i++)
        {
            counted[i] = Count(tasks[i], batch[i]);
        }
        return counted;
    }

    private async Task Count(Task handled, IngestedEvent ingested)
    {
        await handled;
        Interlocked.Increment(ref _accepted);
        _byType.AddOrUpdate($"{ingested.Event.Channel}/{ingested.Event.Type}", 1, (_, n) => n + 1);
    }
}
