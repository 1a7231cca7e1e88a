using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Siyu.Actors.Storage;

/// <summary>
/// The durable store of the hot path: each customer's state and the id index, as plain SQL rows
/// in the journal's database (SQLite or PostgreSQL), beside but apart from Akka.Persistence.Sql's
/// own tables. Akka-agnostic.
///
/// Writes are group-committed: <see cref="CommitAsync"/> only queues; one writer thread, owning
/// one connection, takes everything queued (up to <see cref="StoreOptions.MaxBatchRows"/>),
/// writes it in ONE transaction and only then completes each write, so a caller learns "durable"
/// only once its rows are committed. A failed transaction writes nothing and fails every write in
/// it; the writer drops its connection and goes on with the next writes (callers retry).
///
/// Reads never queue behind the writer: they run on connections of their own (SQLite WAL readers
/// see the last commit while a write is in progress; PostgreSQL through Npgsql's pool).
/// </summary>
public sealed class CustomerStore : IAsyncDisposable
{
    private sealed class Pending(StoreWrite write) : TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)
    {
        public StoreWrite Write { get; } = write;
    }

    private readonly StoreOptions _options;
    private readonly ILogger _log;
    private readonly TimeProvider _time;
    private readonly StoreBackend _backend;
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleReader = true });
    private readonly TaskCompletionSource _writerDone = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly WriteBatch _batch = new();
    private int _disposed;
    private int _queued; // the single-reader channel cannot count

    private CustomerStore(StoreOptions options, ILogger logger, TimeProvider time, StoreBackend backend)
    {
        (_options, _log, _time, _backend) = (options, logger, time, backend);
        new Thread(WriteLoop) { IsBackground = true, Name = "siyu-store-writer" }.Start();
    }

    /// <summary>
    /// Opens the store and creates its tables and indexes if missing (idempotent on both
    /// providers, safe when several nodes start at once). Fails when the database cannot be reached.
    /// </summary>
    public static async Task<CustomerStore> OpenAsync(StoreOptions options, ILogger logger, CancellationToken ct = default, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        StoreBackend backend = options.Provider == "sqlite" ? new SqliteBackend(options) : new PostgresBackend(options);
        try
        {
            await backend.CreateSchemaAsync(ct);
        }
        catch
        {
            await backend.DisposeAsync();
            throw;
        }
        logger.LogInformation("Customer store open on {Provider} (tables siyu_customers, siyu_ids)", options.Provider);
        return new CustomerStore(options, logger, time ?? TimeProvider.System, backend);
    }

    /// <summary>How the writes are going (for /health and metrics).</summary>
    public StoreStatus Status { get; } = new();

    /// <summary>Writes queued and not yet taken by the writer.</summary>
    public int QueuedWrites => Volatile.Read(ref _queued);

    /// <summary>
    /// Queues <paramref name="write"/>; the task completes once it is committed (with every other
    /// write queued meanwhile, in one transaction) and fails with the database's exception if that
    /// transaction failed, in which case none of it was written. <paramref name="ct"/> only
    /// applies before the write is queued: once queued it will be committed or failed.
    /// </summary>
    public Task CommitAsync(StoreWrite write, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(write);
        Validate(write);
        if (ct.IsCancellationRequested)
        {
            return Task.FromCanceled(ct);
        }
        var pending = new Pending(write);
        Interlocked.Increment(ref _queued);
        if (_queue.Writer.TryWrite(pending))
        {
            return pending.Task;
        }
        Interlocked.Decrement(ref _queued);
        return Task.FromException(new ObjectDisposedException(nameof(CustomerStore)));
    }

    /// <summary>The stored rows of <paramref name="customerIds"/> (tombstones included); unknown ids are absent.</summary>
    public Task<IReadOnlyList<StoredCustomer>> LoadCustomersAsync(IReadOnlyCollection<string> customerIds, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(customerIds);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return customerIds.Count == 0 ? Task.FromResult<IReadOnlyList<StoredCustomer>>([]) : _backend.LoadCustomersAsync(customerIds, ct);
    }

    /// <summary>The owners of <paramref name="keys"/>; keys nobody owns are absent.</summary>
    public Task<IReadOnlyList<OwnerRow>> LoadOwnersAsync(IReadOnlyCollection<IdHash> keys, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(keys);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return keys.Count == 0 ? Task.FromResult<IReadOnlyList<OwnerRow>>([]) : _backend.LoadOwnersAsync(keys, ct);
    }

    /// <summary>Up to <paramref name="limit"/> customers of <paramref name="shard"/> whose next wake is at or before <paramref name="now"/>, earliest first (ties by customer id).</summary>
    public Task<IReadOnlyList<string>> DueAsync(int shard, DateTimeOffset now, int limit, CancellationToken ct = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _backend.DueAsync(shard, now.ToUnixTimeMilliseconds(), limit, ct);
    }

    /// <summary>One trivial query on a read connection (health check); throws when the database is unreachable.</summary>
    public Task ProbeAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return _backend.ProbeAsync(ct);
    }

    /// <summary>Commits what is queued (for up to 30 s), then closes every connection. Later writes fail.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _queue.Writer.TryComplete();
        try
        {
            await _writerDone.Task.WaitAsync(TimeSpan.FromSeconds(30));
        }
        catch (TimeoutException)
        {
            _log.LogWarning("Customer store: {Count} queued writes were not committed within 30 s of shutdown", QueuedWrites);
        }
        await _backend.DisposeAsync();
    }

    private static void Validate(StoreWrite write)
    {
        foreach (var c in write.Customers)
        {
            if (c is null || string.IsNullOrEmpty(c.CustomerId) || c.State is null)
            {
                throw new ArgumentException("a CustomerRow needs a customer id and a state (an erasure goes in Erased)", nameof(write));
            }
        }
        foreach (var o in write.Owners)
        {
            if (string.IsNullOrEmpty(o.Owner))
            {
                throw new ArgumentException($"the OwnerRow of {o.Key} has no owner (a release goes in ReleasedIds)", nameof(write));
            }
        }
        foreach (var e in write.Erased)
        {
            if (string.IsNullOrEmpty(e.CustomerId))
            {
                throw new ArgumentException("an erasure needs a customer id", nameof(write));
            }
        }
    }

    private void WriteLoop()
    {
        var taken = new List<Pending>();
        Pending? carried = null; // taken from the queue but over the bound: first of the next transaction
        StoreWriter? writer = null;
        try
        {
            while (carried is not null || WaitToRead())
            {
                var rows = 0;
                if (carried is not null)
                {
                    taken.Add(carried);
                    rows = carried.Write.RowCount;
                    carried = null;
                }
                while (rows < _options.MaxBatchRows && _queue.Reader.TryRead(out var next))
                {
                    Interlocked.Decrement(ref _queued);
                    if (taken.Count > 0 && rows + next.Write.RowCount > _options.MaxBatchRows)
                    {
                        carried = next;
                        break;
                    }
                    taken.Add(next);
                    rows += next.Write.RowCount;
                }
                Commit(taken, ref writer);
                taken.Clear();
            }
        }
        finally
        {
            writer?.Dispose();
            _writerDone.TrySetResult();
        }
    }

    private bool WaitToRead()
    {
        var wait = _queue.Reader.WaitToReadAsync();
        return wait.IsCompletedSuccessfully ? wait.Result : wait.AsTask().GetAwaiter().GetResult();
    }

    private void Commit(List<Pending> taken, ref StoreWriter? writer)
    {
        try
        {
            foreach (var p in taken)
            {
                _batch.Add(p.Write);
            }
            _batch.Seal();
            if (_batch.Rows > 0)
            {
                writer ??= _backend.OpenWriter();
                writer.Commit(_batch, _time.GetUtcNow().ToUnixTimeMilliseconds());
                var outage = Status.Committed(taken.Count, _batch.Rows);
                if (outage is not null)
                {
                    _log.LogInformation("Customer store: writes committed again after {Batches} failed transactions since {Since:o}", outage.Batches, outage.Since);
                }
            }
        }
        catch (Exception e)
        {
            try
            {
                writer?.Dispose(); // a broken connection is not reused
            }
            catch (Exception disposing)
            {
                _log.LogDebug(disposing, "Customer store: closing the failed writer connection");
            }
            writer = null;
            if (Status.Failed(e, _time.GetUtcNow()) is null)
            {
                _log.LogWarning(e, "Customer store: a transaction of {Writes} writes failed and wrote nothing; callers retry. Logged once per outage: see /health until a commit succeeds", taken.Count);
            }
            else
            {
                _log.LogDebug(e, "Customer store: a transaction of {Writes} writes failed again", taken.Count);
            }
            foreach (var p in taken)
            {
                p.TrySetException(e);
            }
            return;
        }
        finally
        {
            _batch.Clear();
        }
        foreach (var p in taken)
        {
            p.TrySetResult();
        }
    }
}
