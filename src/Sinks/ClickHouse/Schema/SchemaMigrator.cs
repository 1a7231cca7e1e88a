using System.Globalization;
using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Siyu.Sinks.ClickHouse.Schema;

/// <summary>One versioned DDL file (<c>NNN_name.sql</c>, embedded in this assembly).</summary>
public sealed partial record SchemaScript(int Version, string Name, string Text, string Checksum)
{
    /// <summary>The placeholder every script uses for the database name.</summary>
    public const string DatabasePlaceholder = "{{database}}";

    /// <summary>The script's statements for <paramref name="database"/>, in order.</summary>
    public IReadOnlyList<string> Statements(string database)
    {
        var quoted = SchemaMigrator.QuoteDatabase(database);
        return StatementEnd().Split(Text.Replace(DatabasePlaceholder, quoted, StringComparison.Ordinal))
            .Select(StripComments)
            .Where(s => s.Length > 0)
            .ToList();
    }

    // Whole-line "--" comments only; statements end with ';' at the end of a line.
    private static string StripComments(string statement) =>
        string.Join('\n', statement.Split('\n').Where(l => !l.TrimStart().StartsWith("--", StringComparison.Ordinal))).Trim();

    [GeneratedRegex(@";[ \t]*\r?$", RegexOptions.Multiline)]
    private static partial Regex StatementEnd();
}

/// <summary>What <see cref="SchemaMigrator.MigrateAsync"/> did.</summary>
public sealed record SchemaMigrationResult(string Database, IReadOnlyList<int> Applied, IReadOnlyList<int> AlreadyPresent)
{
    public int CurrentVersion => Applied.Concat(AlreadyPresent).DefaultIfEmpty(0).Max();
}

/// <summary>
/// Brings database <c>siyu</c> (or another name) to the latest schema at start-up: creates the
/// database and <c>schema_version</c>, then runs each embedded <c>NNN_*.sql</c> not yet recorded
/// there, in version order, and records it with its checksum.
/// </summary>
/// <remarks>
/// Every statement is <c>CREATE … IF NOT EXISTS</c>, so a migration interrupted halfway, or two
/// nodes migrating at once, simply run the statements again. An applied script whose text has
/// changed is refused (<see cref="InvalidOperationException"/>): schema changes go into a new file.
/// The same DDL runs on chDB and on a ClickHouse server (24.x+).
/// </remarks>
public sealed partial class SchemaMigrator
{
    public const string DefaultDatabase = "siyu";
    private const string ResourcePrefix = "Siyu.Sinks.Schema.";

    private static readonly Lazy<IReadOnlyList<SchemaScript>> s_scripts = new(LoadScripts);

    private readonly IClickHouse _clickHouse;
    private readonly ILogger _logger;

    public SchemaMigrator(IClickHouse clickHouse, string database = DefaultDatabase, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(clickHouse);
        QuoteDatabase(database);
        _clickHouse = clickHouse;
        Database = database;
        _logger = logger ?? NullLogger.Instance;
    }

    public string Database { get; }

    /// <summary>The embedded scripts, by version.</summary>
    public static IReadOnlyList<SchemaScript> Scripts => s_scripts.Value;

    /// <summary>The newest schema version this build knows.</summary>
    public static int LatestVersion => Scripts[^1].Version;

    public async Task<SchemaMigrationResult> MigrateAsync(CancellationToken cancellationToken = default)
    {
        var db = QuoteDatabase(Database);
        await _clickHouse.ExecuteAsync($"CREATE DATABASE IF NOT EXISTS {db}", cancellationToken: cancellationToken).ConfigureAwait(false);
        await _clickHouse.ExecuteAsync(
            $"""
            CREATE TABLE IF NOT EXISTS {db}.schema_version
            (
                version UInt32,
                name String,
                checksum String,
                applied_at DateTime64(3, 'UTC')
            )
            ENGINE = ReplacingMergeTree(applied_at)
            ORDER BY version
            """, cancellationToken: cancellationToken).ConfigureAwait(false);

        var recorded = await _clickHouse.QueryRowsAsync<VersionRow>(
            $"SELECT version, argMax(checksum, applied_at) AS checksum FROM {db}.schema_version GROUP BY version",
            cancellationToken: cancellationToken).ConfigureAwait(false);
        var known = recorded.ToDictionary(r => (int)r.Version, r => r.Checksum);

        var applied = new List<int>();
        var present = new List<int>();
        foreach (var script in Scripts)
        {
            if (known.TryGetValue(script.Version, out var checksum))
            {
                if (!string.Equals(checksum, script.Checksum, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"Schema script {script.Name} (version {script.Version}) was applied to {Database} with checksum {checksum}, "
                        + $"but this build's copy has {script.Checksum}. Applied scripts must not change; add a new numbered script.");
                }

                present.Add(script.Version);
                continue;
            }

            foreach (var statement in script.Statements(Database))
            {
                await _clickHouse.ExecuteAsync(statement, cancellationToken: cancellationToken).ConfigureAwait(false);
            }

            await _clickHouse.InsertJsonEachRowAsync($"{Database}.schema_version",
                [new VersionRecord((uint)script.Version, script.Name, script.Checksum, DateTimeOffset.UtcNow)],
                cancellationToken: cancellationToken).ConfigureAwait(false);
            applied.Add(script.Version);
            _logger.LogInformation("ClickHouse schema {Database}: applied {Script}", Database, script.Name);
        }

        return new SchemaMigrationResult(Database, applied, present);
    }

    /// <summary>Validates a database name (letters, digits, underscore) and quotes it.</summary>
    public static string QuoteDatabase(string database)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(database);
        if (!PlainName().IsMatch(database))
        {
            throw new ArgumentException($"'{database}' is not a plain database name (letters, digits, underscore).", nameof(database));
        }

        return $"`{database}`";
    }

    private static IReadOnlyList<SchemaScript> LoadScripts()
    {
        var assembly = typeof(SchemaMigrator).Assembly;
        var scripts = new List<SchemaScript>();
        foreach (var resource in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            var name = resource[ResourcePrefix.Length..];
            var m = ScriptName().Match(name);
            if (!m.Success)
            {
                throw new InvalidOperationException($"Embedded schema script '{name}' is not named NNN_name.sql.");
            }

            scripts.Add(Load(assembly, resource, name, int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)));
        }

        scripts.Sort((a, b) => a.Version.CompareTo(b.Version));
        for (var i = 0; i < scripts.Count; i++)
        {
            if (scripts[i].Version != i + 1)
            {
                throw new InvalidOperationException($"Schema scripts must be numbered 1..n without gaps; found {scripts[i].Name} at position {i + 1}.");
            }
        }

        return scripts;
    }

    private static SchemaScript Load(Assembly assembly, string resource, string name, int version)
    {
        using var stream = assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Embedded resource {resource} vanished.");
        using var reader = new StreamReader(stream, Encoding.UTF8);
        var text = reader.ReadToEnd().Replace("\r\n", "\n", StringComparison.Ordinal);
        var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
        return new SchemaScript(version, name, text, checksum);
    }

    private sealed record VersionRow(uint Version, string Checksum);

    private sealed record VersionRecord(uint Version, string Name, string Checksum, DateTimeOffset AppliedAt);

    [GeneratedRegex(@"^(\d{3})_[a-z0-9_]+\.sql$")]
    private static partial Regex ScriptName();

    [GeneratedRegex(@"^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex PlainName();
}
