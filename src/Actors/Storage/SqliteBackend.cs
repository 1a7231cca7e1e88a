using System.Collections.Concurrent;
using Microsoft.Data.Sqlite;

namespace Siyu.Actors.Storage;

/// <summary>
/// SQLite: WAL (readers see the last commit while the writer writes), synchronous=NORMAL (a
/// commit is an append to the WAL, without fsync; a power cut may lose the last commits, whose
/// events were then not acknowledged either), busy_timeout for the write lock shared with the Akka
/// journal. Every statement is prepared once per connection and reused for each row/call.
/// Microsoft.Data.Sqlite has no truly asynchronous I/O, so reads run on the thread pool.
/// </summary>
internal sealed class SqliteBackend : StoreBackend
{
    private const string Schema = """
        CREATE TABLE IF NOT EXISTS siyu_customers (
          customer_id TEXT NOT NULL PRIMARY KEY,
          shard INTEGER NOT NULL,
          version INTEGER NOT NULL,
          state BLOB NULL,
          next_wake INTEGER NULL,
          updated_at INTEGER NOT NULL);
        CREATE INDEX IF NOT EXISTS siyu_customers_wake ON siyu_customers (shard, next_wake, customer_id) WHERE next_wake IS NOT NULL;
        CREATE TABLE IF NOT EXISTS siyu_ids (
          id_hash BLOB NOT NULL PRIMARY KEY,
          shard INTEGER NOT NULL,
          owner TEXT NOT NULL) WITHOUT ROWID;
        """;

    private const string CustomerColumns = "customer_id, shard, version, state, next_wake";
    private const int MaxIdleReaders = 8;

    private readonly StoreOptions _options;
    private readonly string _connectionString;
    private readonly ConcurrentBag<Reader> _readers = [];

    public SqliteBackend(StoreOptions options)
    {
        _options = options;
        // Pooling off: this store keeps its connections open itself (the writer's, idle readers).
        var builder = new SqliteConnectionStringBuilder(options.ConnectionString) { DefaultTimeout = options.CommandTimeoutSeconds, Pooling = false };
        _connectionString = builder.ToString();
        var dir = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(_connectionString);
        try
        {
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = $"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout={(long)_options.CommandTimeout.TotalMilliseconds};";
            pragma.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    public override Task CreateSchemaAsync(CancellationToken ct) => Task.Run(() =>
    {
        using var connection = Open();
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = Schema;
        command.ExecuteNonQuery();
        transaction.Commit();
    }, ct);

    public override StoreWriter OpenWriter() => new Writer(Open());

    public override Task<IReadOnlyList<StoredCustomer>> LoadCustomersAsync(IReadOnlyCollection<string> ids, CancellationToken ct) =>
        Read(reader => reader.LoadCustomers(ids, ct), ct);

    public override Task<IReadOnlyList<OwnerRow>> LoadOwnersAsync(IReadOnlyCollection<IdHash> keys, CancellationToken ct) =>
        Read(reader => reader.LoadOwners(keys, ct), ct);

    public override Task<IReadOnlyList<string>> DueAsync(int shard, long nowUnixMs, int limit, CancellationToken ct) =>
        Read(reader => reader.Due(shard, nowUnixMs, limit), ct);

    public override Task ProbeAsync(CancellationToken ct) => Read(reader => reader.Probe(), ct);

    /// <summary>Runs <paramref name="read"/> on an idle reader connection (or a new one); a reader that failed is closed.</summary>
    private Task<T> Read<T>(Func<Reader, T> read, CancellationToken ct) => Task.Run(() =>
    {
        var reader = _readers.TryTake(out var idle) ? idle : new Reader(Open(), _options.LoadChunk);
        T result;
        try
        {
            result = read(reader);
        }
        catch
        {
            reader.Dispose();
            throw;
        }
        if (_readers.Count < MaxIdleReaders)
        {
            _readers.Add(reader);
        }
        else
        {
            reader.Dispose();
        }
        return result;
    }, ct);

    public override ValueTask DisposeAsync()
    {
        while (_readers.TryTake(out var reader))
        {
            reader.Dispose();
        }
        return ValueTask.CompletedTask;
    }

    private static SqliteParameter Parameter(SqliteCommand command, string name, SqliteType type)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.SqliteType = type;
        command.Parameters.Add(p);
        return p;
    }

    /// <summary>
    /// A read connection with its statements prepared. The load statements take exactly one chunk
    /// of ids; a shorter chunk repeats its last id (a duplicate in an IN list changes nothing), so
    /// one prepared statement serves every call.
    /// </summary>
    private sealed class Reader : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _customers;
        private readonly SqliteParameter[] _customerIds;
        private readonly SqliteCommand _owners;
        private readonly SqliteParameter[] _ownerKeys;
        private readonly SqliteCommand _due;
        private readonly SqliteCommand _probe;
        private readonly byte[] _key = new byte[IdHash.Size];

        public Reader(SqliteConnection connection, int chunk)
        {
            _connection = connection;
            (_customers, _customerIds) = InList(connection, $"SELECT {CustomerColumns} FROM siyu_customers WHERE customer_id IN", "c", chunk, SqliteType.Text);
            (_owners, _ownerKeys) = InList(connection, "SELECT id_hash, shard, owner FROM siyu_ids WHERE id_hash IN", "k", chunk, SqliteType.Blob);
            foreach (var p in _ownerKeys)
            {
                p.Value = new byte[IdHash.Size]; // each parameter keeps its own buffer, rewritten per call
            }
            _due = connection.CreateCommand();
            _due.CommandText = "SELECT customer_id FROM siyu_customers WHERE shard = $shard AND next_wake IS NOT NULL AND next_wake <= $now ORDER BY next_wake, customer_id LIMIT $limit";
            Parameter(_due, "$shard", SqliteType.Integer);
            Parameter(_due, "$now", SqliteType.Integer);
            Parameter(_due, "$limit", SqliteType.Integer);
            _probe = connection.CreateCommand();
            _probe.CommandText = "SELECT 1";
        }

        private static (SqliteCommand, SqliteParameter[]) InList(SqliteConnection connection, string select, string prefix, int chunk, SqliteType type)
        {
            var command = connection.CreateCommand();
            command.CommandText = $"{select} ({string.Join(", ", Enumerable.Range(0, chunk).Select(i => $"${prefix}{i}"))})";
            var parameters = new SqliteParameter[chunk];
            for (var i = 0; i < chunk; i++)
            {
                parameters[i] = Parameter(command, $"${prefix}{i}", type);
            }
            return (command, parameters);
        }

        public IReadOnlyList<StoredCustomer> LoadCustomers(IReadOnlyCollection<string> ids, CancellationToken ct)
        {
            var found = new List<StoredCustomer>(ids.Count);
            var n = 0;
            foreach (var id in ids)
            {
                _customerIds[n++].Value = id;
                if (n == _customerIds.Length)
                {
                    ReadCustomers(n, found, ct);
                    n = 0;
                }
            }
            if (n > 0)
            {
                ReadCustomers(n, found, ct);
            }
            return found;
        }

        private void ReadCustomers(int n, List<StoredCustomer> found, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            for (var i = n; i < _customerIds.Length; i++)
            {
                _customerIds[i].Value = _customerIds[n - 1].Value;
            }
            using var reader = _customers.ExecuteReader();
            while (reader.Read())
            {
                found.Add(new StoredCustomer(reader.GetString(0), reader.IsDBNull(3) ? null : (byte[])reader.GetValue(3))
                {
                    Shard = reader.GetInt32(1),
                    Version = reader.GetInt64(2),
                    NextWake = reader.IsDBNull(4) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                });
            }
        }

        public IReadOnlyList<OwnerRow> LoadOwners(IReadOnlyCollection<IdHash> keys, CancellationToken ct)
        {
            var found = new List<OwnerRow>(keys.Count);
            var n = 0;
            foreach (var key in keys)
            {
                key.WriteTo((byte[])_ownerKeys[n++].Value!);
                if (n == _ownerKeys.Length)
                {
                    ReadOwners(n, found, ct);
                    n = 0;
                }
            }
            if (n > 0)
            {
                ReadOwners(n, found, ct);
            }
            return found;
        }

        private void ReadOwners(int n, List<OwnerRow> found, CancellationToken ct)
        {
            ct.ThrowIfCancellationRequested();
            var last = (byte[])_ownerKeys[n - 1].Value!;
            for (var i = n; i < _ownerKeys.Length; i++)
            {
                last.CopyTo((byte[])_ownerKeys[i].Value!, 0);
            }
            using var reader = _owners.ExecuteReader();
            while (reader.Read())
            {
                var length = reader.GetBytes(0, 0, null, 0, 0);
                if (length != IdHash.Size || reader.GetBytes(0, 0, _key, 0, IdHash.Size) != IdHash.Size)
                {
                    throw new InvalidDataException($"siyu_ids holds an id_hash of {length} bytes, not {IdHash.Size}");
                }
                found.Add(new OwnerRow(IdHash.FromBytes(_key), reader.GetInt32(1), reader.GetString(2)));
            }
        }

        public IReadOnlyList<string> Due(int shard, long nowUnixMs, int limit)
        {
            _due.Parameters[0].Value = shard;
            _due.Parameters[1].Value = nowUnixMs;
            _due.Parameters[2].Value = limit;
            var due = new List<string>(Math.Min(limit, 1024));
            using var reader = _due.ExecuteReader();
            while (reader.Read())
            {
                due.Add(reader.GetString(0));
            }
            return due;
        }

        public bool Probe() => Convert.ToInt64(_probe.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) == 1;

        public void Dispose()
        {
            _customers.Dispose();
            _owners.Dispose();
            _due.Dispose();
            _probe.Dispose();
            _connection.Dispose();
        }
    }

    /// <summary>The writer's connection: BEGIN IMMEDIATE (the write lock up front), one prepared statement per kind of row.</summary>
    private sealed class Writer : StoreWriter
    {
        private readonly SqliteConnection _connection;
        private readonly SqliteCommand _upsert;
        private readonly SqliteCommand _tombstone;
        private readonly SqliteCommand _owner;
        private readonly SqliteCommand _release;
        private readonly byte[] _key = new byte[IdHash.Size];

        public Writer(SqliteConnection connection)
        {
            _connection = connection;
            _upsert = Command($"""
                INSERT INTO siyu_customers ({CustomerColumns}, updated_at) VALUES ($id, $shard, $version, $state, $wake, $now)
                ON CONFLICT (customer_id) DO UPDATE SET shard = excluded.shard, version = excluded.version, state = excluded.state,
                  next_wake = excluded.next_wake, updated_at = excluded.updated_at
                """, ("$id", SqliteType.Text), ("$shard", SqliteType.Integer), ("$version", SqliteType.Integer),
                ("$state", SqliteType.Blob), ("$wake", SqliteType.Integer), ("$now", SqliteType.Integer));
            _tombstone = Command($"""
                INSERT INTO siyu_customers ({CustomerColumns}, updated_at) VALUES ($id, $shard, 0, NULL, NULL, $now)
                ON CONFLICT (customer_id) DO UPDATE SET shard = excluded.shard, state = NULL, next_wake = NULL, updated_at = excluded.updated_at
                """, ("$id", SqliteType.Text), ("$shard", SqliteType.Integer), ("$now", SqliteType.Integer));
            _owner = Command("""
                INSERT INTO siyu_ids (id_hash, shard, owner) VALUES ($key, $shard, $owner)
                ON CONFLICT (id_hash) DO UPDATE SET shard = excluded.shard, owner = excluded.owner
                """, ("$key", SqliteType.Blob), ("$shard", SqliteType.Integer), ("$owner", SqliteType.Text));
            _release = Command("DELETE FROM siyu_ids WHERE id_hash = $key", ("$key", SqliteType.Blob));
            _owner.Parameters[0].Value = _key;
            _release.Parameters[0].Value = _key;
        }

        private SqliteCommand Command(string sql, params (string Name, SqliteType Type)[] parameters)
        {
            var command = _connection.CreateCommand();
            command.CommandText = sql;
            foreach (var (name, type) in parameters)
            {
                Parameter(command, name, type);
            }
            command.Prepare();
            return command;
        }

        public override void Commit(WriteBatch batch, long nowUnixMs)
        {
            using var transaction = _connection.BeginTransaction();
            object now = nowUnixMs;
            if (batch.Upserts.Count > 0)
            {
                var p = _upsert.Parameters;
                _upsert.Transaction = transaction;
                p[5].Value = now;
                foreach (var row in batch.Upserts)
                {
                    p[0].Value = row.CustomerId;
                    p[1].Value = row.Shard;
                    p[2].Value = row.Version;
                    p[3].Value = row.State;
                    p[4].Value = row.NextWake is { } wake ? wake.ToUnixTimeMilliseconds() : DBNull.Value;
                    _upsert.ExecuteNonQuery();
                }
            }
            if (batch.Tombstones.Count > 0)
            {
                var p = _tombstone.Parameters;
                _tombstone.Transaction = transaction;
                p[2].Value = now;
                foreach (var (id, shard) in batch.Tombstones)
                {
                    p[0].Value = id;
                    p[1].Value = shard;
                    _tombstone.ExecuteNonQuery();
                }
            }
            if (batch.Owners.Count > 0)
            {
                var p = _owner.Parameters;
                _owner.Transaction = transaction;
                foreach (var row in batch.Owners)
                {
                    row.Key.WriteTo(_key);
                    p[1].Value = row.Shard;
                    p[2].Value = row.Owner;
                    _owner.ExecuteNonQuery();
                }
            }
            if (batch.Releases.Count > 0)
            {
                _release.Transaction = transaction;
                foreach (var key in batch.Releases)
                {
                    key.WriteTo(_key);
                    _release.ExecuteNonQuery();
                }
            }
            transaction.Commit();
        }

        public override void Dispose()
        {
            _upsert.Dispose();
            _tombstone.Dispose();
            _owner.Dispose();
            _release.Dispose();
            _connection.Dispose();
        }
    }
}
