using System.Text.Json;

namespace Siyu.Sinks.ClickHouse;

/// <summary>
/// What the sink needs from ClickHouse, whichever engine runs it: the embedded chDB
/// (<see cref="Embedded.ChDbEngine"/>, dev/tests/single box) or a ClickHouse server (production).
/// </summary>
/// <remarks>
/// <para>
/// Parameters are bound by the engine, never spliced into SQL: the statement names them as
/// <c>{name:Type}</c> placeholders and <paramref name="parameters"/> maps each name to its value
/// <b>in ClickHouse's text form for query parameters</b> — the same form as an HTTP
/// <c>param_name=value</c>. Strings in that form are "escaped" (a backslash starts an escape,
/// a raw tab or newline is rejected), so build values with <see cref="ClickHouseParam.Of"/>
/// rather than passing raw user text.
/// </para>
/// <para>Errors from the engine surface as <see cref="ClickHouseException"/>.</para>
/// </remarks>
public interface IClickHouse
{
    /// <summary>Runs a statement that returns nothing of interest (DDL, INSERT … VALUES, OPTIMIZE…).</summary>
    Task ExecuteAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null,
        CancellationToken cancellationToken = default);

    /// <summary>Runs a query and returns its whole result rendered in <paramref name="format"/>.</summary>
    Task<string> QueryAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null,
        string format = "JSONEachRow", CancellationToken cancellationToken = default);

    /// <summary>
    /// Inserts <paramref name="rows"/> into <paramref name="table"/> (<c>table</c> or <c>db.table</c>)
    /// as one <c>INSERT … FORMAT JSONEachRow</c>, each row serialized with System.Text.Json
    /// (<see cref="JsonEachRow.DefaultOptions"/> unless <paramref name="jsonOptions"/> is given:
    /// snake_case property names). Timestamps are parsed with <c>date_time_input_format='best_effort'</c>,
    /// so .NET's ISO 8601 output (with or without offset) is accepted. Returns the number of rows sent.
    /// </summary>
    Task<int> InsertJsonEachRowAsync<T>(string table, IEnumerable<T> rows, JsonSerializerOptions? jsonOptions = null,
        CancellationToken cancellationToken = default);
}

/// <summary>Typed reads on top of <see cref="IClickHouse.QueryAsync"/>, shared by every engine.</summary>
public static class ClickHouseExtensions
{
    /// <summary>Runs a query as JSONEachRow and deserializes each line into <typeparamref name="T"/>.</summary>
    public static async Task<IReadOnlyList<T>> QueryRowsAsync<T>(this IClickHouse clickHouse, string sql,
        IReadOnlyDictionary<string, string>? parameters = null, JsonSerializerOptions? jsonOptions = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(clickHouse);
        var text = await clickHouse.QueryAsync(sql, parameters, JsonEachRow.Format, cancellationToken).ConfigureAwait(false);
        return JsonEachRow.Parse<T>(text, jsonOptions);
    }
}
