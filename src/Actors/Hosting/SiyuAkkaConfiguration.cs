using Akka.Cluster;
using Akka.Cluster.Hosting;
using Akka.Hosting;
using Akka.Remote.Hosting;
using Siyu.Actors.Wire;

namespace Siyu.Actors.Hosting;

/// <summary>The database customers' states and the identity index are kept in (`Journal:*` settings).</summary>
public sealed record JournalOptions(string Provider, string ConnectionString)
{
    public static JournalOptions Sqlite(string path) => new("sqlite", $"Data Source={path}");

    public Storage.StoreOptions ToStoreOptions()
    {
        if (Provider == "sqlite")
        {
            SiyuAkkaConfiguration.EnsureSqliteDirectory(ConnectionString);
        }
        return new Storage.StoreOptions(Provider, ConnectionString);
    }
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
            // AddLoggerFactory registers the ILoggerFactory setup; the logger itself is ours, so
            // Akka's events are structured (template and properties), not pre-formatted text.
            loggers.AddLoggerFactory();
            loggers.ClearLoggers();
            loggers.AddLogger<StructuredAkkaLogger>();
        });
        // What Akka prints itself (before its loggers start, after they stop) is JSON too.
        builder.AddHocon($"akka.stdout-logger-class = \"{typeof(JsonStdoutLogger).AssemblyQualifiedName}\"", HoconAddMode.Prepend);
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
        // A node that joins gets shards by rebalancing only: every shard is started within seconds
        // of a cluster's start (the shard keeper wakes them all for their timers), so none is left
        // to be allocated to a newcomer. Rebalance rounds every 2 s instead of 10 s, each moving at
        // most a tenth of the shards (the default limit), let a new or returning node take its
        // share soon after it joins.
        builder.AddHocon("akka.cluster.sharding.rebalance-interval = 2s", HoconAddMode.Prepend);
        // Every message that crosses nodes has a stable wire format (Wire/SiyuSerializer.cs); no fallback.
        builder.WithSiyuWireFormats();
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

    /// <summary>SQLite creates the database file but not its directory.</summary>
    public static void EnsureSqliteDirectory(string connectionString)
    {
        var builder = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(connectionString);
        var dir = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(dir))
        {
            Directory.CreateDirectory(dir);
        }
    }
}
