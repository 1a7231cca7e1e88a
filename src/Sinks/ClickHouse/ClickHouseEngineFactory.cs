using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Sinks.ClickHouse.Server;

namespace Siyu.Sinks.ClickHouse;

/// <summary>The <c>ClickHouse:*</c> settings that choose and open an engine.</summary>
public sealed record ClickHouseEngineOptions
{
    public const string Embedded = "embedded";
    public const string Server = "server";

    /// <summary><c>embedded</c> (chDB in-process) or <c>server</c> (ClickHouse over HTTP).</summary>
    public string Engine { get; init; } = Embedded;

    /// <summary>Server only: the ClickHouse.Driver connection string (<c>Host=…;Port=8123;Database=siyu;Username=…;Password=…</c>).</summary>
    public string? ConnectionString { get; init; }

    /// <summary>Embedded only: chDB's data directory.</summary>
    public string DataPath { get; init; } = "data/chdb";

    /// <summary>Embedded only: libchdb.so (file or directory); null uses <see cref="ChDbLibraryLocator"/>'s fallbacks.</summary>
    public string? LibraryPath { get; init; }
}

/// <summary>Opens the engine the configuration names.</summary>
public static class ClickHouseEngineFactory
{
    /// <summary>
    /// The process's chDB engine for <c>embedded</c> (one per process, never disposed), or a new
    /// <see cref="ClickHouseServerEngine"/> for <c>server</c> (dispose it when done).
    /// </summary>
    public static IClickHouse Create(ClickHouseEngineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.Engine.ToLowerInvariant() switch
        {
            ClickHouseEngineOptions.Embedded => ChDbEngine.Open(options.DataPath, options.LibraryPath),
            ClickHouseEngineOptions.Server => new ClickHouseServerEngine(
                string.IsNullOrWhiteSpace(options.ConnectionString)
                    ? throw new ArgumentException("ClickHouse:ConnectionString is required when ClickHouse:Engine is 'server'.", nameof(options))
                    : options.ConnectionString),
            var other => throw new ArgumentException($"ClickHouse:Engine '{other}' is neither 'embedded' nor 'server'.", nameof(options)),
        };
    }
}
