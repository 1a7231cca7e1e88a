using System.Threading.Channels;
using Akka.Persistence;
using Akka.Persistence.Sql.Snapshot;
using Microsoft.Data.Sqlite;

namespace Siyu.Host.Bench;

/// <summary>
/// What-if for `siyu bench actors --hocon`, never the product: the SQL snapshot store with saves
/// committed across customers. SaveAsync only queues the row; one writer writes everything queued
/// (up to <see cref="MaxBatch"/> rows) in one SQLite transaction and then completes each save, so
/// every customer still gets its SaveSnapshotSuccess only once its row is committed. Rows are the
/// ones Akka.Persistence.Sql writes (default table mapping), so loads and recovery are the library's.
/// Select it with
/// <c>akka.persistence.snapshot-store.sql.class = "Siyu.Host.Bench.GroupCommitSnapshotStore, siyu"</c>.
/// </summary>
public sealed class GroupCommitSnapshotStore : SqlSnapshotStore
{
    private const int MaxBatch = 1_000;

    private sealed record Pending(string PersistenceId, long SequenceNr, long CreatedTicks, byte[] Payload, string Manifest, int SerializerId)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly string _connectionString;
    private readonly Task _writer;

    public GroupCommitSnapshotStore(Akka.Configuration.Config config) : base(config)
    {
        _connectionString = config.GetString("bench-connection-string")
            ?? throw new InvalidOperationException("bench-connection-string is not set (BenchNode sets it)");
        _writer = Task.Factory.StartNew(WriteLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();
    }

    protected override bool AroundReceive(Akka.Actor.Receive receive, object message)
    {
        PersistenceCounters.SnapshotSaves.SampleQueue(((Akka.Actor.ActorCell)Context).Mailbox?.MessageQueue.Count ?? 0);
        return base.AroundReceive(receive, message);
    }

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var serialization = Context.System.Serialization;
        var serializer = serialization.FindSerializerFor(snapshot);
        var payload = serializer.ToBinary(snapshot);
        var manifest = Akka.Serialization.Serialization.ManifestFor(serializer, snapshot);
        var pending = new Pending(metadata.PersistenceId, metadata.SequenceNr, metadata.Timestamp.Ticks, payload, manifest, serializer.Identifier);
        var started = PersistenceCounters.SnapshotSaves.Start();
        _queue.Writer.TryWrite(pending);
        return pending.Done.Task.ContinueWith(t =>
        {
            PersistenceCounters.SnapshotSaves.Stop(started, 1, payload.LongLength);
            t.GetAwaiter().GetResult();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    protected override Task<SelectedSnapshot?> LoadAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        var started = PersistenceCounters.SnapshotLoads.Start();
        return base.LoadAsync(persistenceId, criteria, cancellationToken).ContinueWith(t =>
        {
            PersistenceCounters.SnapshotLoads.Stop(started, 1);
            return t.GetAwaiter().GetResult();
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
    }

    protected override void PostStop()
    {
        _queue.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(10));
        base.PostStop();
    }

    private async Task WriteLoop()
    {
        var batch = new List<Pending>(MaxBatch);
        while (await _queue.Reader.WaitToReadAsync())
        {
            while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var p))
            {
                batch.Add(p);
            }
            try
            {
                Write(batch);
                foreach (var p in batch)
                {
                    p.Done.TrySetResult();
                }
            }
            catch (Exception e)
            {
                foreach (var p in batch)
                {
                    p.Done.TrySetException(e);
                }
            }
            batch.Clear();
        }
    }

    private void Write(List<Pending> batch)
    {
        using var connection = new SqliteConnection(_connectionString);
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;";
            pragma.ExecuteNonQuery();
        }
        using var transaction = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = transaction;
        insert.CommandText = "INSERT OR REPLACE INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id) VALUES ($p, $s, $c, $b, $m, $i)";
        var id = insert.Parameters.Add("$p", SqliteType.Text);
        var seq = insert.Parameters.Add("$s", SqliteType.Integer);
        var created = insert.Parameters.Add("$c", SqliteType.Integer);
        var blob = insert.Parameters.Add("$b", SqliteType.Blob);
        var manifest = insert.Parameters.Add("$m", SqliteType.Text);
        var serializer = insert.Parameters.Add("$i", SqliteType.Integer);
        // Several saves of one customer in a batch: the last one queued wins, as it would one by one.
        foreach (var p in batch)
        {
            id.Value = p.PersistenceId;
            seq.Value = p.SequenceNr;
            created.Value = p.CreatedTicks;
            blob.Value = p.Payload;
            manifest.Value = p.Manifest;
            serializer.Value = p.SerializerId;
            insert.ExecuteNonQuery();
        }
        transaction.Commit();
    }
}
