using System.Text.Json;
using Siyu.Sinks.ClickHouse;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// Stands in for the network between the sink and ClickHouse (the only double in these tests):
/// every call goes to the real chDB engine, except that chosen insert calls fail — before the
/// insert reaches the engine (a refused connection) or after it was stored (a lost response).
/// </summary>
public sealed class FaultyNetwork(IClickHouse engine) : IClickHouse
{
    private readonly HashSet<int> _failBefore = [];
    private readonly HashSet<int> _failAfter = [];
    private int _inserts;

    /// <summary>The 1-based insert calls to refuse before they reach the engine.</summary>
    public FaultyNetwork FailBefore(params int[] calls)
    {
        _failBefore.UnionWith(calls);
        return this;
    }

    /// <summary>The 1-based insert calls to store and then report as failed.</summary>
    public FaultyNetwork FailAfter(params int[] calls)
    {
        _failAfter.UnionWith(calls);
        return this;
    }

    /// <summary>Insert calls made (failed ones included).</summary>
    public int InsertCalls => Volatile.Read(ref _inserts);

    /// <summary>Rows of each insert call that reached the engine, in order.</summary>
    public List<IReadOnlyList<object>> Delivered { get; } = [];

    /// <summary>Set to hold every insert until released (to fill the sink's buffer).</summary>
    public TaskCompletionSource? Gate { get; set; }

    public Task ExecuteAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null, CancellationToken cancellationToken = default) =>
        engine.ExecuteAsync(sql, parameters, cancellationToken);

    public Task<string> QueryAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null, string format = "JSONEachRow",
        CancellationToken cancellationToken = default) =>
        engine.QueryAsync(sql, parameters, format, cancellationToken);

    public async Task<int> InsertJsonEachRowAsync<T>(string table, IEnumerable<T> rows, JsonSerializerOptions? jsonOptions = null,
        CancellationToken cancellationToken = default)
    {
        var call = Interlocked.Increment(ref _inserts);
        if (Gate is { } gate)
        {
            await gate.Task.WaitAsync(cancellationToken);
        }

        if (_failBefore.Contains(call))
        {
            throw new HttpRequestException($"connection refused (insert call {call})");
        }

        var list = rows.ToList();
        var n = await engine.InsertJsonEachRowAsync(table, list, jsonOptions, cancellationToken);
        lock (Delivered)
        {
            Delivered.Add(list.Cast<object>().ToList());
        }

        if (_failAfter.Contains(call))
        {
            throw new IOException($"connection reset after the rows were stored (insert call {call})");
        }

        return n;
    }
}
