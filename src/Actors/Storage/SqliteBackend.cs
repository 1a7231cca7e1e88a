using System.Buffers;
using System.Collections.Concurrent;
using System.Text;
using Microsoft.Data.Sqlite;
using SQLitePCL;

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
                // GetBytes into a buffer costs ~1.7 KB a row here (measured); the 16-byte copy does not.
                var key = reader.GetFieldValue<byte[]>(0);
                if (key.Length != IdHash.Size)
                {
                    throw new InvalidDataException($"siyu_ids holds an id_hash of {key.Length} bytes, not {IdHash.Size}");
                }
                found.Add(new OwnerRow(IdHash.FromBytes(key), reader.GetInt32(1), reader.GetString(2)));
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

    /// <summary>
    /// The writer's connection: BEGIN IMMEDIATE (the write lock up front), then one prepared
    /// statement per kind of row, bound and stepped per row through SQLitePCL (the layer under
    /// Microsoft.Data.Sqlite): its SqliteCommand allocates a data reader and boxes every value on
    /// each execution, about 800 bytes a row, which a flush of thousands of rows does not need.
    /// </summary>
    private sealed class Writer : StoreWriter
    {
        private readonly SqliteConnection _connection;
        private readonly RawStatement _upsert;
        private readonly RawStatement _tombstone;
        private readonly RawStatement _owner;
        private readonly RawStatement _release;

        public Writer(SqliteConnection connection)
        {
            _connection = connection;
            try
            {
                _upsert = new(connection, $"""
                    INSERT INTO siyu_customers ({CustomerColumns}, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                    ON CONFLICT (customer_id) DO UPDATE SET shard = excluded.shard, version = excluded.version, state = excluded.state,
                      next_wake = excluded.next_wake, updated_at = excluded.updated_at
                    """);
                _tombstone = new(connection, $"""
                    INSERT INTO siyu_customers ({CustomerColumns}, updated_at) VALUES (?1, ?2, 0, NULL, NULL, ?3)
                    ON CONFLICT (customer_id) DO UPDATE SET shard = excluded.shard, state = NULL, next_wake = NULL, updated_at = excluded.updated_at
                    """);
                _owner = new(connection, """
                    INSERT INTO siyu_ids (id_hash, shard, owner) VALUES (?1, ?2, ?3)
                    ON CONFLICT (id_hash) DO UPDATE SET shard = excluded.shard, owner = excluded.owner
                    """);
                _release = new(connection, "DELETE FROM siyu_ids WHERE id_hash = ?1");
            }
            catch
            {
                Dispose();
                throw;
            }
        }

        public override void Commit(WriteBatch batch, long nowUnixMs)
        {
            using var transaction = _connection.BeginTransaction();
            Span<byte> key = stackalloc byte[IdHash.Size];
            foreach (var row in batch.Upserts)
            {
                _upsert.Text(1, row.CustomerId);
                _upsert.Int64(2, row.Shard);
                _upsert.Int64(3, row.Version);
                _upsert.Blob(4, row.State);
                _upsert.Int64OrNull(5, row.NextWake?.ToUnixTimeMilliseconds());
                _upsert.Int64(6, nowUnixMs);
                _upsert.Run();
            }
            foreach (var (id, shard) in batch.Tombstones)
            {
                _tombstone.Text(1, id);
                _tombstone.Int64(2, shard);
                _tombstone.Int64(3, nowUnixMs);
                _tombstone.Run();
            }
            foreach (var row in batch.Owners)
            {
                row.Key.WriteTo(key);
                _owner.Blob(1, key);
                _owner.Int64(2, row.Shard);
                _owner.Text(3, row.Owner);
                _owner.Run();
            }
            foreach (var released in batch.Releases)
            {
                released.WriteTo(key);
                _release.Blob(1, key);
                _release.Run();
            }
            transaction.Commit();
        }

        public override void Dispose()
        {
            _upsert?.Dispose();
            _tombstone?.Dispose();
            _owner?.Dispose();
            _release?.Dispose();
            _connection.Dispose();
        }
    }

    /// <summary>A statement prepared once on a connection; every bind copies its value (SQLITE_TRANSIENT).</summary>
    private sealed class RawStatement : IDisposable
    {
        private readonly sqlite3 _db;
        private readonly sqlite3_stmt _statement;

        public RawStatement(SqliteConnection connection, string sql)
        {
            _db = connection.Handle!;
            SqliteException.ThrowExceptionForRC(raw.sqlite3_prepare_v2(_db, sql, out _statement), _db);
        }

        public void Int64(int index, long value) => Check(raw.sqlite3_bind_int64(_statement, index, value));

        public void Int64OrNull(int index, long? value) => Check(value is { } v ? raw.sqlite3_bind_int64(_statement, index, v) : raw.sqlite3_bind_null(_statement, index));

        public void Blob(int index, ReadOnlySpan<byte> value) => Check(raw.sqlite3_bind_blob(_statement, index, value));

        public void Text(int index, string value)
        {
            var length = Encoding.UTF8.GetByteCount(value);
            byte[]? rented = null;
            var utf8 = length <= 256 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
            try
            {
                Encoding.UTF8.GetBytes(value, utf8);
                Check(raw.sqlite3_bind_text(_statement, index, utf8));
            }
            finally
            {
                if (rented is not null)
                {
                    ArrayPool<byte>.Shared.Return(rented);
                }
            }
        }

        /// <summary>Executes the bound statement and makes it ready for the next row.</summary>
        public void Run()
        {
            var rc = raw.sqlite3_step(_statement);
            raw.sqlite3_reset(_statement); // after a failed step, reset returns the same error: the step's rc is the one reported
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc == raw.SQLITE_ROW ? raw.SQLITE_MISUSE : rc, _db);
            }
        }

        private void Check(int rc) => SqliteException.ThrowExceptionForRC(rc, _db);

        public void Dispose() => _statement.Dispose();
    }
}
