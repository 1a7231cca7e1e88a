using System.Data;
using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Siyu.Benchmarks;

/// <summary>A fresh database per benchmark case: a temp SQLite file, or a new PostgreSQL database.</summary>
internal sealed class Databases : IDisposable
{
    public static string? PostgresConnectionString => Environment.GetEnvironmentVariable("SIYU_BENCH_POSTGRES") is { Length: > 0 } cs ? cs : null;

    public static IEnumerable<string> Providers => PostgresConnectionString is null ? ["sqlite"] : ["sqlite", "postgresql"];

    private readonly string? _dir;
    private readonly string? _postgresDatabase;

    public string Provider { get; }
    public string ConnectionString { get; }

    public Databases(string provider)
    {
        Provider = provider;
        if (provider == "sqlite")
        {
            _dir = Path.Combine(Path.GetTempPath(), $"siyu-bench-{Guid.NewGuid():N}");
            Directory.CreateDirectory(_dir);
            ConnectionString = $"Data Source={Path.Combine(_dir, "journal.db")}";
        }
        else
        {
            var admin = PostgresConnectionString ?? throw new InvalidOperationException("SIYU_BENCH_POSTGRES is not set");
            _postgresDatabase = $"siyu_bench_{Guid.NewGuid():N}";
            Admin(admin, $"CREATE DATABASE {_postgresDatabase}");
            ConnectionString = new NpgsqlConnectionStringBuilder(admin) { Database = _postgresDatabase }.ToString();
        }
    }

    /// <summary>A plain connection with the settings the Akka journal gives SQLite (WAL, synchronous=NORMAL, busy_timeout).</summary>
    public DbConnection Open()
    {
        if (Provider == "sqlite")
        {
            var connection = new SqliteConnection(ConnectionString);
            connection.Open();
            using var pragma = connection.CreateCommand();
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;";
            pragma.ExecuteNonQuery();
            return connection;
        }
        var pg = new NpgsqlConnection(ConnectionString);
        pg.Open();
        return pg;
    }

    public void Execute(string sql)
    {
        using var connection = Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static void Admin(string connectionString, string sql)
    {
        using var connection = new NpgsqlConnection(connectionString);
        connection.Open();
        using var command = new NpgsqlCommand(sql, connection);
        command.ExecuteNonQuery();
    }

    public void Dispose()
    {
        if (_dir is not null)
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(_dir, recursive: true);
        }
        if (_postgresDatabase is not null)
        {
            NpgsqlConnection.ClearAllPools();
            Admin(PostgresConnectionString!, $"DROP DATABASE IF EXISTS {_postgresDatabase} WITH (FORCE)");
        }
    }

    public static DbParameter Parameter(DbCommand command, string name, DbType type)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.DbType = type;
        command.Parameters.Add(p);
        return p;
    }
}
