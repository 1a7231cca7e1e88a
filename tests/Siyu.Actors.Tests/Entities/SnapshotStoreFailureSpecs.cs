using Akka.Actor;
using Akka.Persistence;
using Microsoft.Data.Sqlite;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Entities;

/// <summary>
/// The customers' snapshot store (GroupCommitSnapshotStore on the SQLite journal) when a save
/// fails: the customer's last good state row must stay. Akka's snapshot store deletes "the
/// snapshot that failed" after a failed save, by persistence id and sequence number; customers
/// always save at sequence number 0, so that was their only row.
/// </summary>
public sealed class SnapshotStoreFailureSpecs : IAsyncLifetime
{
    private readonly ActorSystemFixture _akka = new();

    public async Task InitializeAsync() => await _akka.StartAsync();
    public async Task DisposeAsync() => await _akka.DisposeAsync();

    /// <summary>A payload the store cannot serialize: the save fails inside the store, as a database error would.</summary>
    private sealed class Unwritable
    {
        public string Value => throw new InvalidOperationException("this snapshot cannot be written");
    }

    [Fact]
    public async Task A_failed_save_leaves_the_customers_last_saved_state_in_place()
    {
        var ids = new CustomerIds { MemberId = "F1" };
        await _akka.Handler().HandleAsync(Events.Ingested(Events.Order("f1", ids, 88m)), default);
        var customer = await _akka.CustomerOf(IdType.MemberId, "F1");
        var persistenceId = "customer-" + customer.CustomerId;
        Assert.Equal(1L, await Rows(persistenceId));

        var store = Persistence.Instance.Apply(_akka.System).SnapshotStoreFor(null);
        var reply = await store.Ask<ISnapshotResponse>(new SaveSnapshot(new SnapshotMetadata(persistenceId, 0, DateTime.UtcNow), new Unwritable()), ActorSystemFixture.AskTimeout);
        Assert.IsType<SaveSnapshotFailure>(reply);

        // Akka's clean-up delete runs right after the failure reply; a SQLite delete takes milliseconds.
        await Task.Delay(1000);
        Assert.Equal(1L, await Rows(persistenceId));

        await _akka.RestartAsync();
        var recovered = await _akka.CustomerOf(IdType.MemberId, "F1");
        Assert.Equal(customer.CustomerId, recovered.CustomerId);
        Assert.Equal(1, recovered.Stats.Orders);
        Assert.Equal(88m, recovered.Stats.Revenue);
    }

    private async Task<long> Rows(string persistenceId)
    {
        await using var db = new SqliteConnection($"Data Source={_akka.DatabasePath}");
        await db.OpenAsync();
        var table = (string)(await new SqliteCommand("SELECT name FROM sqlite_master WHERE type='table' AND name LIKE '%snapshot%'", db).ExecuteScalarAsync())!;
        await using var count = new SqliteCommand($"SELECT COUNT(*) FROM \"{table}\" WHERE persistence_id = $p", db);
        count.Parameters.AddWithValue("$p", persistenceId);
        return (long)(await count.ExecuteScalarAsync())!;
    }
}
