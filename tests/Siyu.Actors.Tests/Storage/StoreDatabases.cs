using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using Npgsql;
using Siyu.Actors.Storage;
using Siyu.Tests.Shared;

namespace Siyu.Actors.Tests.Storage;

/// <summary>A real database for one spec, and the ways a spec makes it misbehave.</summary>
public interface IStoreDatabase : IAsyncDisposable
{
    StoreOptions Options { get; }

    /// <summary>Another connection takes the write lock on the store's tables (reads stay possible) until disposed.</summary>
    Task<IAsyncDisposable> HoldWriteLockAsync();

    /// <summary>A trigger makes any insert of a customer with this id fail inside the transaction.</summary>
    Task PoisonCustomerIdAsync(string customerId);

    Task<long> ScalarAsync(string sql);
}

public sealed class SqliteStoreDatabase : IStoreDatabase
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"siyu-store-{Guid.NewGuid():N}");

    public SqliteStoreDatabase(Func<StoreOptions, StoreOptions>? tune = null)
    {
        var options = new StoreOptions("sqlite", $"Data Source={Path.Combine(_dir, "journal.db")}") { CommandTimeout = TimeSpan.FromSeconds(2) };
        Options = tune?.Invoke(options) ?? options;
    }

    public StoreOptions Options { get; }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder(Options.ConnectionString) { Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    public Task<IAsyncDisposable> HoldWriteLockAsync()
    {
        var connection = Open();
        using (var begin = connection.CreateCommand())
        {
            begin.CommandText = "BEGIN IMMEDIATE";
            begin.ExecuteNonQuery();
        }
        return Task.FromResult<IAsyncDisposable>(new Release(async () =>
        {
            using (var rollback = connection.CreateCommand())
            {
                rollback.CommandText = "ROLLBACK";
                rollback.ExecuteNonQuery();
            }
            await connection.DisposeAsync();
        }));
    }

    public async Task PoisonCustomerIdAsync(string customerId)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE TRIGGER poison BEFORE INSERT ON siyu_customers WHEN NEW.customer_id = '{customerId}' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END";
        await command.ExecuteNonQueryAsync();
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = Open();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public ValueTask DisposeAsync()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
        return ValueTask.CompletedTask;
    }
}

/// <summary>A fresh database on the class's PostgreSQL server.</summary>
public sealed class PostgresStoreDatabase : IStoreDatabase
{
    private readonly PostgresServer _server;
    private readonly string _name = $"store_{Guid.NewGuid():N}";

    private PostgresStoreDatabase(PostgresServer server, Func<StoreOptions, StoreOptions>? tune)
    {
        _server = server;
        var options = new StoreOptions("postgresql", new NpgsqlConnectionStringBuilder(server.ConnectionString) { Database = _name }.ToString())
        {
            CommandTimeout = TimeSpan.FromSeconds(2),
        };
        Options = tune?.Invoke(options) ?? options;
    }

    public static async Task<PostgresStoreDatabase> CreateAsync(PostgresServer server, Func<StoreOptions, StoreOptions>? tune = null)
    {
        var database = new PostgresStoreDatabase(server, tune);
        await using var admin = new NpgsqlConnection(server.ConnectionString);
        await admin.OpenAsync();
        await using var create = new NpgsqlCommand($"CREATE DATABASE {database._name}", admin);
        await create.ExecuteNonQueryAsync();
        return database;
    }

    public StoreOptions Options { get; }

    public PostgresServer Server => _server;

    private async Task<NpgsqlConnection> OpenAsync()
    {
        var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(Options.ConnectionString) { Pooling = false }.ToString());
        await connection.OpenAsync();
        return connection;
    }

    public async Task<IAsyncDisposable> HoldWriteLockAsync()
    {
        var connection = await OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        // EXCLUSIVE blocks every write but lets plain SELECTs through, as SQLite's write lock does.
        await using (var lockTables = new NpgsqlCommand("LOCK TABLE siyu_customers, siyu_ids IN EXCLUSIVE MODE", connection, transaction))
        {
            await lockTables.ExecuteNonQueryAsync();
        }
        return new Release(async () =>
        {
            await transaction.RollbackAsync();
            await connection.DisposeAsync();
        });
    }

    public async Task PoisonCustomerIdAsync(string customerId)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand($"""
            CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN IF NEW.customer_id = '{customerId}' THEN RAISE EXCEPTION 'poisoned row'; END IF; RETURN NEW; END $$;
            CREATE TRIGGER poison BEFORE INSERT ON siyu_customers FOR EACH ROW EXECUTE FUNCTION poison();
            """, connection);
        await command.ExecuteNonQueryAsync();
    }

    public async Task<long> ScalarAsync(string sql)
    {
        await using var connection = await OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await using var admin = new NpgsqlConnection(_server.ConnectionString);
            await admin.OpenAsync();
            await using var drop = new NpgsqlCommand($"DROP DATABASE IF EXISTS {_name} WITH (FORCE)", admin);
            await drop.ExecuteNonQueryAsync();
        }
        catch (NpgsqlException)
        {
            // the server is going away with the class fixture anyway
        }
    }
}

internal sealed class Release(Func<ValueTask> release) : IAsyncDisposable
{
    private int _done;

    public ValueTask DisposeAsync() => Interlocked.Exchange(ref _done, 1) == 0 ? release() : ValueTask.CompletedTask;
}

/// <summary>Keeps what the store logs, to count its warnings.</summary>
public sealed class ListLogger : ILogger
{
    private readonly List<(LogLevel Level, string Message)> _entries = [];

    public IReadOnlyList<(LogLevel Level, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public int Count(LogLevel level) => Entries.Count(e => e.Level == level);

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (_entries)
        {
            _entries.Add((logLevel, formatter(state, exception)));
        }
    }
}

/// <summary>A clock standing still at a given instant.</summary>
public sealed class FixedTime(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
