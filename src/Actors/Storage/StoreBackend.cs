namespace Siyu.Actors.Storage;

/// <summary>
/// The SQL of one provider. Schema (both providers; names prefixed siyu_ to stay clear of
/// Akka.Persistence.Sql's journal/snapshot tables in the same database):
///
///   siyu_customers(customer_id TEXT PRIMARY KEY,       -- PostgreSQL: COLLATE "C" (same order as SQLite)
///                  shard       INT NOT NULL,            -- the customer shard that owns the row
///                  version     BIGINT NOT NULL,         -- the actor's version of the state (0: tombstone without a prior row)
///                  state       BLOB/BYTEA NULL,         -- the serialized state; NULL: erased (tombstone)
///                  next_wake   BIGINT NULL,             -- unix ms of the next timer; NULL: none
///                  updated_at  BIGINT NOT NULL)         -- unix ms of the commit that wrote the row
///     index siyu_customers_wake (shard, next_wake, customer_id) WHERE next_wake IS NOT NULL
///   siyu_ids(id_hash BLOB/BYTEA PRIMARY KEY,            -- IdHash: 16 bytes of SHA-256("type:value"), never the plain id
///            shard   INT NOT NULL,                      -- the identity shard that owns the key
///            owner   TEXT NOT NULL)                     -- the customer id that owns the identifier
///
/// SQLite keeps siyu_ids WITHOUT ROWID (small fixed rows, one B-tree); siyu_customers keeps its
/// rowid because its rows carry kilobytes of state.
/// </summary>
internal abstract class StoreBackend : IAsyncDisposable
{
    public abstract Task CreateSchemaAsync(CancellationToken ct);

    /// <summary>A connection of the writer thread's own (called on that thread).</summary>
    public abstract StoreWriter OpenWriter();

    public abstract Task<IReadOnlyList<StoredCustomer>> LoadCustomersAsync(IReadOnlyCollection<string> ids, CancellationToken ct);

    public abstract Task<IReadOnlyList<OwnerRow>> LoadOwnersAsync(IReadOnlyCollection<IdHash> keys, CancellationToken ct);

    public abstract Task<IReadOnlyList<string>> DueAsync(int shard, long nowUnixMs, int limit, CancellationToken ct);

    public abstract Task ProbeAsync(CancellationToken ct);

    public abstract ValueTask DisposeAsync();

    internal static DateTimeOffset? FromUnixMs(long? ms) => ms is { } v ? DateTimeOffset.FromUnixTimeMilliseconds(v) : null;
}

/// <summary>The writer thread's connection; dropped (disposed) after any failure.</summary>
internal abstract class StoreWriter : IDisposable
{
    /// <summary>Writes <paramref name="batch"/> in one transaction: all of it or (throwing) nothing.</summary>
    public abstract void Commit(WriteBatch batch, long nowUnixMs);

    public abstract void Dispose();
}
