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
    /// A read connection with its statements prepared. Loads bind their ids by position through
    /// SQLitePCL: binding by name (Microsoft.Data.Sqlite's way) looks every name up in the
    /// statement's list, which for an IN list of hundreds of parameters was most of a load's cost
    /// (strncmp at 8% of the node's CPU in `siyu bench`). One statement per list size (1, 8, 64,
    /// chunk); a shorter list repeats its last id (a duplicate in an IN list changes nothing).
    /// </summary>
    private sealed class Reader : IDisposable
    {
        private readonly SqliteConnection _connection;
        private readonly (int Size, RawStatement Statement)[] _customers;
        private readonly (int Size, RawStatement Statement)[] _owners;
        private readonly SqliteCommand _due;
        private readonly SqliteCommand _probe;

        public Reader(SqliteConnection connection, int chunk)
        {
            _connection = connection;
            int[] sizes = [.. new[] { 1, 8, 64, chunk }.Where(n => n <= chunk).Distinct().Order()];
            _customers = [.. sizes.Select(n => (n, new RawStatement(connection, $"SELECT {CustomerColumns} FROM siyu_customers WHERE customer_id IN ({Positions(n)})")))];
            _owners = [.. sizes.Select(n => (n, new RawStatement(connection, $"SELECT id_hash, shard, owner FROM siyu_ids WHERE id_hash IN ({Positions(n)})")))];
            _due = connection.CreateCommand();
            _due.CommandText = "SELECT customer_id FROM siyu_customers WHERE shard = $shard AND next_wake IS NOT NULL AND next_wake <= $now ORDER BY next_wake, customer_id LIMIT $limit";
            Parameter(_due, "$shard", SqliteType.Integer);
            Parameter(_due, "$now", SqliteType.Integer);
            Parameter(_due, "$limit", SqliteType.Integer);
            _probe = connection.CreateCommand();
            _probe.CommandText = "SELECT 1";
        }

        private static string Positions(int n) => string.Join(", ", Enumerable.Range(1, n).Select(i => $"?{i}"));

        /// <summary>The smallest prepared list that holds <paramref name="n"/> ids (the largest when none does).</summary>
        private static (int Size, RawStatement Statement) Fit((int Size, RawStatement Statement)[] statements, int n)
        {
            foreach (var s in statements)
            {
                if (s.Size >= n)
                {
                    return s;
                }
            }
            return statements[^1];
        }

        public IReadOnlyList<StoredCustomer> LoadCustomers(IReadOnlyCollection<string> ids, CancellationToken ct)
        {
            var found = new List<StoredCustomer>(ids.Count);
            var all = ids as IReadOnlyList<string> ?? [.. ids];
            for (var start = 0; start < all.Count;)
            {
                ct.ThrowIfCancellationRequested();
                var (size, statement) = Fit(_customers, all.Count - start);
                var n = Math.Min(size, all.Count - start);
                for (var i = 0; i < size; i++)
                {
                    statement.Text(i + 1, all[start + Math.Min(i, n - 1)]);
                }
                while (statement.Step())
                {
                    found.Add(new StoredCustomer(statement.ColumnText(0), statement.IsNull(3) ? null : statement.ColumnBlob(3).ToArray())
                    {
                        Shard = (int)statement.ColumnInt64(1),
                        Version = statement.ColumnInt64(2),
                        NextWake = statement.IsNull(4) ? null : DateTimeOffset.FromUnixTimeMilliseconds(statement.ColumnInt64(4)),
                    });
                }
                start += n;
            }
            return found;
        }

        public IReadOnlyList<OwnerRow> LoadOwners(IReadOnlyCollection<IdHash> keys, CancellationToken ct)
        {
            var found = new List<OwnerRow>(keys.Count);
            var all = keys as IReadOnlyList<IdHash> ?? [.. keys];
            Span<byte> key = stackalloc byte[IdHash.Size];
            for (var start = 0; start < all.Count;)
            {
                ct.ThrowIfCancellationRequested();
                var (size, statement) = Fit(_owners, all.Count - start);
                var n = Math.Min(size, all.Count - start);
                for (var i = 0; i < size; i++)
                {
                    all[start + Math.Min(i, n - 1)].WriteTo(key);
                    statement.Blob(i + 1, key);
                }
                while (statement.Step())
                {
                    var bytes = statement.ColumnBlob(0);
                    if (bytes.Length != IdHash.Size)
                    {
                        throw new InvalidDataException($"siyu_ids holds an id_hash of {bytes.Length} bytes, not {IdHash.Size}");
                    }
                    found.Add(new OwnerRow(IdHash.FromBytes(bytes), (int)statement.ColumnInt64(1), statement.ColumnText(2)));
                }
                start += n;
            }
            return found;
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
            foreach (var (_, statement) in _customers.Concat(_owners))
            {
                statement.Dispose();
            }
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

        /// <summary>
        /// A query: true while it yields rows (read them with the Column methods); false once done,
        /// when it is reset for the next binding. A failure resets it and throws.
        /// </summary>
        public bool Step()
        {
            var rc = raw.sqlite3_step(_statement);
            if (rc == raw.SQLITE_ROW)
            {
                return true;
            }
            raw.sqlite3_reset(_statement);
            if (rc != raw.SQLITE_DONE)
            {
                SqliteException.ThrowExceptionForRC(rc, _db);
            }
            return false;
        }

        public bool IsNull(int column) => raw.sqlite3_column_type(_statement, column) == raw.SQLITE_NULL;

        public long ColumnInt64(int column) => raw.sqlite3_column_int64(_statement, column);

        public ReadOnlySpan<byte> ColumnBlob(int column) => raw.sqlite3_column_blob(_statement, column);

        public string ColumnText(int column) => Encoding.UTF8.GetString(raw.sqlite3_column_blob(_statement, column));

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
