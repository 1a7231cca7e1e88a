using System.Collections.Concurrent;
using Akka.Persistence;
using Akka.Persistence.Snapshot;

namespace Siyu.Host.Bench;

/// <summary>
/// What-if for `siyu bench actors --hocon`, never the product: keeps only the latest snapshot of
/// each persistence id in memory (O(1) per save and load; Akka's own in-memory store scans a
/// list and is slower than SQLite at this scale). With the in-memory journal it shows what the
/// actor design costs when storage is free. Nothing survives a restart, so (d) finds nothing.
/// Select it with
/// <c>akka.persistence.snapshot-store.plugin = "siyu-bench-memory"</c> and
/// <c>siyu-bench-memory.class = "Siyu.Host.Bench.LatestOnlyMemorySnapshotStore, siyu"</c>.
/// </summary>
public sealed class LatestOnlyMemorySnapshotStore : SnapshotStore
{
    private readonly ConcurrentDictionary<string, SelectedSnapshot> _latest = new(StringComparer.Ordinal);

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken) =>
        Task.FromResult(_latest.TryGetValue(persistenceId, out var s) && s.Metadata.SequenceNr <= criteria.MaxSequenceNr ? s : null);

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        _latest[metadata.PersistenceId] = new SelectedSnapshot(metadata, snapshot);
        return Task.CompletedTask;
    }

    protected override Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        _latest.TryRemove(metadata.PersistenceId, out _);
        return Task.CompletedTask;
    }

    protected override Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        _latest.TryRemove(persistenceId, out _);
        return Task.CompletedTask;
    }
}
