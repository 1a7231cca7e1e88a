using System.Text.Json;
using Siyu.Sinks.ClickHouse;

namespace Siyu.Host.Tests;

/// <summary>
/// Fault injection, tests only: stands between a node and the real chDB engine, registered through
/// the node's own composition (<c>SiyuNode.Options.WrapClickHouse</c>). While <see cref="Down"/>,
/// every call fails before reaching the engine, as a ClickHouse that cannot be reached does;
/// otherwise each call goes to the engine unchanged.
/// </summary>
public sealed class ClickHouseOutage(IClickHouse engine) : IClickHouse
{
    private volatile bool _down;
    private long _refused;

    public bool Down
    {
        get => _down;
        set => _down = value;
    }

    /// <summary>Calls refused while down (inserts, lookups and queries alike).</summary>
    public long Refused => Interlocked.Read(ref _refused);

    private void ThrowIfDown()
    {
        if (_down)
        {
            Interlocked.Increment(ref _refused);
            throw new ClickHouseException("Code: 210. DB::NetException: Connection refused (injected by ClickHouseOutage). (NETWORK_ERROR)");
        }
    }

    public Task ExecuteAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null, CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return engine.ExecuteAsync(sql, parameters, cancellationToken);
    }

    public Task<string> QueryAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null, string format = "JSONEachRow",
        CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return engine.QueryAsync(sql, parameters, format, cancellationToken);
    }

    public Task<int> InsertJsonEachRowAsync<T>(string table, IEnumerable<T> rows, JsonSerializerOptions? jsonOptions = null,
        CancellationToken cancellationToken = default)
    {
        ThrowIfDown();
        return engine.InsertJsonEachRowAsync(table, rows, jsonOptions, cancellationToken);
    }
}
