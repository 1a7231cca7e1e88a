using System.Data;
using System.Data.Common;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using NpgsqlTypes;
using Siyu.Actors.Storage;

namespace Siyu.Benchmarks;

/// <summary>Rows of ~1 KB of state, as a customer's serialized profile state.</summary>
internal static class Rows
{
    public const int StateBytes = 1_024;

    public static CustomerRow[] Customers(int count, string prefix = "c")
    {
        var random = new Random(42);
        var rows = new CustomerRow[count];
        for (var i = 0; i < count; i++)
        {
            var state = new byte[StateBytes];
            random.NextBytes(state);
            rows[i] = new CustomerRow($"{prefix}{i:x12}{random.Next():x8}", i % 64, 1, state, i % 4 == 0 ? DateTimeOffset.UnixEpoch.AddDays(20_000 + i % 30) : null);
        }
        return rows;
    }
}

/// <summary>
/// One transaction of <see cref="Count"/> customer rows: into siyu_customers through
/// CustomerStore.CommitAsync (the whole group-commit path: queue, writer thread, fold, commit),
/// and into Akka.Persistence.Sql's snapshot table row by row as GroupCommitSnapshotStore does.
/// Each invocation rewrites the same customers (after the first: updates, the steady state).
/// </summary>
public class StoreCommitBenchmarks
{
    [ParamsSource(nameof(Providers))]
    public string Provider { get; set; } = "sqlite";

    [Params(1_000, 5_000)]
    public int Count { get; set; }

    public static IEnumerable<string> Providers => Databases.Providers;

    private Databases _db = null!;
    private CustomerStore _store = null!;
    private StoreWrite _write = null!;
    private DbConnection _snapshotConnection = null!;
    private (string, byte[])[] _snapshotRows = null!;

    [GlobalSetup]
    public void Setup()
    {
        _db = new Databases(Provider);
        _store = CustomerStore.OpenAsync(new StoreOptions(Provider, _db.ConnectionString), NullLogger.Instance).GetAwaiter().GetResult();
        _write = new StoreWrite();
        _write.Customers.AddRange(Rows.Customers(Count));
        SnapshotTable.Create(_db);
        _snapshotConnection = _db.Open();
        _snapshotRows = [.. _write.Customers.Select(c => ("customer-" + c.CustomerId, c.State))];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _snapshotConnection.Dispose();
        _db.Dispose();
    }

    [Benchmark(Baseline = true, Description = "siyu_customers via CustomerStore")]
    public Task OwnTables() => _store.CommitAsync(_write);

    [Benchmark(Description = "Akka snapshot table, row by row")]
    public void SnapshotTableRowByRow() => SnapshotTable.WriteRowByRow(_snapshotConnection, Provider, _snapshotRows, DateTime.UtcNow.Ticks);
}

/// <summary>
/// PostgreSQL only: the library's snapshot table written with one multi-row statement (unnest),
/// to tell the table layout from the statement style apart.
/// </summary>
public class PostgresMultiRowSnapshotBenchmarks
{
    [Params(1_000, 5_000)]
    public int Count { get; set; }

    private Databases _db = null!;
    private NpgsqlConnection _connection = null!;
    private string[] _ids = null!;
    private byte[][] _payloads = null!;

    [GlobalSetup]
    public void Setup()
    {
        _db = new Databases("postgresql");
        SnapshotTable.Create(_db);
        _connection = (NpgsqlConnection)_db.Open();
        var rows = Rows.Customers(Count);
        _ids = [.. rows.Select(r => "customer-" + r.CustomerId)];
        _payloads = [.. rows.Select(r => r.State)];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _connection.Dispose();
        _db.Dispose();
    }

    [Benchmark(Description = "Akka snapshot table, one unnest upsert")]
    public void SnapshotTableMultiRow()
    {
        using var transaction = _connection.BeginTransaction();
        using var command = new NpgsqlCommand("""
            INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id)
            SELECT u.id, 0, $3, u.payload, $4, $5 FROM unnest($1::varchar[], $2::bytea[]) AS u(id, payload)
            ON CONFLICT (persistence_id, sequence_number) DO UPDATE SET created = EXCLUDED.created, snapshot = EXCLUDED.snapshot,
              manifest = EXCLUDED.manifest, serializer_id = EXCLUDED.serializer_id
            """, _connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string[]> { TypedValue = _ids, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Varchar });
        command.Parameters.Add(new NpgsqlParameter<byte[][]> { TypedValue = _payloads, NpgsqlDbType = NpgsqlDbType.Array | NpgsqlDbType.Bytea });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = DateTime.UtcNow.Ticks });
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = SnapshotTable.Manifest });
        command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = SnapshotTable.SerializerId });
        command.Prepare();
        command.ExecuteNonQuery();
        transaction.Commit();
    }
}

/// <summary>
/// Loading <see cref="Count"/> customers by id out of 20,000 stored (~1 KB each): one
/// LoadCustomersAsync call, against the library's way of recovering them (one snapshot query per
/// customer, newest sequence number first), on one connection.
/// </summary>
public class StoreLoadBenchmarks
{
    [ParamsSource(nameof(Providers))]
    public string Provider { get; set; } = "sqlite";

    [Params(500)]
    public int Count { get; set; }

    public static IEnumerable<string> Providers => Databases.Providers;

    private Databases _db = null!;
    private CustomerStore _store = null!;
    private string[] _wanted = null!;
    private IdHash[] _keys = null!;
    private DbConnection _snapshotConnection = null!;
    private DbCommand _snapshotLoad = null!;

    [GlobalSetup]
    public void Setup()
    {
        _db = new Databases(Provider);
        _store = CustomerStore.OpenAsync(new StoreOptions(Provider, _db.ConnectionString), NullLogger.Instance).GetAwaiter().GetResult();
        var rows = Rows.Customers(20_000);
        var write = new StoreWrite();
        write.Customers.AddRange(rows);
        write.Owners.AddRange(rows.Select(r => new OwnerRow(IdHash.Of("member_id", r.CustomerId), r.Shard, r.CustomerId)));
        _store.CommitAsync(write).GetAwaiter().GetResult();
        var random = new Random(7);
        _wanted = [.. rows.Select(r => r.CustomerId).OrderBy(_ => random.Next()).Take(Count)];
        _keys = [.. _wanted.Select(id => IdHash.Of("member_id", id))];

        SnapshotTable.Create(_db);
        _snapshotConnection = _db.Open();
        SnapshotTable.WriteRowByRow(_snapshotConnection, Provider, [.. rows.Select(r => ("customer-" + r.CustomerId, r.State))], DateTime.UtcNow.Ticks);
        _snapshotLoad = _snapshotConnection.CreateCommand();
        _snapshotLoad.CommandText = "SELECT persistence_id, sequence_number, created, snapshot, manifest, serializer_id FROM snapshot WHERE persistence_id = @p ORDER BY sequence_number DESC LIMIT 1";
        Databases.Parameter(_snapshotLoad, "@p", DbType.String);
        _snapshotLoad.Prepare();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _store.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _snapshotLoad.Dispose();
        _snapshotConnection.Dispose();
        _db.Dispose();
    }

    [Benchmark(Baseline = true, Description = "siyu_customers: LoadCustomersAsync")]
    public async Task<int> LoadCustomers()
    {
        var found = await _store.LoadCustomersAsync(_wanted);
        return found.Count == _wanted.Length ? found.Count : throw new InvalidOperationException($"loaded {found.Count} of {_wanted.Length}");
    }

    [Benchmark(Description = "siyu_ids: LoadOwnersAsync")]
    public async Task<int> LoadOwners()
    {
        var found = await _store.LoadOwnersAsync(_keys);
        return found.Count == _keys.Length ? found.Count : throw new InvalidOperationException($"loaded {found.Count} of {_keys.Length}");
    }

    [Benchmark(Description = "Akka snapshot table, one query per customer")]
    public int LoadSnapshotsOneByOne()
    {
        var found = 0;
        foreach (var id in _wanted)
        {
            _snapshotLoad.Parameters[0].Value = "customer-" + id;
            using var reader = _snapshotLoad.ExecuteReader();
            while (reader.Read())
            {
                found += reader.GetFieldValue<byte[]>(3).Length > 0 ? 1 : 0;
            }
        }
        return found == _wanted.Length ? found : throw new InvalidOperationException($"loaded {found} of {_wanted.Length}");
    }
}
