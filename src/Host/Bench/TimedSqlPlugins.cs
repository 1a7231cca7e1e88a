using System.Collections.Immutable;
using System.Diagnostics;
using Akka.Persistence;
using Akka.Persistence.Sql.Journal;
using Akka.Persistence.Sql.Snapshot;

namespace Siyu.Host.Bench;

/// <summary>
/// Counts and times the calls `siyu bench actors` makes into Akka.Persistence.Sql, to say where
/// the time goes. The plugins below are the library's own classes with only a Stopwatch around
/// each call; everything else (configuration, batching, connections) is unchanged.
/// </summary>
public static class PersistenceCounters
{
    public sealed class Counter
    {
        private long _calls;
        private long _items;
        private long _ticks;
        private long _bytes;
        private int _inFlight;
        private int _maxInFlight;

        public long Start()
        {
            var now = Interlocked.Increment(ref _inFlight);
            int max;
            while (now > (max = Volatile.Read(ref _maxInFlight)) && Interlocked.CompareExchange(ref _maxInFlight, now, max) != max)
            {
            }
            return Stopwatch.GetTimestamp();
        }

        public void Stop(long started, int items, long bytes = 0)
        {
            Interlocked.Decrement(ref _inFlight);
            Interlocked.Add(ref _ticks, Stopwatch.GetTimestamp() - started);
            Interlocked.Increment(ref _calls);
            Interlocked.Add(ref _items, items);
            Interlocked.Add(ref _bytes, bytes);
        }

        public Snapshot Read() => new(
            Interlocked.Read(ref _calls),
            Interlocked.Read(ref _items),
            Interlocked.Read(ref _bytes),
            Stopwatch.GetElapsedTime(0, Interlocked.Read(ref _ticks)),
            Volatile.Read(ref _maxInFlight));

        private long _queueSamples;
        private long _queueSum;
        private long _queueMax;

        /// <summary>The plugin actor's mailbox depth, sampled at every message it receives.</summary>
        public void SampleQueue(int depth)
        {
            Interlocked.Increment(ref _queueSamples);
            Interlocked.Add(ref _queueSum, depth);
            long max;
            while (depth > (max = Interlocked.Read(ref _queueMax)) && Interlocked.CompareExchange(ref _queueMax, depth, max) != max)
            {
            }
        }

        public (double Mean, long Max) Queue()
        {
            var n = Interlocked.Read(ref _queueSamples);
            return (n == 0 ? 0 : Interlocked.Read(ref _queueSum) / (double)n, Interlocked.Read(ref _queueMax));
        }

        public void Reset()
        {
            Interlocked.Exchange(ref _calls, 0);
            Interlocked.Exchange(ref _items, 0);
            Interlocked.Exchange(ref _ticks, 0);
            Interlocked.Exchange(ref _bytes, 0);
            Interlocked.Exchange(ref _maxInFlight, Volatile.Read(ref _inFlight));
            Interlocked.Exchange(ref _queueSamples, 0);
            Interlocked.Exchange(ref _queueSum, 0);
            Interlocked.Exchange(ref _queueMax, 0);
        }
    }

    public readonly record struct Snapshot(long Calls, long Items, long Bytes, TimeSpan Total, int MaxInFlight)
    {
        public double MeanMs => Calls == 0 ? 0 : Total.TotalMilliseconds / Calls;
    }

    /// <summary>Journal WriteMessagesAsync: calls are batches, items are events. Its queue is the journal actor's mailbox.</summary>
    public static readonly Counter JournalWrites = new();

    /// <summary>Journal ReadHighestSequenceNrAsync: one per persistent actor recovery.</summary>
    public static readonly Counter JournalRecoveries = new();

    /// <summary>Snapshot SaveAsync; its queue is the snapshot store actor's mailbox (saves and loads alike).</summary>
    public static readonly Counter SnapshotSaves = new();
    public static readonly Counter SnapshotLoads = new();

    public static void ResetAll()
    {
        JournalWrites.Reset();
        JournalRecoveries.Reset();
        SnapshotSaves.Reset();
        SnapshotLoads.Reset();
    }

    /// <summary>HOCON that swaps in the timed plugin classes (prepended after WithSiyuPersistence).</summary>
    public const string Hocon = """
        akka.persistence.journal.sql.class = "Siyu.Host.Bench.TimedSqlWriteJournal, siyu"
        akka.persistence.snapshot-store.sql.class = "Siyu.Host.Bench.TimedSqlSnapshotStore, siyu"
        """;
}

public sealed class TimedSqlWriteJournal(Akka.Configuration.Config config) : SqlWriteJournal(config)
{
    protected override bool AroundReceive(Akka.Actor.Receive receive, object message)
    {
        PersistenceCounters.JournalWrites.SampleQueue(((Akka.Actor.ActorCell)Context).Mailbox?.MessageQueue.Count ?? 0);
        return base.AroundReceive(receive, message);
    }

    protected override async Task<IImmutableList<Exception>> WriteMessagesAsync(IEnumerable<AtomicWrite> messages, CancellationToken cancellationToken)
    {
        var list = messages as IReadOnlyCollection<AtomicWrite> ?? messages.ToList();
        var events = list.Sum(w => w.Payload is IImmutableList<IPersistentRepresentation> p ? p.Count : 1);
        var started = PersistenceCounters.JournalWrites.Start();
        try
        {
            return await base.WriteMessagesAsync(list, cancellationToken);
        }
        finally
        {
            PersistenceCounters.JournalWrites.Stop(started, events);
        }
    }

    public override async Task<long> ReadHighestSequenceNrAsync(string persistenceId, long fromSequenceNr, CancellationToken cancellationToken)
    {
        var started = PersistenceCounters.JournalRecoveries.Start();
        try
        {
            return await base.ReadHighestSequenceNrAsync(persistenceId, fromSequenceNr, cancellationToken);
        }
        finally
        {
            PersistenceCounters.JournalRecoveries.Stop(started, 1);
        }
    }
}

public sealed class TimedSqlSnapshotStore(Akka.Configuration.Config config) : SqlSnapshotStore(config)
{
    protected override bool AroundReceive(Akka.Actor.Receive receive, object message)
    {
        PersistenceCounters.SnapshotSaves.SampleQueue(((Akka.Actor.ActorCell)Context).Mailbox?.MessageQueue.Count ?? 0);
        return base.AroundReceive(receive, message);
    }

    protected override async Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var started = PersistenceCounters.SnapshotSaves.Start();
        try
        {
            await base.SaveAsync(metadata, snapshot, cancellationToken);
        }
        finally
        {
            PersistenceCounters.SnapshotSaves.Stop(started, 1, (snapshot as byte[])?.LongLength ?? 0);
        }
    }

    protected override async Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var started = PersistenceCounters.SnapshotLoads.Start();
        try
        {
            return await base.LoadAsync(persistenceId, criteria, cancellationToken);
        }
        finally
        {
            PersistenceCounters.SnapshotLoads.Stop(started, 1);
        }
    }
}
