using System.Security.Cryptography;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;

namespace Siyu.Sinks;

/// <summary>What a PIPL erasure did to the analytics tables.</summary>
/// <param name="CustomerIds">The erased customer and every customer merged into it.</param>
/// <param name="SalesRows">attributed_sales rows whose customer_id was replaced.</param>
/// <param name="TouchRows">touches rows whose customer_id was replaced.</param>
/// <param name="ProfileRows">profiles rows deleted.</param>
public sealed record CustomerErasureResult(IReadOnlyList<string> CustomerIds, ulong SalesRows, ulong TouchRows, ulong ProfileRows);

/// <summary>
/// Erases a customer from ClickHouse (PIPL; <c>DELETE /v1/customers/{id}</c>), together with every
/// customer merged into it:
/// - <c>profiles</c>: every row is deleted (they hold tags, groups, the owning guide, spending).
/// - <c>attributed_sales</c> and <c>touches</c>: the rows stay, with customer_id replaced by one
///   random token (<c>e</c> + 22 hex digits, not derived from anything), so campaign, store, group
///   and guide totals stay exact, which operators need, while nothing links them to the person any
///   more. One token for the whole person keeps a by-customer count (buyers) exact too. These tables
///   never hold a phone, name or any other id.
/// - The per-minute views hold only sums and uniqExact states (128-bit hashes of customer_id), so
///   they keep no id to erase.
/// Idempotent: running it again finds nothing left under the customer's ids.
/// </summary>
public sealed class CustomerErasure
{
    private readonly IClickHouse _clickHouse;
    private readonly string _db;

    public CustomerErasure(IClickHouse clickHouse, string database = SchemaMigrator.DefaultDatabase)
    {
        ArgumentNullException.ThrowIfNull(clickHouse);
        _clickHouse = clickHouse;
        _db = SchemaMigrator.QuoteDatabase(database);
    }

    /// <summary>
    /// Erases <paramref name="customerId"/>'s analytics rows. The caller flushes the sinks first, so no
    /// buffered row of the customer lands after the erasure.
    /// </summary>
    public async Task<CustomerErasureResult> EraseAsync(string customerId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(customerId);
        var p = new Dictionary<string, string> { ["id"] = ClickHouseParam.Of(customerId) };
        // The customer's merged_from and the customers pointing at it, from every stored version.
        var related = await _clickHouse.QueryRowsAsync<IdRow>(
            $$"""
            SELECT DISTINCT id FROM (
                SELECT arrayJoin(merged_from) AS id FROM {{_db}}.profiles WHERE customer_id = {id:String}
                UNION ALL
                SELECT customer_id AS id FROM {{_db}}.profiles WHERE merged_into = {id:String}
            )
            """, p, cancellationToken: cancellationToken).ConfigureAwait(false);
        var ids = related.Select(r => r.Id).Prepend(customerId).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var q = new Dictionary<string, string>
        {
            ["ids"] = ClickHouseParam.Of(ids),
            ["token"] = ClickHouseParam.Of("e" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(11))),
        };

        var sales = await CountAsync("attributed_sales", q, cancellationToken).ConfigureAwait(false);
        var touches = await CountAsync("touches", q, cancellationToken).ConfigureAwait(false);
        var profiles = await CountAsync("profiles", q, cancellationToken).ConfigureAwait(false);
        // Mutations, waited for (mutations_sync): when this returns, the ids are gone from the parts.
        // A mutation rewrites every part that matches, so none runs where nothing matches.
        foreach (var (table, rows) in new[] { ("attributed_sales", sales), ("touches", touches) })
        {
            if (rows > 0)
            {
                await _clickHouse.ExecuteAsync(
                    $"ALTER TABLE {_db}.{table} UPDATE customer_id = {{token:String}} WHERE customer_id IN {{ids:Array(String)}} SETTINGS mutations_sync = 1",
                    q, cancellationToken).ConfigureAwait(false);
            }
        }
        if (profiles > 0)
        {
            await _clickHouse.ExecuteAsync(
                $"ALTER TABLE {_db}.profiles DELETE WHERE customer_id IN {{ids:Array(String)}} SETTINGS mutations_sync = 1",
                q, cancellationToken).ConfigureAwait(false);
        }
        return new CustomerErasureResult(ids, sales, touches, profiles);
    }

    private async Task<ulong> CountAsync(string table, Dictionary<string, string> q, CancellationToken ct) =>
        (await _clickHouse.QueryRowsAsync<CountRow>(
            $"SELECT count() AS n FROM {_db}.{table} WHERE customer_id IN {{ids:Array(String)}}", q, cancellationToken: ct).ConfigureAwait(false))
        .Single().N;

    private sealed record IdRow(string Id);

    private sealed record CountRow(ulong N);
}
