namespace Siyu.Actors.Storage;

/// <summary>
/// A customer as stored. <paramref name="State"/> is null for an erased customer's tombstone
/// (the row stays so the id is known as erased; no personal data is left in it).
/// </summary>
public sealed record StoredCustomer(string CustomerId, byte[]? State)
{
    public int Shard { get; init; }

    /// <summary>The version of the latest write (0 for a tombstone that had no row before).</summary>
    public long Version { get; init; }

    /// <summary>When the customer's next timer is due (null: none, and always null for a tombstone).</summary>
    public DateTimeOffset? NextWake { get; init; }
}

/// <summary>
/// An upsert of a customer's whole state. <paramref name="NextWake"/> is kept to the millisecond
/// and indexed per shard for <see cref="CustomerStore.DueAsync"/>.
/// </summary>
public sealed record CustomerRow(string CustomerId, int Shard, long Version, byte[] State, DateTimeOffset? NextWake);

/// <summary>An upsert of an id's owner in the id index.</summary>
public readonly record struct OwnerRow(IdHash Key, int Shard, string Owner);

/// <summary>
/// One unit of work, committed atomically together with every other write queued meanwhile
/// (group commit). Within a transaction a later write wins over an earlier one for the same
/// customer or id key, as if they were committed one by one. A write must not be changed after
/// <see cref="CustomerStore.CommitAsync"/> took it.
/// </summary>
public sealed class StoreWrite
{
    /// <summary>Upserts by customer id: the whole row is replaced (last write wins, no version check).</summary>
    public List<CustomerRow> Customers { get; } = [];

    /// <summary>Upserts by key.</summary>
    public List<OwnerRow> Owners { get; } = [];

    /// <summary>Deletes from the id index (erasure, or an id handed over).</summary>
    public List<IdHash> ReleasedIds { get; } = [];

    /// <summary>Replaces each customer's row by a tombstone: state and next wake NULL.</summary>
    public List<(string CustomerId, int Shard)> Erased { get; } = [];

    /// <summary>Rows this write adds to a transaction (for its size bound).</summary>
    public int RowCount => Customers.Count + Owners.Count + ReleasedIds.Count + Erased.Count;
}
