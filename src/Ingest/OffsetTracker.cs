using Confluent.Kafka;

namespace Siyu.Ingest;

/// <summary>
/// Events of one partition finish out of order (different customers, different latencies),
/// but a Kafka offset means "everything before this is done". The tracker keeps the
/// in-flight offsets of each partition in order and reports the new commit position only
/// when the oldest ones have completed.
/// </summary>
public sealed class OffsetTracker
{
    private sealed class PartitionState
    {
        public readonly LinkedList<(long Offset, bool Done)> InFlight = new();
        public readonly Dictionary<long, LinkedListNode<(long Offset, bool Done)>> Nodes = new();
        public readonly List<(long Offset, TaskCompletionSource Done)> Waiters = [];

        /// <summary>Whether an offset before <paramref name="offset"/> is still being handled.</summary>
        public bool Pending(long offset)
        {
            for (var n = InFlight.First; n is not null && n.Value.Offset < offset; n = n.Next)
            {
                if (!n.Value.Done)
                {
                    return true;
                }
            }
            return false;
        }
    }

    private readonly Dictionary<TopicPartition, PartitionState> _partitions = new();
    private readonly Lock _lock = new();

    public void Begin(TopicPartition tp, long offset)
    {
        lock (_lock)
        {
            if (!_partitions.TryGetValue(tp, out var state))
            {
                _partitions[tp] = state = new PartitionState();
            }
            state.Nodes[offset] = state.InFlight.AddLast((offset, false));
        }
    }

    /// <summary>
    /// Marks an offset done; returns the offset to commit (next to read) if the watermark moved,
    /// after handing it to <paramref name="store"/> while still holding the lock: two completions
    /// racing to store their positions could otherwise store the higher one first and then move
    /// the stored offset back, and the final commit then redelivers what was already done (seen
    /// in CI as a message read again after a graceful stop).
    /// </summary>
    public long? Complete(TopicPartition tp, long offset, Action<TopicPartition, long>? store = null)
    {
        lock (_lock)
        {
            if (!_partitions.TryGetValue(tp, out var state) || !state.Nodes.Remove(offset, out var node))
            {
                return null; // forgotten after a revoke: the new owner re-reads it
            }
            node.Value = (offset, true);
            foreach (var w in state.Waiters.Where(w => !state.Pending(w.Offset)).ToList())
            {
                state.Waiters.Remove(w);
                w.Done.TrySetResult();
            }
            long? commit = null;
            while (state.InFlight.First is { Value.Done: true } first)
            {
                commit = first.Value.Offset + 1;
                state.InFlight.RemoveFirst();
            }
            if (commit is { } next && store is not null)
            {
                store(tp, next);
            }
            return commit;
        }
    }

    /// <summary>
    /// Completes once every offset of the partition before <paramref name="offset"/> that is in
    /// flight now has completed (at once if none is), or when the partition is forgotten.
    /// </summary>
    public Task EarlierCompleted(TopicPartition tp, long offset)
    {
        lock (_lock)
        {
            if (!_partitions.TryGetValue(tp, out var state) || !state.Pending(offset))
            {
                return Task.CompletedTask;
            }
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            state.Waiters.Add((offset, done));
            return done.Task;
        }
    }

    public int InFlight(TopicPartition tp)
    {
        lock (_lock)
        {
            return _partitions.TryGetValue(tp, out var s) ? s.InFlight.Count : 0;
        }
    }

    public int InFlightTotal
    {
        get
        {
            lock (_lock)
            {
                return _partitions.Values.Sum(s => s.InFlight.Count);
            }
        }
    }

    /// <summary>Drops a revoked partition's bookkeeping; completions that arrive later are ignored.</summary>
    public void Forget(TopicPartition tp)
    {
        lock (_lock)
        {
            if (_partitions.Remove(tp, out var state))
            {
                foreach (var w in state.Waiters)
                {
                    w.Done.TrySetResult(); // nothing left to wait for here: the next owner re-reads them
                }
            }
        }
    }
}
