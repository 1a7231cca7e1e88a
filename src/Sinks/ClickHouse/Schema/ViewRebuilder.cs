using System.Text.RegularExpressions;
using Microsoft.Extensions.Logging;

namespace Siyu.Sinks.ClickHouse.Schema;

/// <summary>
/// Recomputes every materialized view's target table from its source table (attributed_sales,
/// touches). ClickHouse commits an insert's part in the source table before it pushes the block
/// through the views, so a process killed between the two (the embedded chDB dies with its
/// node) keeps the row but not its per-minute aggregate; the sink then skips that event_id as
/// already stored and the view would stay short for good. Found by the kill -9 test in
/// tests/Siyu.Reliability.Tests. Run after an unclean stop, before anything inserts.
/// </summary>
public static partial class ViewRebuilder
{
    private sealed record View(string Name, string CreateTableQuery, string AsSelect);

    private sealed record Column(string Name);

    [GeneratedRegex(@"\bTO\s+(`?[A-Za-z0-9_]+`?\.`?[A-Za-z0-9_]+`?)", RegexOptions.IgnoreCase)]
    private static partial Regex Target();

    /// <returns>The target tables rebuilt.</returns>
    public static async Task<IReadOnlyList<string>> RebuildAsync(IClickHouse clickHouse, string database, ILogger logger,
        CancellationToken cancellationToken = default)
    {
        var p = new Dictionary<string, string> { ["db"] = ClickHouseParam.Of(database) };
        var views = await clickHouse.QueryRowsAsync<View>(
            "SELECT name, create_table_query, as_select FROM system.tables WHERE database = {db:String} AND engine = 'MaterializedView' ORDER BY name",
            p, cancellationToken: cancellationToken).ConfigureAwait(false);
        var rebuilt = new List<string>();
        foreach (var view in views)
        {
            var target = Target().Match(view.CreateTableQuery);
            if (!target.Success)
            {
                continue; // a view with its own storage is not ours
            }
            var table = target.Groups[1].Value;
            var name = table.Split('.')[1].Trim('`');
            var columns = await clickHouse.QueryRowsAsync<Column>(
                "SELECT name FROM system.columns WHERE database = {db:String} AND table = {t:String} ORDER BY position",
                new Dictionary<string, string>(p) { ["t"] = ClickHouseParam.Of(name) }, cancellationToken: cancellationToken).ConfigureAwait(false);
            var list = string.Join(", ", columns.Select(c => $"`{c.Name}`"));
            await clickHouse.ExecuteAsync($"TRUNCATE TABLE {table}", cancellationToken: cancellationToken).ConfigureAwait(false);
            await clickHouse.ExecuteAsync($"INSERT INTO {table} ({list}) SELECT {list} FROM ({view.AsSelect})",
                cancellationToken: cancellationToken).ConfigureAwait(false);
            rebuilt.Add(table);
        }
        logger.LogInformation("Rebuilt {Count} per-minute views from their source tables after an unclean stop: {Tables}",
            rebuilt.Count, string.Join(", ", rebuilt));
        return rebuilt;
    }
}
