using System.Diagnostics;
using System.Text;
using Microsoft.Extensions.Logging;
using Siyu.Actors.Storage;

namespace Siyu.Actors.Tests.Storage;

/// <summary>
/// The hot path's durable store against a real database; every spec runs on SQLite and on
/// PostgreSQL (the subclasses), each on a fresh database.
/// </summary>
public abstract class CustomerStoreSpecs : IAsyncLifetime
{
    /// <summary>Wake times and "now" of the due scans; never compared with the real clock.</summary>
    protected static readonly DateTimeOffset T0 = new(2026, 11, 11, 9, 30, 0, TimeSpan.Zero);

    private readonly List<IAsyncDisposable> _open = [];

    protected ListLogger Log { get; } = new();

    protected abstract Task<IStoreDatabase> NewDatabaseAsync(Func<StoreOptions, StoreOptions>? tune = null);

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        for (var i = _open.Count - 1; i >= 0; i--)
        {
            await _open[i].DisposeAsync();
        }
    }

    protected async Task<IStoreDatabase> DatabaseAsync(Func<StoreOptions, StoreOptions>? tune = null)
    {
        var db = await NewDatabaseAsync(tune);
        _open.Add(db);
        return db;
    }

    protected async Task<CustomerStore> OpenAsync(IStoreDatabase db, TimeProvider? time = null)
    {
        var store = await CustomerStore.OpenAsync(db.Options, Log, default, time);
        _open.Add(store);
        return store;
    }

    protected static byte[] StateOf(string id, long version, int size = 64)
    {
        var state = new byte[size];
        var seed = Encoding.UTF8.GetBytes($"{id}#{version}");
        for (var i = 0; i < size; i++)
        {
            state[i] = (byte)(seed[i % seed.Length] ^ i);
        }
        return state;
    }

    protected static CustomerRow Row(string id, int shard = 1, long version = 1, DateTimeOffset? wake = null, int size = 64) =>
        new(id, shard, version, StateOf(id, version, size), wake);

    protected static StoreWrite Write(params CustomerRow[] customers)
    {
        var write = new StoreWrite();
        write.Customers.AddRange(customers);
        return write;
    }

    /// <summary>
    /// Queues <paramref name="write"/> and returns once the writer took it (and, behind a held
    /// write lock, waits in its transaction), so what is queued next goes in a later transaction.
    /// </summary>
    protected static async Task<Task> CommitFirstAsync(CustomerStore store, StoreWrite write)
    {
        var commit = store.CommitAsync(write);
        var clock = Stopwatch.StartNew();
        while (store.QueuedWrites > 0)
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), "the writer did not take the write");
            await Task.Delay(5);
        }
        await Task.Delay(200); // the writer's drain loop ends microseconds after taking it
        return commit;
    }

    private static async Task<Dictionary<string, StoredCustomer>> Load(CustomerStore store, params string[] ids) =>
        (await store.LoadCustomersAsync(ids)).ToDictionary(c => c.CustomerId);

    private static async Task<Dictionary<IdHash, OwnerRow>> Owners(CustomerStore store, params IdHash[] keys) =>
        (await store.LoadOwnersAsync(keys)).ToDictionary(o => o.Key);

    [Fact]
    public async Task A_committed_customer_and_its_ids_load_back_exactly_and_unknown_ones_are_absent()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db, new FixedTime(T0));
        var write = Write(Row("c1", shard: 3, version: 7, wake: T0.AddMinutes(5).AddTicks(1234), size: 1024), Row("c2", shard: 4, version: 1));
        var (k1, k2) = (IdHash.Of("member_id", "M1"), IdHash.Of("phone", "h1:0f"));
        write.Owners.Add(new OwnerRow(k1, 11, "c1"));
        write.Owners.Add(new OwnerRow(k2, 12, "c2"));
        await store.CommitAsync(write);

        var loaded = await Load(store, "c1", "c2", "nobody");
        Assert.Equal(2, loaded.Count);
        var c1 = loaded["c1"];
        Assert.Equal(StateOf("c1", 7, 1024), c1.State);
        Assert.Equal((3, 7L), (c1.Shard, c1.Version));
        Assert.Equal(T0.AddMinutes(5).ToUnixTimeMilliseconds(), c1.NextWake!.Value.ToUnixTimeMilliseconds()); // kept to the millisecond
        Assert.Null(loaded["c2"].NextWake);
        Assert.Equal(StateOf("c2", 1), loaded["c2"].State);

        var owners = await Owners(store, k1, k2, IdHash.Of("member_id", "M2"));
        Assert.Equal([new OwnerRow(k1, 11, "c1"), new OwnerRow(k2, 12, "c2")], owners.Values.OrderBy(o => o.Shard));
        Assert.Equal(T0.ToUnixTimeMilliseconds(), await db.ScalarAsync("SELECT updated_at FROM siyu_customers WHERE customer_id = 'c1'"));
        Assert.Equal((1L, 1L, 4L), (store.Status.Transactions, store.Status.CommittedWrites, store.Status.CommittedRows));
        Assert.Null(store.Status.Failing);
    }

    [Fact]
    public async Task Loads_of_any_size_run_in_chunks_and_find_every_row()
    {
        var db = await DatabaseAsync(o => o with { LoadChunk = 50 });
        var store = await OpenAsync(db);
        var write = new StoreWrite();
        var ids = Enumerable.Range(0, 1_234).Select(i => $"c{i:D5}").ToArray();
        foreach (var id in ids)
        {
            write.Customers.Add(Row(id, shard: id.GetHashCode() & 7));
            write.Owners.Add(new OwnerRow(IdHash.Of("openid", id), 2, id));
        }
        await store.CommitAsync(write);

        var wanted = ids.Concat(Enumerable.Range(0, 66).Select(i => $"missing{i}")).Reverse().ToArray();
        var loaded = await Load(store, wanted);
        Assert.Equal(ids.Length, loaded.Count);
        Assert.All(ids, id => Assert.Equal(StateOf(id, 1), loaded[id].State));

        var keys = wanted.Select(id => IdHash.Of("openid", id)).ToArray();
        var owners = await Owners(store, keys);
        Assert.Equal(ids.Length, owners.Count);
        Assert.All(ids, id => Assert.Equal(id, owners[IdHash.Of("openid", id)].Owner));
        // A load of exactly one chunk, and of one id.
        Assert.Equal(50, (await store.LoadCustomersAsync(ids[..50])).Count);
        Assert.Single(await store.LoadOwnersAsync([keys[^1]]));
        Assert.Empty(await store.LoadCustomersAsync([]));
    }

    [Fact]
    public async Task Concurrent_commits_share_transactions_and_each_completes_only_once_committed()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db);
        Task first;
        var rest = new List<Task>();
        await using (await db.HoldWriteLockAsync())
        {
            first = await CommitFirstAsync(store, Write(Row("first")));
            for (var i = 0; i < 500; i++)
            {
                rest.Add(store.CommitAsync(Write(Row($"c{i}"))));
            }
            await Task.Delay(300);
            Assert.False(first.IsCompleted);
            Assert.DoesNotContain(rest, t => t.IsCompleted); // nothing is reported durable before its commit
        }
        await first;
        await Task.WhenAll(rest);
        // The writer's first transaction waited for the lock; everything queued meanwhile went in one more.
        Assert.Equal(2, store.Status.Transactions);
        Assert.Equal(501, store.Status.CommittedWrites);
        Assert.Equal(501, (await store.LoadCustomersAsync([.. Enumerable.Range(0, 500).Select(i => $"c{i}"), "first"])).Count);

        // Without any lock, many writers in flight still end in far fewer transactions than writes.
        var before = store.Status.Transactions;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(w => Task.Run(async () =>
            await Task.WhenAll(Enumerable.Range(0, 250).Select(i => store.CommitAsync(Write(Row($"w{w}-{i}"))))))));
        Assert.InRange(store.Status.Transactions - before, 1, 200);
        Assert.Equal(2_501, store.Status.CommittedWrites);
    }

    [Fact]
    public async Task A_transaction_takes_at_most_the_row_bound_but_a_larger_single_write_goes_whole()
    {
        var db = await DatabaseAsync(o => o with { MaxBatchRows = 100 });
        var store = await OpenAsync(db);
        var writes = new List<Task>();
        await using (await db.HoldWriteLockAsync())
        {
            for (var i = 0; i < 1_001; i++)
            {
                writes.Add(store.CommitAsync(Write(Row($"c{i}"))));
            }
        }
        await Task.WhenAll(writes);
        // However many the first transaction took (it waited for the lock), 1,001 rows at <= 100 each make 11.
        Assert.Equal(11, store.Status.Transactions);

        var big = new StoreWrite();
        for (var i = 0; i < 250; i++)
        {
            big.Customers.Add(Row($"big{i}"));
        }
        await store.CommitAsync(big);
        Assert.Equal(12, store.Status.Transactions);
        Assert.Equal(250, (await store.LoadCustomersAsync([.. big.Customers.Select(c => c.CustomerId)])).Count);
    }

    [Fact]
    public async Task Within_one_transaction_the_later_write_wins_as_if_committed_one_by_one()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db);
        var (k1, k2, k3) = (IdHash.Of("member_id", "K1"), IdHash.Of("member_id", "K2"), IdHash.Of("member_id", "K3"));
        await store.CommitAsync(Write(Row("z", version: 1), Row("y0", version: 1)));
        var w1 = Write(Row("x", version: 1), Row("y", version: 1));
        w1.Erased.Add(("z", 1));
        w1.Owners.Add(new OwnerRow(k1, 1, "x"));
        w1.Owners.Add(new OwnerRow(k2, 1, "x"));
        w1.ReleasedIds.Add(k3);
        var w2 = Write(Row("x", version: 2));
        w2.Erased.Add(("y", 1));
        w2.ReleasedIds.Add(k1);
        w2.Owners.Add(new OwnerRow(k3, 2, "x"));
        var w3 = Write(Row("z", version: 3));
        w3.Owners.Add(new OwnerRow(k2, 2, "z"));

        var before = store.Status.Transactions;
        Task blocker;
        Task[] batch;
        await using (await db.HoldWriteLockAsync())
        {
            blocker = await CommitFirstAsync(store, Write(Row("other")));
            batch = [store.CommitAsync(w1), store.CommitAsync(w2), store.CommitAsync(w3)];
        }
        await blocker;
        await Task.WhenAll(batch);
        Assert.Equal(2, store.Status.Transactions - before); // w1..w3 shared one transaction

        var customers = await Load(store, "x", "y", "z");
        Assert.Equal(2L, customers["x"].Version);
        Assert.Equal(StateOf("x", 2), customers["x"].State);
        Assert.Null(customers["y"].State); // upserted, then erased
        Assert.Equal(3L, customers["z"].Version); // erased, then upserted
        Assert.Equal(StateOf("z", 3), customers["z"].State);
        var owners = await Owners(store, k1, k2, k3);
        Assert.False(owners.ContainsKey(k1)); // claimed, then released
        Assert.Equal(new OwnerRow(k2, 2, "z"), owners[k2]);
        Assert.Equal(new OwnerRow(k3, 2, "x"), owners[k3]); // released, then claimed
    }

    [Fact]
    public async Task An_erasure_leaves_a_tombstone_without_personal_data_and_removes_the_ids()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db);
        var (member, phone) = (IdHash.Of("member_id", "E1"), IdHash.Of("phone", "h1:e1"));
        var write = Write(Row("e1", shard: 5, version: 9, wake: T0.AddHours(1)), Row("keep", shard: 5, wake: T0));
        write.Owners.Add(new OwnerRow(member, 1, "e1"));
        write.Owners.Add(new OwnerRow(phone, 2, "e1"));
        await store.CommitAsync(write);

        var erase = new StoreWrite();
        erase.Erased.Add(("e1", 5));
        erase.Erased.Add(("never-stored", 6));
        erase.ReleasedIds.AddRange([member, phone]);
        await store.CommitAsync(erase);

        var loaded = await Load(store, "e1", "keep", "never-stored");
        Assert.Equal(3, loaded.Count);
        Assert.Equal((null, null, 9L, 5), (loaded["e1"].State, loaded["e1"].NextWake, loaded["e1"].Version, loaded["e1"].Shard));
        Assert.Equal((null, 0L, 6), (loaded["never-stored"].State, loaded["never-stored"].Version, loaded["never-stored"].Shard));
        Assert.NotNull(loaded["keep"].State);
        Assert.Empty(await store.LoadOwnersAsync([member, phone]));
        Assert.Equal(0, await db.ScalarAsync("SELECT COUNT(*) FROM siyu_ids"));
        Assert.Equal(0, await db.ScalarAsync("SELECT COUNT(*) FROM siyu_customers WHERE customer_id = 'e1' AND (state IS NOT NULL OR next_wake IS NOT NULL)"));
        Assert.Equal(["keep"], await store.DueAsync(5, T0.AddDays(1), 10));
    }

    [Fact]
    public async Task The_due_scan_returns_one_shards_due_customers_earliest_first_up_to_the_limit()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db);
        await store.CommitAsync(Write(
            Row("late", shard: 1, wake: T0.AddMinutes(-1)),
            Row("b-tie", shard: 1, wake: T0.AddMinutes(-5)),
            Row("a-tie", shard: 1, wake: T0.AddMinutes(-5)),
            Row("earliest", shard: 1, wake: T0.AddDays(-3)),
            Row("exactly-now", shard: 1, wake: T0),
            Row("future", shard: 1, wake: T0.AddMilliseconds(1)),
            Row("no-timer", shard: 1),
            Row("other-shard", shard: 2, wake: T0.AddDays(-9))));

        Assert.Equal(["earliest", "a-tie", "b-tie", "late", "exactly-now"], await store.DueAsync(1, T0, 100));
        Assert.Equal(["earliest", "a-tie"], await store.DueAsync(1, T0, 2));
        Assert.Equal(["other-shard"], await store.DueAsync(2, T0, 100));
        Assert.Empty(await store.DueAsync(3, T0, 100));

        // A customer whose timer fired and was cleared or moved is no longer due.
        await store.CommitAsync(Write(Row("earliest", shard: 1, version: 2), Row("a-tie", shard: 1, version: 2, wake: T0.AddHours(1))));
        Assert.Equal(["b-tie", "late", "exactly-now"], await store.DueAsync(1, T0, 100));
    }

    [Fact]
    public async Task Reopening_the_store_on_the_same_database_keeps_everything()
    {
        var db = await DatabaseAsync();
        var key = IdHash.Of("unionid", "U1");
        var store = await CustomerStore.OpenAsync(db.Options, Log);
        var write = Write(Row("r1", shard: 2, version: 4, wake: T0));
        write.Owners.Add(new OwnerRow(key, 3, "r1"));
        write.Erased.Add(("gone", 2));
        await store.CommitAsync(write);
        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CommitAsync(Write(Row("late"))));

        var reopened = await OpenAsync(db); // creating the schema again is a no-op
        var loaded = await Load(reopened, "r1", "gone");
        Assert.Equal(4L, loaded["r1"].Version);
        Assert.Equal(StateOf("r1", 4), loaded["r1"].State);
        Assert.Null(loaded["gone"].State);
        Assert.Equal(new OwnerRow(key, 3, "r1"), Assert.Single(await reopened.LoadOwnersAsync([key])));
        Assert.Equal(["r1"], await reopened.DueAsync(2, T0, 10));
    }

    [Fact]
    public async Task A_failed_transaction_fails_every_write_in_it_and_writes_none_of_them()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db);
        await db.PoisonCustomerIdAsync("poison");
        var key = IdHash.Of("member_id", "A1");
        var a = Write(Row("a1"));
        a.Owners.Add(new OwnerRow(key, 1, "a1"));
        var c = new StoreWrite();
        c.Erased.Add(("c1", 1));

        Task blocker;
        Task[] doomed;
        await using (await db.HoldWriteLockAsync())
        {
            blocker = await CommitFirstAsync(store, Write(Row("b1")));
            doomed = [store.CommitAsync(a), store.CommitAsync(Write(Row("poison"))), store.CommitAsync(c)];
        }
        await blocker;
        var errors = new List<Exception>();
        foreach (var t in doomed)
        {
            errors.Add(await Assert.ThrowsAnyAsync<Exception>(() => t));
        }
        Assert.All(errors, e => Assert.Contains("poisoned row", e.Message, StringComparison.Ordinal));
        Assert.Same(errors[0], errors[2]); // the one failure of their one transaction

        Assert.Equal(["b1"], (await store.LoadCustomersAsync(["a1", "b1", "c1", "poison"])).Select(x => x.CustomerId));
        Assert.Empty(await store.LoadOwnersAsync([key]));
        var failing = store.Status.Failing;
        Assert.NotNull(failing);
        Assert.Equal(1, failing.Batches);
        Assert.Contains("poisoned row", failing.Error, StringComparison.Ordinal);

        // The writer goes on: the same writes without the poisoned one commit.
        await store.CommitAsync(a);
        await store.CommitAsync(c);
        Assert.Null(store.Status.Failing);
        Assert.Equal(1, store.Status.FailedTransactions);
        Assert.Equal(2, (await store.LoadCustomersAsync(["a1", "c1"])).Count);
        Assert.Single(await store.LoadOwnersAsync([key]));
    }

    [Fact]
    public async Task A_write_lock_held_too_long_fails_the_writes_in_bounded_time_while_reads_go_on_and_logs_one_warning()
    {
        var db = await DatabaseAsync(o => o with { CommandTimeout = TimeSpan.FromSeconds(1) });
        var store = await OpenAsync(db);
        await store.CommitAsync(Write(Row("before")));

        await using (await db.HoldWriteLockAsync())
        {
            var clock = Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<Exception>(() => store.CommitAsync(Write(Row("w1"))));
            Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(20));
            var first = store.Status.Failing;
            Assert.NotNull(first);
            await Assert.ThrowsAnyAsync<Exception>(() => store.CommitAsync(Write(Row("w2"))));
            Assert.Equal((first.Since, 2L), (store.Status.Failing!.Since, store.Status.Failing.Batches));

            // Reads do not wait for the writer or the lock.
            Assert.Single(await store.LoadCustomersAsync(["before", "w1"]));
            await store.ProbeAsync();
        }

        await store.CommitAsync(Write(Row("after")));
        Assert.Null(store.Status.Failing);
        Assert.Equal(2, store.Status.FailedTransactions);
        Assert.Equal(["after", "before"], (await store.LoadCustomersAsync(["before", "w1", "w2", "after"])).Select(c => c.CustomerId).Order());
        Assert.Equal(1, Log.Count(LogLevel.Warning));
        Assert.Contains(Log.Entries, e => e.Level == LogLevel.Information && e.Message.Contains("after 2 failed transactions", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_malformed_write_is_refused_at_once_and_does_not_touch_the_queue()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db);
        Assert.Throws<ArgumentException>(() => { _ = store.CommitAsync(Write(new CustomerRow("x", 1, 1, null!, null))); });
        var noOwner = new StoreWrite();
        noOwner.Owners.Add(new OwnerRow(IdHash.Of("member_id", "M"), 1, ""));
        Assert.Throws<ArgumentException>(() => { _ = store.CommitAsync(noOwner); });
        await store.CommitAsync(new StoreWrite()); // an empty write completes without a transaction
        Assert.Equal(0, store.Status.Transactions);
    }
}

public sealed class SqliteCustomerStoreSpecs : CustomerStoreSpecs
{
    protected override Task<IStoreDatabase> NewDatabaseAsync(Func<StoreOptions, StoreOptions>? tune = null) =>
        Task.FromResult<IStoreDatabase>(new SqliteStoreDatabase(tune));
}

public sealed class PostgresCustomerStoreSpecs(PostgresCustomerStoreSpecs.Server server) : CustomerStoreSpecs, IClassFixture<PostgresCustomerStoreSpecs.Server>
{
    public sealed class Server : IDisposable
    {
        public Siyu.Tests.Shared.PostgresServer Postgres { get; } = new();
        public void Dispose() => Postgres.Dispose();
    }

    protected override async Task<IStoreDatabase> NewDatabaseAsync(Func<StoreOptions, StoreOptions>? tune = null) =>
        await PostgresStoreDatabase.CreateAsync(server.Postgres, tune);

    [Fact]
    public async Task While_the_server_is_down_writes_and_reads_fail_promptly_and_after_it_is_back_they_work_with_nothing_lost()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db);
        var key = IdHash.Of("member_id", "PG1");
        var write = Write(Row("pg1", wake: T0));
        write.Owners.Add(new OwnerRow(key, 1, "pg1"));
        await store.CommitAsync(write);

        server.Postgres.Stop();
        try
        {
            var clock = Stopwatch.StartNew();
            await Assert.ThrowsAnyAsync<Exception>(() => store.CommitAsync(Write(Row("pg2"))));
            await Assert.ThrowsAnyAsync<Exception>(() => store.CommitAsync(Write(Row("pg3"))));
            await Assert.ThrowsAnyAsync<Exception>(() => store.LoadCustomersAsync(["pg1"]));
            await Assert.ThrowsAnyAsync<Exception>(() => store.ProbeAsync());
            Assert.InRange(clock.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30));
            Assert.Equal(2, store.Status.Failing?.Batches);
        }
        finally
        {
            server.Postgres.Start();
        }

        await store.CommitAsync(Write(Row("pg4")));
        Assert.Null(store.Status.Failing);
        Assert.Equal(["pg1", "pg4"], (await store.LoadCustomersAsync(["pg1", "pg2", "pg3", "pg4"])).Select(c => c.CustomerId).Order());
        Assert.Equal(new OwnerRow(key, 1, "pg1"), Assert.Single(await store.LoadOwnersAsync([key])));
        Assert.Equal(["pg1"], await store.DueAsync(1, T0, 10));
        Assert.Equal(1, Log.Count(LogLevel.Warning));
    }

    [Fact]
    public async Task After_a_server_restart_the_first_write_and_read_succeed_on_new_connections()
    {
        var db = await DatabaseAsync();
        var store = await OpenAsync(db);
        await store.CommitAsync(Write(Row("r1")));
        Assert.Single(await store.LoadCustomersAsync(["r1"])); // the writer's and a reader's connection are now open and idle

        server.Postgres.Stop();
        server.Postgres.Start();

        await store.CommitAsync(Write(Row("r2")));
        Assert.Equal(2, (await store.LoadCustomersAsync(["r1", "r2"])).Count);
        Assert.Empty(await store.LoadOwnersAsync([IdHash.Of("member_id", "none")]));
        await store.ProbeAsync();
        Assert.Equal(0, store.Status.FailedTransactions);
    }
}
