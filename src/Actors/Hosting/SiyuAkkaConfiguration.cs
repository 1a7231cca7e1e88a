using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Persistence.Sql;
using Akka.Persistence.Sql.Config;
using Akka.Remote.Hosting;
using LinqToDB;

namespace Siyu.Actors.Hosting;

/// <summary>Where the actor system keeps its journal and snapshots.</summary>
public sealed record JournalOptions(string Provider, string ConnectionString)
{
    public static JournalOptions Sqlite(string path) => new("sqlite", $"Data Source={path}");
}

/// <summary>How this node joins the cluster. No seeds: a single node that joins itself (dev, tests).</summary>
public sealed record ClusterNodeOptions(string Hostname = "127.0.0.1", int Port = 0, IReadOnlyList<string>? SeedNodes = null, int DownUnreachableAfterSeconds = 20);

/// <summary>
/// The actor system's configuration as AkkaConfigurationBuilder extension methods, shared by
/// `siyu run`, the demo and the tests, so all of them run the same setup.
/// </summary>
public static class SiyuAkkaConfiguration
{
    public const string SystemName = "siyu";

    public static AkkaConfigurationBuilder WithSiyuCluster(this AkkaConfigurationBuilder builder, ClusterNodeOptions options)
    {
        // Akka logs through Microsoft.Extensions.Logging, so one set of levels and one format (JSON in production).
        builder.ConfigureLoggers(loggers =>
        {
            loggers.LogLevel = Akka.Event.LogLevel.InfoLevel;
            loggers.ClearLoggers();
            loggers.AddLoggerFactory();
        });
        // The host stops the actor system in its turn (after ingest has drained and committed).
        // Akka's own ProcessExit hook would otherwise shut the shard regions down the moment
        // SIGTERM arrives, under the events still in flight (found by the SIGTERM test in
        // tests/Siyu.Reliability.Tests: they timed out and were left uncommitted).
        builder.AddHocon("akka.coordinated-shutdown.run-by-clr-shutdown-hook = off", HoconAddMode.Prepend);
        // Split-brain resolver: keep-oldest with down-if-alone. The usual deployment is two or
        // three nodes, where keep-majority cannot survive the crash of the lowest-addressed of
        // two nodes (an even split keeps the side with the lowest address, here the dead one).
        // keep-oldest keeps the side with the oldest member (where the shard coordinators
        // live), and down-if-alone lets the others carry on when the oldest is cut off alone.
        // Unreachable members are downed after stable-after (Cluster:DownUnreachableAfterSeconds), so their shards move and no
        // customer is live on two nodes at once.
        builder.AddHocon($$"""
            akka.cluster.downing-provider-class = "Akka.Cluster.SBR.SplitBrainResolverProvider, Akka.Cluster"
            akka.cluster.split-brain-resolver {
              active-strategy = keep-oldest
              keep-oldest.down-if-alone = on
              stable-after = {{options.DownUnreachableAfterSeconds}}s
            }
            """, HoconAddMode.Prepend);
        builder.WithRemoting(options.Hostname, options.Port);
        builder.WithClustering(new ClusterOptions
        {
            SeedNodes = options.SeedNodes is { Count: > 0 } seeds ? [.. seeds] : null,
            Roles = ["customers"],
        });
        if (options.SeedNodes is not { Count: > 0 })
        {
            builder.AddStartup((system, _) => Cluster.Get(system).Join(Cluster.Get(system).SelfAddress));
        }
        return builder;
    }

    /// <summary>
    /// Akka.Persistence.Sql on SQLite (embedded) or PostgreSQL. SQLite gets WAL and
    /// synchronous=NORMAL on every connection: measured here, that alone takes a journal write
    /// from ~300/s to ~2,100/s, and WAL stays crash-safe (a power cut may lose the last commits,
    /// which the checkpoint protocol tolerates: their offsets were not committed either).
    /// </summary>
    public static AkkaConfigurationBuilder WithSiyuPersistence(this AkkaConfigurationBuilder builder, JournalOptions journal)
    {
        var provider = journal.Provider switch
        {
            "sqlite" => ProviderName.SQLiteMS,
            "postgresql" => ProviderName.PostgreSQL15,
            _ => throw new ArgumentException($"Journal:Provider '{journal.Provider}' is not sqlite or postgresql"),
        };
        if (journal.Provider == "sqlite")
        {
            EnsureSqliteDirectory(journal.ConnectionString);
        }
        var data = new DataOptions().UseConnectionString(provider, journal.ConnectionString);
        if (journal.Provider == "sqlite")
        {
            data = data.UseAfterConnectionOpened(connection =>
            {
                using var pragma = connection.CreateCommand();
                pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;";
                pragma.ExecuteNonQuery();
            });
        }
        builder.AddSetup(new DataOptionsSetup(data));
        builder.AddSetup(new GroupCommitSetup(data));
        // Akka.Persistence.Sql.Hosting is not on the package mirror, so the plugins are chosen in
        // HOCON with the library's own defaults as fallback.
        // Reads: on SQLite the library's default isolation (unspecified) makes Microsoft.Data.Sqlite
        // open every read transaction with BEGIN IMMEDIATE, i.e. take the write lock, so recoveries
        // queue behind writes. read-uncommitted opens a deferred transaction instead; without shared
        // cache SQLite still shows only committed rows (WAL snapshot), so nothing unsaved is read.
        // Cloning the connection (and its mapping schema) per call is the library's workaround for
        // providers that are not thread-safe; it allocates per call and is not needed here.
        // Measured with `siyu bench` (docs/benchmarks.md).
        var reads = journal.Provider == "sqlite" ? "read-isolation-level = read-uncommitted, use-clone-connection = false" : "";
        // After a journal outage, one trial call every 10 s instead of Akka's 30 s (journal) and
        // 60 s (snapshots): customers resume soon after the database is back, and a database that
        // is still down sees one attempt per 10 s from each store.
        const string breaker = "circuit-breaker.reset-timeout = 10s";
        builder.AddHocon($$"""
            akka.persistence {
              journal {
                plugin = "akka.persistence.journal.sql"
                sql { provider-name = "{{provider}}", auto-initialize = true, {{reads}}
                      {{breaker}} }
              }
              snapshot-store {
                plugin = "akka.persistence.snapshot-store.sql"
                sql {
                  provider-name = "{{provider}}", auto-initialize = true, {{reads}}
                  {{breaker}}
                  # Saves of all customers in one transaction per batch: GroupCommitSnapshotStore.
                  class = "{{typeof(GroupCommitSnapshotStore).AssemblyQualifiedName}}"
                }
              }
            }
            """, HoconAddMode.Prepend);
        builder.AddHocon(SqlPersistence.DefaultConfiguration, HoconAddMode.Append);
        return builder;
    }

    private static void EnsureSqliteDirectory(string connectionString)
    {
        var builder = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
        var dir = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
    }
}
