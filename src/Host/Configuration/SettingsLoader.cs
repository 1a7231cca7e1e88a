using Microsoft.Extensions.Configuration;

namespace Siyu.Host.Configuration;

/// <summary>A configuration problem that must stop start-up; the message names the setting.</summary>
public sealed class SettingsException(IReadOnlyList<string> problems)
    : Exception("Invalid configuration:\n  - " + string.Join("\n  - ", problems))
{
    public IReadOnlyList<string> Problems { get; } = problems;
}

public static class SettingsLoader
{
    public const string EnvironmentPrefix = "SIYU_";
    private static readonly string[] KnownSections = ["Kafka", "Ingest", "ClickHouse", "Journal", "Api", "Privacy", "Identity", "Cluster", "Customers", "Operations", "Audiences", "Logging"];

    /// <summary>appsettings.json beside the binary, then <paramref name="configFile"/>, then SIYU_* variables.</summary>
    public static IConfigurationRoot Build(string? configFile, IDictionary<string, string?>? overrides = null)
    {
        var builder = new ConfigurationBuilder()
            .SetBasePath(AppContext.BaseDirectory)
            .AddJsonFile("appsettings.json", optional: true);
        if (configFile is not null)
        {
            var full = Path.GetFullPath(configFile);
            if (!File.Exists(full))
            {
                throw new SettingsException([$"--config: file '{full}' does not exist"]);
            }
            builder.AddJsonFile(full, optional: false);
        }
        builder.AddEnvironmentVariables(EnvironmentPrefix);
        if (overrides is not null)
        {
            builder.AddInMemoryCollection(overrides);
        }
        try
        {
            return builder.Build();
        }
        catch (InvalidDataException ex)
        {
            throw new SettingsException([$"{configFile ?? "appsettings.json"} is not valid JSON: {ex.InnerException?.Message ?? ex.Message}"]);
        }
    }

    private static void Strict(BinderOptions o) => o.ErrorOnUnknownConfiguration = true;

    /// <summary>Settings that existed once: an old configuration file is told what became of them, not just "unknown".</summary>
    private static readonly (string Key, string Why)[] Removed =
    [
        ("Customers:FlushIntervalMs", "customers no longer gather events on a timer: the node commits every customer that changed in one transaction per flush cycle (docs/architecture.md, \"Durability\"); delete the setting"),
        ("Operations:WakeBuckets", "the durable due index is gone: each customer shard scans the store for due wakes (docs/architecture.md, \"Timers\"); delete the setting"),
    ];

    public static SiyuSettings Load(IConfiguration configuration, bool embedded, bool processesEvents = true, bool servesApi = true)
    {
        var problems = new List<string>();
        foreach (var section in configuration.GetChildren())
        {
            if (!KnownSections.Contains(section.Key, StringComparer.OrdinalIgnoreCase))
            {
                problems.Add($"unknown setting '{section.Key}' (known sections: {string.Join(", ", KnownSections)})");
            }
        }
        foreach (var (key, why) in Removed)
        {
            if (configuration[key] is not null)
            {
                problems.Add($"{key} was removed: {why}");
            }
        }
        if (problems.Count > 0)
        {
            throw new SettingsException(problems);
        }
        SiyuSettings settings = new();
        try
        {
            // Section by section: "Logging" belongs to Microsoft.Extensions.Logging, not to us.
            configuration.GetSection("Kafka").Bind(settings.Kafka, Strict);
            configuration.GetSection("Ingest").Bind(settings.Ingest, Strict);
            configuration.GetSection("ClickHouse").Bind(settings.ClickHouse, Strict);
            configuration.GetSection("Journal").Bind(settings.Journal, Strict);
            configuration.GetSection("Api").Bind(settings.Api, Strict);
            configuration.GetSection("Privacy").Bind(settings.Privacy, Strict);
            configuration.GetSection("Identity").Bind(settings.Identity, Strict);
            configuration.GetSection("Cluster").Bind(settings.Cluster, Strict);
            configuration.GetSection("Customers").Bind(settings.Customers, Strict);
            configuration.GetSection("Operations").Bind(settings.Operations, Strict);
            configuration.GetSection("Audiences").Bind(settings.Audiences, Strict);
        }
        catch (InvalidOperationException ex)
        {
            // The binder names the key in its message ("...at 'Kafka:MaxInFlight' to type...").
            problems.Add(ex.InnerException is { } inner ? $"{ex.Message} {inner.Message}" : ex.Message);
        }
        if (problems.Count == 0)
        {
            problems.AddRange(settings.Validate(embedded, processesEvents, servesApi));
        }
        return problems.Count > 0 ? throw new SettingsException(problems) : settings;
    }
}
