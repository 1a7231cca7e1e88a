using System.Data;
using System.Data.Common;

namespace Siyu.Benchmarks;

/// <summary>
/// Akka.Persistence.Sql's snapshot table (its default column names and types: the library's
/// LongSnapshotRow mapping, primary key persistence_id + sequence_number), written exactly as
/// src/Actors/Hosting/GroupCommitSnapshotStore.cs writes it: one transaction, one prepared upsert
/// executed once per row. The comparison "own tables vs the library's tables".
/// </summary>
internal static class SnapshotTable
{
    public const string Manifest = "Siyu.Actors.Customers.CustomerSnapshot, Siyu.Actors";
    public const int SerializerId = 1;

    public static void Create(Databases db) => db.Execute(db.Provider == "sqlite"
        ? """
          CREATE TABLE IF NOT EXISTS snapshot (persistence_id NVARCHAR(255) NOT NULL, sequence_number INTEGER NOT NULL, created INTEGER NOT NULL,
            snapshot BLOB NOT NULL, manifest NVARCHAR(500) NOT NULL, serializer_id INTEGER NULL, PRIMARY KEY (persistence_id, sequence_number))
          """
        : """
          CREATE TABLE IF NOT EXISTS snapshot (persistence_id VARCHAR(255) NOT NULL, sequence_number BIGINT NOT NULL, created BIGINT NOT NULL,
            snapshot BYTEA NOT NULL, manifest VARCHAR(500) NOT NULL, serializer_id INTEGER NULL, PRIMARY KEY (persistence_id, sequence_number))
          """);

    public static string Upsert(string provider)
    {
        const string insert = "INSERT INTO snapshot (persistence_id, sequence_number, created, snapshot, manifest, serializer_id) VALUES (@p, @s, @c, @b, @m, @i)";
        return provider == "sqlite"
            ? insert.Replace("INSERT INTO", "INSERT OR REPLACE INTO", StringComparison.Ordinal)
            : $"{insert} ON CONFLICT (persistence_id, sequence_number) DO UPDATE SET created = EXCLUDED.created, snapshot = EXCLUDED.snapshot, "
              + "manifest = EXCLUDED.manifest, serializer_id = EXCLUDED.serializer_id";
    }

    /// <summary>GroupCommitSnapshotStore.Write: every customer saves at sequence number 0.</summary>
    public static void WriteRowByRow(DbConnection connection, string provider, IReadOnlyList<(string PersistenceId, byte[] Payload)> rows, long createdTicks)
    {
        using var transaction = connection.BeginTransaction();
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = Upsert(provider);
        var id = Databases.Parameter(command, "@p", DbType.String);
        var seq = Databases.Parameter(command, "@s", DbType.Int64);
        var created = Databases.Parameter(command, "@c", DbType.Int64);
        var payload = Databases.Parameter(command, "@b", DbType.Binary);
        var manifest = Databases.Parameter(command, "@m", DbType.String);
        var serializer = Databases.Parameter(command, "@i", DbType.Int32);
        command.Prepare();
        foreach (var (persistenceId, bytes) in rows)
        {
            id.Value = persistenceId;
            seq.Value = 0L;
            created.Value = createdTicks;
            payload.Value = bytes;
            manifest.Value = Manifest;
            serializer.Value = SerializerId;
            command.ExecuteNonQuery();
        }
        transaction.Commit();
    }
}
