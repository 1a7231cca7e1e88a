using Npgsql;
using NpgsqlTypes;

namespace Siyu.Actors.Storage;

/// <summary>
/// PostgreSQL through one NpgsqlDataSource (its pool serves the reads; the writer holds one
/// connection of its own). No per-row round trips: a transaction is one NpgsqlBatch of at most
/// four statements, each taking all its rows as arrays (INSERT ... SELECT FROM unnest(...) ON
/// CONFLICT DO UPDATE), and loads take a chunk of ids as one array (= ANY). Statements are
/// prepared, which Npgsql keeps per physical connection.
/// </summary>
internal sealed class PostgresBackend : StoreBackend
{
    private const string Schema = """
        SELECT pg_advisory_xact_lock(hashtext('siyu_store_schema'));
        CREATE TABLE IF NOT EXISTS siyu_customers (
          customer_id text COLLATE "C" PRIMARY KEY,
          shard integer NOT NULL,
          version bigint NOT NULL,
          state bytea NULL,
          next_wake bigint NULL,
          updated_at bigint NOT NULL);
        CREATE INDEX IF NOT EXISTS siyu_customers_wake ON siyu_customers (shard, next_wake, customer_id) WHERE next_wake IS NOT NULL;
        CREATE TABLE IF NOT EXISTS siyu_ids (
          id_hash bytea PRIMARY KEY CHECK (octet_length(id_hash) = 16),
          shard integer NOT NULL,
          owner text NOT NULL);
        """;

    private const string CustomerColumns = "customer_id, shard, version, state, next_wake";

    private const string Upsert = $"""
        INSERT INTO siyu_customers ({CustomerColumns}, updated_at)
        SELECT u.id, u.shard, u.version, u.state, u.wake, $6
        FROM unnest($1::text[], $2::integer[], $3::bigint[], $4::bytea[], $5::bigint[]) AS u(id, shard, version, state, wake)
        ON CONFLICT (customer_id) DO UPDATE SET shard = EXCLUDED.shard, version = EXCLUDED.version, state = EXCLUDED.state,
          next_wake = EXCLUDED.next_wake, updated_at = EXCLUDED.updated_at
        """;

    private const string Tombstone = $"""
        INSERT INTO siyu_customers ({CustomerColumns}, updated_at)
        SELECT u.id, u.shard, 0, NULL, NULL, $3 FROM unnest($1::text[], $2::integer[]) AS u(id, shard)
        ON CONFLICT (customer_id) DO UPDATE SET shard = EXCLUDED.shard, state = NULL, next_wake = NULL, updated_at = EXCLUDED.updated_at
        """;

    private const string Owner = """
        INSERT INTO siyu_ids (id_hash, shard, owner)
        SELECT * FROM unnest($1::bytea[], $2::integer[], $3::text[])
        ON CONFLICT (id_hash) DO UPDATE SET shard = EXCLUDED.shard, owner = EXCLUDED.owner
        """;

    private const string Release = "DELETE FROM siyu_ids WHERE id_hash = ANY($1::bytea[])";

    private readonly StoreOptions _options;
    private readonly NpgsqlDataSource _source;

    public PostgresBackend(StoreOptions options)
    {
        _options = options;
        _source = NpgsqlDataSource.Create(options.ConnectionString);
    }

    private int Timeout => _options.CommandTimeoutSeconds;

    public override async Task CreateSchemaAsync(CancellationToken ct)
    {
        await using var connection = await _source.OpenConnectionAsync(ct);
        await using var transaction = await connection.BeginTransactionAsync(ct);
        await using var command = new NpgsqlCommand(Schema, connection, transaction) { CommandTimeout = Timeout };
        await command.ExecuteNonQueryAsync(ct);
        await transaction.CommitAsync(ct);
    }

    public override StoreWriter OpenWriter() => new Writer(_source, Timeout);

    public override Task<IReadOnlyList<StoredCustomer>> LoadCustomersAsync(IReadOnlyCollection<string> ids, CancellationToken ct) =>
        Read(connection => LoadCustomersAsync(connection, ids, ct), ct);

    private async Task<IReadOnlyList<StoredCustomer>> LoadCustomersAsync(NpgsqlConnection connection, IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        var found = new List<StoredCustomer>(ids.Count);
        await using var command = new NpgsqlCommand($"SELECT {CustomerColumns} FROM siyu_customers WHERE customer_id = ANY($1)", connection) { CommandTimeout = Timeout };
        var parameter = new NpgsqlParameter<string[]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Text };
        command.Parameters.Add(parameter);
        foreach (var chunk in Chunks(ids))
        {
            parameter.TypedValue = chunk;
            await command.PrepareAsync(ct);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                found.Add(new StoredCustomer(reader.GetString(0), reader.IsDBNull(3) ? null : reader.GetFieldValue<byte[]>(3))
                {
                    Shard = reader.GetInt32(1),
                    Version = reader.GetInt64(2),
                    NextWake = reader.IsDBNull(4) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                });
            }
        }
        return found;
    }

    public override Task<IReadOnlyList<OwnerRow>> LoadOwnersAsync(IReadOnlyCollection<IdHash> keys, CancellationToken ct) =>
        Read(connection => LoadOwnersAsync(connection, keys, ct), ct);

    private async Task<IReadOnlyList<OwnerRow>> LoadOwnersAsync(NpgsqlConnection connection, IReadOnlyCollection<IdHash> keys, CancellationToken ct)
    {
        var found = new List<OwnerRow>(keys.Count);
        await using var command = new NpgsqlCommand("SELECT id_hash, shard, owner FROM siyu_ids WHERE id_hash = ANY($1)", connection) { CommandTimeout = Timeout };
        var parameter = new NpgsqlParameter<byte[][]> { NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea };
        command.Parameters.Add(parameter);
        foreach (var chunk in Chunks(keys))
        {
            parameter.TypedValue = Array.ConvertAll(chunk, k => k.ToArray());
            await command.PrepareAsync(ct);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                found.Add(new OwnerRow(IdHash.FromBytes(reader.GetFieldValue<byte[]>(0)), reader.GetInt32(1), reader.GetString(2)));
            }
        }
        return found;
    }

    public override Task<IReadOnlyList<string>> DueAsync(int shard, long nowUnixMs, int limit, CancellationToken ct) =>
        Read(connection => DueAsync(connection, shard, nowUnixMs, limit, ct), ct);

    private async Task<IReadOnlyList<string>> DueAsync(NpgsqlConnection connection, int shard, long nowUnixMs, int limit, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "SELECT customer_id FROM siyu_customers WHERE shard = $1 AND next_wake IS NOT NULL AND next_wake <= $2 ORDER BY next_wake, customer_id LIMIT $3",
            connection) { CommandTimeout = Timeout };
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = shard });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = nowUnixMs });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = limit });
        await command.PrepareAsync(ct);
        var due = new List<string>(Math.Min(limit, 1024));
        await using var reader = await command.ExecuteReaderAsync(ct);
        while (await reader.ReadAsync(ct))
        {
            due.Add(reader.GetString(0));
        }
        return due;
    }

    public override Task ProbeAsync(CancellationToken ct) => Read(async connection =>
    {
        await using var command = new NpgsqlCommand("SELECT 1", connection) { CommandTimeout = Timeout };
        return await command.ExecuteScalarAsync(ct);
    }, ct);

    /// <summary>
    /// Runs <paramref name="read"/> on a pooled connection. A pooled connection that turns out dead
    /// (the server restarted or failed over since it was last used) is not an error of the read:
    /// the pool's idle connections are dropped and the read runs once more on a new one.
    /// </summary>
    private async Task<T> Read<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            var connection = await _source.OpenConnectionAsync(ct);
            try
            {
                return await read(connection);
            }
            catch (NpgsqlException e) when (attempt == 0 && Died(connection, e))
            {
                _source.Clear();
            }
            finally
            {
                await connection.DisposeAsync();
            }
        }
    }

    /// <summary>The connection broke under the call (not a timeout, not an error the server reported on a live session).</summary>
    internal static bool Died(NpgsqlConnection connection, NpgsqlException e) =>
        e.InnerException is not TimeoutException
        && (connection.FullState.HasFlag(System.Data.ConnectionState.Broken) || connection.State == System.Data.ConnectionState.Closed);

    public override ValueTask DisposeAsync() => _source.DisposeAsync();

    private IEnumerable<T[]> Chunks<T>(IReadOnlyCollection<T> items)
    {
        var size = _options.LoadChunk;
        var remaining = items.Count;
        var chunk = new T[Math.Min(size, remaining)];
        var n = 0;
        foreach (var item in items)
        {
            chunk[n++] = item;
            if (n == chunk.Length)
            {
                yield return chunk;
                remaining -= n;
                n = 0;
                if (remaining > 0)
                {
                    chunk = new T[Math.Min(size, remaining)];
                }
            }
        }
    }

    /// <summary>
    /// The writer's connection: one batch (one round trip) per transaction plus its COMMIT. When
    /// the connection kept from an earlier transaction turns out dead (the server restarted since),
    /// the transaction runs once more on a new connection instead of failing its writes. Even if the
    /// dead connection's COMMIT had gone through, running it again is harmless: it writes the same
    /// final rows (upserts, tombstones and deletes are idempotent).
    /// </summary>
    private sealed class Writer(NpgsqlDataSource source, int timeout) : StoreWriter
    {
        private NpgsqlConnection? _connection;

        public override void Commit(WriteBatch batch, long nowUnixMs)
        {
            var reused = _connection is not null;
            _connection ??= source.OpenConnection();
            try
            {
                Write(_connection, batch, nowUnixMs);
            }
            catch (NpgsqlException e) when (reused && Died(_connection, e))
            {
                _connection.Dispose();
                _connection = null;
                source.Clear(); // the readers' idle connections died with it
                _connection = source.OpenConnection();
                Write(_connection, batch, nowUnixMs);
            }
        }

        private void Write(NpgsqlConnection connection, WriteBatch batch, long nowUnixMs)
        {
            using var transaction = connection.BeginTransaction();
            using var sql = new NpgsqlBatch(connection, transaction) { Timeout = timeout };
            if (batch.Upserts.Count > 0)
            {
                var rows = batch.Upserts;
                var (ids, shards, versions, states, wakes) = (new string[rows.Count], new int[rows.Count], new long[rows.Count], new byte[rows.Count][], new long?[rows.Count]);
                for (var i = 0; i < rows.Count; i++)
                {
                    var row = rows[i];
                    (ids[i], shards[i], versions[i], states[i]) = (row.CustomerId, row.Shard, row.Version, row.State);
                    wakes[i] = row.NextWake?.ToUnixTimeMilliseconds();
                }
                sql.BatchCommands.Add(Statement(Upsert, Array(ids, NpgsqlDbType.Text), Array(shards, NpgsqlDbType.Integer), Array(versions, NpgsqlDbType.Bigint),
                    Array(states, NpgsqlDbType.Bytea), Array(wakes, NpgsqlDbType.Bigint), new NpgsqlParameter<long> { TypedValue = nowUnixMs }));
            }
            if (batch.Tombstones.Count > 0)
            {
                var rows = batch.Tombstones;
                var (ids, shards) = (new string[rows.Count], new int[rows.Count]);
                for (var i = 0; i < rows.Count; i++)
                {
                    (ids[i], shards[i]) = rows[i];
                }
                sql.BatchCommands.Add(Statement(Tombstone, Array(ids, NpgsqlDbType.Text), Array(shards, NpgsqlDbType.Integer), new NpgsqlParameter<long> { TypedValue = nowUnixMs }));
            }
            if (batch.Owners.Count > 0)
            {
                var rows = batch.Owners;
                var (keys, shards, owners) = (new byte[rows.Count][], new int[rows.Count], new string[rows.Count]);
                for (var i = 0; i < rows.Count; i++)
                {
                    (keys[i], shards[i], owners[i]) = (rows[i].Key.ToArray(), rows[i].Shard, rows[i].Owner);
                }
                sql.BatchCommands.Add(Statement(Owner, Array(keys, NpgsqlDbType.Bytea), Array(shards, NpgsqlDbType.Integer), Array(owners, NpgsqlDbType.Text)));
            }
            if (batch.Releases.Count > 0)
            {
                var keys = new byte[batch.Releases.Count][];
                for (var i = 0; i < keys.Length; i++)
                {
                    keys[i] = batch.Releases[i].ToArray();
                }
                sql.BatchCommands.Add(Statement(Release, Array(keys, NpgsqlDbType.Bytea)));
            }
            sql.Prepare();
            sql.ExecuteNonQuery();
            transaction.Commit();
        }

        private static NpgsqlBatchCommand Statement(string text, params NpgsqlParameter[] parameters)
        {
            var command = new NpgsqlBatchCommand(text);
            command.Parameters.AddRange(parameters);
            return command;
        }

        private static NpgsqlParameter<T> Array<T>(T value, NpgsqlDbType element) => new() { TypedValue = value, NpgsqlDbType = NpgsqlDbType.Array | element };

        public override void Dispose() => _connection?.Dispose();
    }
}
