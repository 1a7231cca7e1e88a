using System.Collections;
using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using System.Text.Json.Serialization;
using ClickHouse.Driver;

namespace Siyu.Sinks.ClickHouse.Server;

/// <summary>
/// <see cref="IClickHouse"/> on a ClickHouse server (production), through the official
/// ClickHouse.Driver HTTP client: statements and queries as raw HTTP requests, inserts in the
/// binary RowBinary format (<c>InsertBinaryAsync</c>, zstd-compressed).
/// </summary>
/// <remarks>
/// <para>
/// Parameters arrive in ClickHouse's text form (<see cref="ClickHouseParam"/>) and are passed
/// through unchanged as the HTTP <c>param_&lt;name&gt;</c> values the server binds to
/// <c>{name:Type}</c> placeholders, exactly as chDB binds them; the driver's own parameter
/// formatting is not used.
/// </para>
/// <para>
/// Rows are mapped by their public properties: the column is the property's snake_case name (or
/// its <see cref="JsonPropertyNameAttribute"/>), like the JSONEachRow path of the embedded engine;
/// nested records become tuples (properties in declaration order) and sequences become arrays.
/// </para>
/// <para>
/// Not tested in this repository (no server on the development machines); it compiles against
/// ClickHouse.Driver 1.5.0 and follows its documented API. The embedded engine runs the same SQL.
/// </para>
/// </remarks>
public sealed class ClickHouseServerEngine : IClickHouse, IDisposable
{
    private readonly ClickHouseClient _client;

    /// <summary>
    /// <paramref name="connectionString"/> is the driver's, e.g.
    /// <c>Host=clickhouse;Port=8123;Database=siyu;Username=siyu;Password=…</c>.
    /// </summary>
    public ClickHouseServerEngine(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        _client = new ClickHouseClient(connectionString);
    }

    public async Task ExecuteAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null,
        CancellationToken cancellationToken = default) =>
        _ = await QueryAsync(sql, parameters, "TabSeparated", cancellationToken).ConfigureAwait(false);

    public async Task<string> QueryAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null,
        string format = JsonEachRow.Format, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sql);
        var settings = new Dictionary<string, object> { ["default_format"] = format };
        if (parameters is not null)
        {
            foreach (var (name, value) in parameters)
            {
                settings["param_" + name] = value ?? throw new ArgumentException(
                    $"Parameter '{name}' is null; bind SQL NULL with ClickHouseParam.Null.", nameof(parameters));
            }
        }

        try
        {
            using var result = await _client.ExecuteRawResultAsync(sql, new QueryOptions { CustomSettings = settings }, cancellationToken)
                .ConfigureAwait(false);
            await using var stream = await result.ReadDecompressedStreamAsync().ConfigureAwait(false);
            using var reader = new StreamReader(stream);
            return await reader.ReadToEndAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ClickHouseServerException e)
        {
            throw new ClickHouseException(e.Message, e);
        }
    }

    public async Task<int> InsertJsonEachRowAsync<T>(string table, IEnumerable<T> rows, JsonSerializerOptions? jsonOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var quoted = ClickHouseSql.QuoteTableName(table);
        var map = RowMap.For(typeof(T), jsonOptions ?? JsonEachRow.DefaultOptions);
        var values = new List<object?[]>();
        foreach (var row in rows)
        {
            values.Add(map.Values(row ?? throw new ArgumentException($"Row {values.Count} is null.", nameof(rows))));
        }

        if (values.Count == 0)
        {
            return 0;
        }

        try
        {
            await _client.InsertBinaryAsync(quoted, map.Columns, values!, new InsertOptions { BatchSize = Math.Max(values.Count, 1) },
                cancellationToken).ConfigureAwait(false);
        }
        catch (ClickHouseServerException e)
        {
            throw new ClickHouseException(e.Message, e);
        }

        return values.Count;
    }

    public void Dispose() => _client.Dispose();

    /// <summary>Columns and value getters of a row type, built once per type.</summary>
    private sealed class RowMap
    {
        private static readonly ConcurrentDictionary<(Type, JsonNamingPolicy?), RowMap> s_maps = new();
        private readonly PropertyInfo[] _properties;

        private RowMap(Type type, JsonNamingPolicy? naming)
        {
            _properties = Readable(type);
            Columns = _properties
                .Select(p => p.GetCustomAttribute<JsonPropertyNameAttribute>()?.Name ?? naming?.ConvertName(p.Name) ?? p.Name)
                .ToArray();
        }

        public string[] Columns { get; }

        public static RowMap For(Type type, JsonSerializerOptions options) =>
            s_maps.GetOrAdd((type, options.PropertyNamingPolicy), k => new RowMap(k.Item1, k.Item2));

        public object?[] Values(object row)
        {
            var values = new object?[_properties.Length];
            for (var i = 0; i < values.Length; i++)
            {
                values[i] = Convert(_properties[i].GetValue(row));
            }

            return values;
        }

        private static PropertyInfo[] Readable(Type type) =>
            type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.CanRead && p.GetIndexParameters().Length == 0 && p.GetCustomAttribute<JsonIgnoreAttribute>() is null)
                .OrderBy(p => p.MetadataToken)
                .ToArray();

        // Scalars, strings, dictionaries (Map) pass through; other sequences become arrays; any
        // other object becomes a tuple of its properties.
        private static object? Convert(object? value) => value switch
        {
            null => null,
            string or bool or decimal or DateTime or DateTimeOffset or DateOnly or Guid => value,
            _ when value.GetType().IsPrimitive || value.GetType().IsEnum => value,
            IDictionary => value,
            IEnumerable sequence => sequence.Cast<object?>().Select(Convert).ToList(),
            _ => Readable(value.GetType()).Select(p => Convert(p.GetValue(value))).ToArray(),
        };
    }
}
