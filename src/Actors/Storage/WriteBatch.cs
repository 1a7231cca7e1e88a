namespace Siyu.Actors.Storage;

/// <summary>
/// The writes of one transaction folded so that each customer and each id key appears once, with
/// the latest queued write's effect: the same result as committing them one by one, and what a
/// multi-row upsert needs (PostgreSQL refuses to update one row twice in one statement). Within
/// one <see cref="StoreWrite"/>, erasures apply after its customer upserts and releases after its
/// owner upserts. Reused by the one writer thread, so folding allocates only when it grows.
/// </summary>
internal sealed class WriteBatch
{
    private readonly Dictionary<string, (CustomerRow? Row, int Shard)> _customers = new(StringComparer.Ordinal);
    private readonly Dictionary<IdHash, OwnerRow?> _ids = [];

    public List<CustomerRow> Upserts { get; } = [];
    public List<(string CustomerId, int Shard)> Tombstones { get; } = [];
    public List<OwnerRow> Owners { get; } = [];
    public List<IdHash> Releases { get; } = [];

    public int Rows => Upserts.Count + Tombstones.Count + Owners.Count + Releases.Count;

    public void Add(StoreWrite write)
    {
        foreach (var c in write.Customers)
        {
            _customers[c.CustomerId] = (c, c.Shard);
        }
        foreach (var (id, shard) in write.Erased)
        {
            _customers[id] = (null, shard);
        }
        foreach (var o in write.Owners)
        {
            _ids[o.Key] = o;
        }
        foreach (var key in write.ReleasedIds)
        {
            _ids[key] = null;
        }
    }

    /// <summary>Turns what was added into the four row lists.</summary>
    public void Seal()
    {
        foreach (var (id, (row, shard)) in _customers)
        {
            if (row is not null)
            {
                Upserts.Add(row);
            }
            else
            {
                Tombstones.Add((id, shard));
            }
        }
        foreach (var (key, owner) in _ids)
        {
            if (owner is { } o)
            {
                Owners.Add(o);
            }
            else
            {
                Releases.Add(key);
            }
        }
    }

    public void Clear()
    {
        _customers.Clear();
        _ids.Clear();
        Upserts.Clear();
        Tombstones.Clear();
        Owners.Clear();
        Releases.Clear();
    }
}
