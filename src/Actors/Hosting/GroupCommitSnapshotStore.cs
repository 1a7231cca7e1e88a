using System.Data;
using System.Data.Common;
using System.Threading.Channels;
using Akka.Actor;
using Akka.Event;
using Akka.Pattern;
using Akka.Persistence;
using Akka.Persistence.Sql.Snapshot;
using LinqToDB;
using LinqToDB.Data;

namespace Siyu.Actors.Hosting;

/// <summary>
/// Akka.Persistence.Sql's snapshot store with saves committed across customers (group commit).
///
/// Why: every customer saves its whole state once per flush, and with events spread over many
/// customers nearly every event causes its own save. The library writes each save in its own
/// transaction, and on SQLite (whose ADO.NET "async" calls run synchronously) inside the one
/// snapshot-store actor, so saves run one at a time and every recovery waits behind them.
///
/// Here <see cref="SaveAsync"/> only queues the row; one writer thread writes everything queued
/// (up to <see cref="MaxBatch"/> rows) in one transaction and only then completes each save, so a
/// customer still gets SaveSnapshotSuccess (and acknowledges its events) only once its row is
/// committed. The rows are the library's own (its table mapping, its serializer), so loads,
/// recovery and deletes stay the library's. Deletes wait for the saves queued before them.
///
/// A failed save (the database down, slow past the circuit breaker's call-timeout) is not
/// followed by Akka's clean-up delete of "the snapshot that failed": every customer saves at
/// sequence number 0, so that delete would remove the customer's last good row (and could race
/// with its next save, which then reported success for a deleted row). A failed batch writes
/// nothing (its transaction rolls back), and a save that timed out but committed later left a
/// complete row, so keeping it is always safe.
/// </summary>
public sealed class GroupCommitSnapshotStore : SqlSnapshotStore
{
    private const int MaxBatch = 2_000;

    private abstract record Item;

    private sealed record Row(string PersistenceId, long SequenceNr, long CreatedTicks, byte[] Payload, string Manifest, int SerializerId) : Item
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>Completes once every row queued before it is committed (or failed).</summary>
    private sealed record Barrier : Item
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly SnapshotWriteStatus _status;
    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly DataOptions _data;
    private readonly string _upsert;
    private readonly Task _writer;

    public GroupCommitSnapshotStore(Akka.Configuration.Config config) : base(config)
    {
        var setup = Context.System.Settings.Setup.Get<GroupCommitSetup>().Value
            ?? throw new InvalidOperationException("GroupCommitSnapshotStore needs a GroupCommitSetup (WithSiyuPersistence adds it)");
        (_data, _status) = (setup.Data, setup.Status);
        var provider = config.GetString("provider-name");
        var mapping = config.GetString("table-mapping", "default");
        var table = config.GetString($"{mapping}.snapshot.table-name", "snapshot");
        string Column(string key, string fallback) => config.GetString($"{mapping}.snapshot.columns.{key}", fallback);
        var (id, seq, created, snapshot, manifest, serializer) = (Column("persistence-id", "persistence_id"), Column("sequence-number", "sequence_number"),
            Column("created", "created"), Column("snapshot", "snapshot"), Column("manifest", "manifest"), Column("serializerId", "serializer_id"));
        var insert = $"INSERT INTO {table} ({id}, {seq}, {created}, {snapshot}, {manifest}, {serializer}) VALUES (@p, @s, @c, @b, @m, @i)";
        _upsert = provider.StartsWith("SQLite", StringComparison.OrdinalIgnoreCase)
            ? insert.Replace("INSERT INTO", "INSERT OR REPLACE INTO", StringComparison.Ordinal)
            : provider.StartsWith("PostgreSQL", StringComparison.OrdinalIgnoreCase)
                ? $"{insert} ON CONFLICT ({id}, {seq}) DO UPDATE SET {created} = EXCLUDED.{created}, {snapshot} = EXCLUDED.{snapshot}, "
                  + $"{manifest} = EXCLUDED.{manifest}, {serializer} = EXCLUDED.{serializer}"
                : throw new NotSupportedException($"GroupCommitSnapshotStore: provider {provider} is not SQLite or PostgreSQL");
        _writer = Task.Factory.StartNew(WriteLoop, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
    }

    protected override Task SaveAsync(SnapshotMetadata metadata, object snapshot, CancellationToken cancellationToken)
    {
        var serializer = Context.System.Serialization.FindSerializerFor(snapshot);
        var row = new Row(metadata.PersistenceId, metadata.SequenceNr, metadata.Timestamp.Ticks, serializer.ToBinary(snapshot),
            Akka.Serialization.Serialization.ManifestFor(serializer, snapshot), serializer.Identifier);
        return _queue.Writer.TryWrite(row) ? row.Done.Task : Task.FromException(new InvalidOperationException("snapshot store is stopping"));
    }

    /// <summary>
    /// A failed save goes back to its customer without Akka's clean-up delete (see the class
    /// comment). And every request gets its answer even when Akka's circuit breaker throws instead
    /// of failing the call's task (seen with the breaker half-open as PostgreSQL came back: the
    /// store restarted and the customer whose save it was waited for ever, its events unacknowledged).
    /// </summary>
    protected override bool AroundReceive(Receive receive, object message)
    {
        if (message is SaveSnapshotFailure failed)
        {
            Sender.Tell(failed); // the base class pipes a failed save back to the store with its customer as sender
            return true;
        }
        try
        {
            return base.AroundReceive(receive, message);
        }
        catch (OpenCircuitException e)
        {
            object? reply = message switch
            {
                SaveSnapshot save => new SaveSnapshotFailure(save.Metadata, e),
                LoadSnapshot => new LoadSnapshotFailed(e),
                DeleteSnapshot delete => new DeleteSnapshotFailure(delete.Metadata, e),
                DeleteSnapshots delete => new DeleteSnapshotsFailure(delete.Criteria, e),
                _ => null,
            };
            Context.GetLogger().Warning(e, "Snapshot store: the circuit breaker refused {0}; answered as failed", message.GetType().Name);
            if (reply is not null)
            {
                Sender.Tell(reply);
            }
            return true;
        }
    }

    protected override async Task DeleteAsync(SnapshotMetadata metadata, CancellationToken cancellationToken)
    {
        await Drain();
        await base.DeleteAsync(metadata, cancellationToken);
    }

    protected override async Task DeleteAsync(string persistenceId, SnapshotSelectionCriteria criteria, CancellationToken cancellationToken)
    {
        await Drain();
        await base.DeleteAsync(persistenceId, criteria, cancellationToken);
    }

    /// <summary>A delete must not run before a save queued ahead of it, or the save would bring the row back.</summary>
    private Task Drain()
    {
        var barrier = new Barrier();
        return _queue.Writer.TryWrite(barrier) ? barrier.Done.Task : Task.CompletedTask;
    }

    protected override void PostStop()
    {
        _queue.Writer.TryComplete();
        _writer.Wait(TimeSpan.FromSeconds(30)); // the last queued saves are committed (their customers are stopping too)
        base.PostStop();
    }

    private void WriteLoop()
    {
        var batch = new List<Item>(MaxBatch);
        DataConnection? db = null;
        try
        {
            while (_queue.Reader.WaitToReadAsync().AsTask().GetAwaiter().GetResult())
            {
                while (batch.Count < MaxBatch && _queue.Reader.TryRead(out var item))
                {
                    batch.Add(item);
                }
                try
                {
                    db ??= new DataConnection(_data);
                    Write(db.OpenDbConnection(), batch);
                    _status.Succeeded();
                    Complete(batch, null);
                }
                catch (Exception e)
                {
                    _status.Failed(e, DateTimeOffset.UtcNow);
                    Complete(batch, e);
                    db?.Dispose();
                    db = null; // a broken connection is not reused
                }
                batch.Clear();
            }
        }
        finally
        {
            db?.Dispose();
        }
    }

    private static void Complete(List<Item> batch, Exception? failure)
    {
        foreach (var item in batch)
        {
            var done = item switch
            {
                Row r => r.Done,
                Barrier b => b.Done,
                _ => throw new InvalidOperationException(),
            };
            if (failure is null || item is Barrier)
            {
                done.TrySetResult();
            }
            else
            {
                done.TrySetException(failure);
            }
        }
    }

    private void Write(DbConnection connection, List<Item> batch)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = _upsert;
        var id = Parameter(command, "@p", DbType.String);
        var seq = Parameter(command, "@s", DbType.Int64);
        var created = Parameter(command, "@c", DbType.Int64);
        var payload = Parameter(command, "@b", DbType.Binary);
        var manifest = Parameter(command, "@m", DbType.String);
        var serializer = Parameter(command, "@i", DbType.Int32);
        command.Prepare();
        // Two saves of one customer in a batch: the later one is written last and wins, as one by one.
        foreach (var row in batch.OfType<Row>())
        {
            id.Value = row.PersistenceId;
            seq.Value = row.SequenceNr;
            created.Value = row.CreatedTicks;
            payload.Value = row.Payload;
            manifest.Value = row.Manifest;
            serializer.Value = row.SerializerId;
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }

    private static DbParameter Parameter(DbCommand command, string name, DbType type)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.DbType = type;
        command.Parameters.Add(p);
        return p;
    }
}

/// <summary>The connection <see cref="GroupCommitSnapshotStore"/> writes through: the library's DataOptions (and SQLite pragmas).</summary>
public sealed class GroupCommitSetup(DataOptions data) : Akka.Actor.Setup.Setup
{
    public DataOptions Data { get; } = data;

    /// <summary>How the latest batch of saves went, for the node's health check.</summary>
    public SnapshotWriteStatus Status { get; } = new();
}

/// <summary>
/// Whether customers' saves are reaching the database: written by the store's writer thread after
/// each batch, read by /health. While saves fail no event is acknowledged, so no offset moves.
/// </summary>
public sealed class SnapshotWriteStatus
{
    /// <summary>Saves failing since <paramref name="Since"/>: <paramref name="Batches"/> batches, the latest with <paramref name="Error"/>.</summary>
    public sealed record Failure(DateTimeOffset Since, long Batches, string Error);

    private Failure? _failing;

    /// <summary>Null while the latest batch was committed.</summary>
    public Failure? Failing => Volatile.Read(ref _failing);

    internal void Succeeded() => Volatile.Write(ref _failing, null);

    internal void Failed(Exception e, DateTimeOffset now)
    {
        var previous = _failing; // one writer thread
        Volatile.Write(ref _failing, new Failure(previous?.Since ?? now, (previous?.Batches ?? 0) + 1, e.Message));
    }
}
