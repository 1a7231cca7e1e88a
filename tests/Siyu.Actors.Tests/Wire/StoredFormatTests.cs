using System.Text;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Identity;
using Siyu.Actors.Storage;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Wire;

/// <summary>
/// What <see cref="CustomerStore"/> keeps in the database (<c>store-1.txt</c>), read back with
/// plain SQL from a real SQLite store: both tables' columns, the sample customer's row as a
/// customer actor writes it (its state is the persisted snapshot, byte for byte the golden
/// <c>snapshot-1.json</c>; the shard its timers are scanned by; the next wake) and the id index
/// rows of one id of every type (key hash, identity shard, owner). A node reads these rows after
/// an upgrade: a change to any of them is a migration, never an edit.
/// </summary>
public sealed class StoredFormatTests : IAsyncLifetime
{
    private const string FileName = "store-1.txt";

    // The product's default shard counts (Customers:MaxShards): the shard columns are computed with them.
    private const int Shards = 100;

    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"siyu-stored-format-{Guid.NewGuid():N}");

    private string ConnectionString => $"Data Source={Path.Combine(_dir, "journal.db")}";

    public Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        return Task.CompletedTask;
    }

    public Task DisposeAsync()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
        return Task.CompletedTask;
    }

    [Fact]
    public async Task The_stored_customer_and_its_ids_are_as_their_golden_file()
    {
        var state = WireSamples.State();
        var ids = AllIdTypes();
        var nextWake = WireSamples.T0.AddDays(4);
        await using (var store = await CustomerStore.OpenAsync(new StoreOptions("sqlite", ConnectionString), NullLogger.Instance, default, new FixedClock(WireSamples.T0)))
        {
            var write = new StoreWrite();
            // As CustomerActor saves a customer: the whole state as its snapshot, in the customer's shard.
            write.Customers.Add(new CustomerRow(state.CustomerId, CustomerShards.Of(state.CustomerId, Shards), state.Version, CustomerSnapshot.Serialize(state), nextWake));
            // As an identity shard saves its claims.
            foreach (var id in ids)
            {
                var key = IdKeys.Of(id);
                write.Owners.Add(new OwnerRow(key, IdentityShards.Of(key, Shards), state.CustomerId));
            }
            await store.CommitAsync(write);

            // What the store reads back is the same customer.
            var loaded = Assert.Single(await store.LoadCustomersAsync([state.CustomerId]));
            Assert.Equal(state, CustomerSnapshot.Deserialize(loaded.State));
        }

        var (text, stateBytes) = await DescribeDatabaseAsync();

        // The state column is the persisted snapshot, exactly its golden file.
        var snapshot = Golden.Read($"snapshot-{CustomerSnapshot.CurrentFormat}.json");
        Assert.NotNull(snapshot);
        Assert.True(snapshot.AsSpan().SequenceEqual(stateBytes), $"siyu_customers.state is not the golden snapshot:\n{Encoding.UTF8.GetString(stateBytes)}");

        var golden = Golden.Read(FileName);
        if (golden is null)
        {
            Golden.Create(FileName, Encoding.UTF8.GetBytes(text));
            return;
        }
        Assert.True(Normalize(Encoding.UTF8.GetString(golden)) == Normalize(text),
            $"What the customer store keeps changed (golden {FileName}).\ngolden:\n{Encoding.UTF8.GetString(golden)}\nnow:\n{text}\n" +
            "Rows of this shape are in every deployed database. Do not change them in place: keep reading the old rows " +
            "(or migrate them at start-up), add a golden file of the new layout (store-2.txt), and keep this one.");
    }

    /// <summary>One id of every type, as ingest passes them on (the phone already a keyed hash).</summary>
    private static List<LinkedId> AllIdTypes() =>
        Enum.GetValues<IdType>().Select(t => new LinkedId(t, t == IdType.Phone ? "h1:00000000000000000000000000000000000000000000000000000000000000a1" : $"{t.WireName()}-1")).ToList();

    private async Task<(string Text, byte[] State)> DescribeDatabaseAsync()
    {
        await using var db = new SqliteConnection(ConnectionString);
        await db.OpenAsync();
        var text = new StringBuilder();
        text.AppendLine("# The customer store's tables as CustomerStore writes them (SQLite), and the sample customer's rows.");
        text.AppendLine("# Written by StoredFormatTests; see there before changing it.");
        foreach (var table in new[] { "siyu_customers", "siyu_ids" })
        {
            text.AppendLine($"table {table}");
            await using var columns = new SqliteCommand($"SELECT name, type, \"notnull\", pk FROM pragma_table_info('{table}') ORDER BY cid", db);
            await using var reader = await columns.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                text.AppendLine($"  {reader.GetString(0)} {reader.GetString(1)}{(reader.GetInt64(2) == 1 ? " NOT NULL" : "")}{(reader.GetInt64(3) > 0 ? " PRIMARY KEY" : "")}");
            }
        }
        byte[] state;
        await using (var customer = new SqliteCommand("SELECT customer_id, shard, version, state, next_wake, updated_at FROM siyu_customers", db))
        await using (var reader = await customer.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            state = (byte[])reader["state"];
            text.AppendLine($"siyu_customers: customer_id {reader.GetString(0)}, shard {reader.GetInt64(1)}, version {reader.GetInt64(2)}, " +
                $"state {state.Length} bytes (snapshot-1.json), next_wake {reader.GetInt64(4)}, updated_at {reader.GetInt64(5)}");
            Assert.False(await reader.ReadAsync());
        }
        await using (var owners = new SqliteCommand("SELECT hex(id_hash), shard, owner FROM siyu_ids ORDER BY id_hash", db))
        await using (var reader = await owners.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                text.AppendLine($"siyu_ids: id_hash {reader.GetString(0).ToLowerInvariant()}, shard {reader.GetInt64(1)}, owner {reader.GetString(2)}");
            }
        }
        // Which id each key is (the hashes above are of these "type:value" texts).
        foreach (var id in AllIdTypes())
        {
            text.AppendLine($"key {IdKeys.Of(id)} = {id.Type.WireName()}:{id.Value}");
        }
        return (text.ToString(), state);
    }

    private static string Normalize(string text) => text.Replace("\r\n", "\n", StringComparison.Ordinal).TrimEnd('\n');

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
