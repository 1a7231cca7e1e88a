using Akka.Actor;
using Akka.TestKit.Xunit2;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Entities;

/// <summary>
/// TestKit specs of the customer actor's protocol, on the real cluster and SQLite journal
/// (the fixture's actor system), talking to the shard region with test probes.
/// </summary>
public sealed class CustomerActorSpecs : TestKit, IAsyncLifetime
{
    // A long flush window makes "not acknowledged before the save" observable.
    private static readonly TimeSpan Flush = TimeSpan.FromMilliseconds(800);
    private readonly ActorSystemFixture _akka;

    public CustomerActorSpecs() : this(new ActorSystemFixture(Flush))
    {
    }

    private CustomerActorSpecs(ActorSystemFixture akka) : base(akka.StartAsync().GetAwaiter().GetResult().System) => _akka = akka;

    public Task InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _akka.DisposeAsync();

    private static string NewId() => Identity.IdentityResolver.NewCustomerId(DateTimeOffset.UtcNow);

    [Fact]
    public void An_event_is_acknowledged_only_once_the_state_covering_it_is_saved()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        _akka.Customers.Tell(new ObserveEvent(id, Events.Order("k1", new CustomerIds { MemberId = "K1" }, 9m)), probe);
        probe.ExpectNoMsg(TimeSpan.FromMilliseconds(500));
        var accepted = probe.ExpectMsg<EventAccepted>(TimeSpan.FromSeconds(10));
        Assert.Equal("k1", accepted.EventId);
        Assert.Equal(id, accepted.CustomerId);
    }

    [Fact]
    public void A_burst_of_events_is_saved_once_and_every_event_is_acknowledged()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        for (var i = 0; i < 20; i++)
        {
            _akka.Customers.Tell(new ObserveEvent(id, Events.Order($"b{i}", new CustomerIds { MemberId = "K2" }, 1m, minute: i)), probe);
        }
        var acks = probe.ReceiveN(20, TimeSpan.FromSeconds(10)).Cast<EventAccepted>().ToList();
        Assert.Equal(20, acks.Select(a => a.EventId).Distinct().Count());
        _akka.Customers.Tell(new GetCustomer(id), probe);
        var state = probe.ExpectMsg<CustomerState>();
        Assert.Equal(20, state.Stats.Orders);
    }

    [Fact]
    public void A_duplicate_of_a_saved_event_is_acknowledged_at_once_and_changes_nothing()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        var evt = Events.Order("d1", new CustomerIds { MemberId = "K3" }, 5m);
        _akka.Customers.Tell(new ObserveEvent(id, evt), probe);
        probe.ExpectMsg<EventAccepted>(TimeSpan.FromSeconds(10));
        _akka.Customers.Tell(new ObserveEvent(id, evt), probe);
        probe.ExpectMsg<EventAccepted>(TimeSpan.FromMilliseconds(400)); // well inside the flush window
        _akka.Customers.Tell(new GetCustomer(id), probe);
        Assert.Equal(1, probe.ExpectMsg<CustomerState>().Stats.Orders);
    }

    [Fact]
    public void A_merged_customer_forwards_what_it_receives_to_the_survivor()
    {
        var older = NewId();
        Thread.Sleep(2);
        var younger = NewId();
        var probe = CreateTestProbe();
        _akka.Customers.Tell(new ObserveEvent(older, Events.Order("f1", new CustomerIds { MemberId = "K4" }, 1m)), probe);
        _akka.Customers.Tell(new ObserveEvent(younger, Events.Order("f2", new CustomerIds { OpenId = "k4" }, 2m)), probe);
        probe.ReceiveN(2, TimeSpan.FromSeconds(10));

        _akka.Customers.Tell(new MergeInto(younger, older), probe);
        Assert.Equal(older, probe.ExpectMsg<MergedReply>(TimeSpan.FromSeconds(10)).MergedInto);

        _akka.Customers.Tell(new ObserveEvent(younger, Events.Order("f3", new CustomerIds { OpenId = "k4" }, 4m, minute: 3)), probe);
        Assert.Equal(older, probe.ExpectMsg<EventAccepted>(TimeSpan.FromSeconds(10)).CustomerId);
        _akka.Customers.Tell(new GetCustomer(older), probe);
        var survivor = probe.ExpectMsg<CustomerState>();
        Assert.Equal(3, survivor.Stats.Orders);
        Assert.Equal(7m, survivor.Stats.Revenue);
        Assert.Contains(younger, survivor.MergedFrom);
    }

    [Fact]
    public void A_hand_over_cut_short_by_a_crash_is_resumed_when_the_frozen_customer_starts_again()
    {
        var older = NewId();
        Thread.Sleep(2);
        var younger = NewId();
        var probe = CreateTestProbe();
        _akka.Customers.Tell(new ObserveEvent(older, Events.Order("r1", new CustomerIds { MemberId = "K7" }, 1m)), probe);
        probe.ExpectMsg<EventAccepted>(TimeSpan.FromSeconds(10));

        // The younger customer as a kill -9 left it: frozen for the merge and saved, but the
        // survivor never received it. Written straight to the snapshot store, as the dead process did.
        SaveFrozen(younger, older, Events.Order("r2", new CustomerIds { OpenId = "k7" }, 2m, minute: 1), probe);

        // Nobody asks for the merge again: whatever starts it (here a lookup of its identity)
        // must be enough for the survivor to receive its history. A refund of the frozen
        // order, resolved to the frozen customer, must find that order at the survivor.
        // Both arrive while it recovers, so both are handled before it resumes the hand-over.
        _akka.Customers.Tell(new GetIdentity(younger), probe);
        _akka.Customers.Tell(new ObserveEvent(younger, Events.Refund("r3", new CustomerIds { OpenId = "k7" }, "O-r2", 2m)), probe);
        Assert.Equal(older, probe.ExpectMsg<CustomerIdentity>(TimeSpan.FromSeconds(10)).MergedInto);
        var refund = probe.ExpectMsg<EventAccepted>(TimeSpan.FromSeconds(10));
        Assert.Equal(older, refund.CustomerId);
        Assert.Empty(refund.Notices);
        _akka.Customers.Tell(new GetCustomer(older), probe);
        var survivor = probe.ExpectMsg<CustomerState>(TimeSpan.FromSeconds(10));
        Assert.Contains(younger, survivor.MergedFrom);
        Assert.Equal((2, 1m, 1), (survivor.Stats.Orders, survivor.Stats.Revenue, survivor.Stats.Refunds));
        AwaitAssert(() =>
        {
            _akka.Customers.Tell(new GetCustomer(younger), probe);
            var pointer = probe.ExpectMsg<CustomerState>();
            Assert.Equal((older, false, 0), (pointer.MergedInto, pointer.HandOverPending, pointer.Stats.Orders));
        }, TimeSpan.FromSeconds(10), TimeSpan.FromMilliseconds(200));
    }

    [Fact]
    public async Task The_resolver_waits_until_a_resumed_hand_over_is_durable_at_the_survivor()
    {
        var older = NewId();
        Thread.Sleep(2);
        var younger = NewId();
        var probe = CreateTestProbe();
        _akka.Customers.Tell(new ObserveEvent(older, Events.Order("w1", new CustomerIds { MemberId = "K8" }, 1m)), probe);
        probe.ExpectMsg<EventAccepted>(TimeSpan.FromSeconds(10));
        // The ids' owners as the interrupted resolution left them, and the younger one frozen.
        foreach (var (type, value, owner) in new[] { (IdType.MemberId, "K8", older), (IdType.OpenId, "k8", younger) })
        {
            _akka.Identities.Tell(new Identity.ClaimId(Identity.IdKey.Of(type, value), owner), probe);
            probe.ExpectMsg<Identity.IdOwner>(TimeSpan.FromSeconds(10));
        }
        SaveFrozen(younger, older, Events.Order("w2", new CustomerIds { OpenId = "k8" }, 2m, minute: 1), probe);

        // The redelivered event that led to the merge: it may be acknowledged (and its offset
        // committed) only once the survivor's SAVED state holds the younger customer's history.
        // The survivor saves 800 ms after it absorbs, so a resolver that only follows the
        // pointer returns before that.
        var resolution = await _akka.Resolver.ResolveAsync(new CustomerIds { MemberId = "K8", OpenId = "k8" }, default);
        Assert.Equal(older, resolution.CustomerId);
        var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        var loaded = await store.Ask<Akka.Persistence.LoadSnapshotResult>(
            new Akka.Persistence.LoadSnapshot("customer-" + older, Akka.Persistence.SnapshotSelectionCriteria.Latest, long.MaxValue), TimeSpan.FromSeconds(10));
        var saved = CustomerSnapshot.Deserialize((byte[])loaded.Snapshot!.Snapshot);
        Assert.Contains(younger, saved.MergedFrom);
        Assert.Equal(2, saved.Stats.Orders);
    }

    /// <summary>Writes the state a crash leaves mid-merge: frozen for the hand-over, saved, never handed over.</summary>
    private void SaveFrozen(string customerId, string survivorId, InputEvent order, Akka.TestKit.TestProbe probe)
    {
        var now = DateTimeOffset.UtcNow;
        var frozen = CustomerState.Empty(customerId);
        foreach (var command in new CustomerCommand[] { new Observe(order, now), new BeginHandOver(survivorId, now) })
        {
            frozen = CustomerDecider.ApplyAll(frozen, CustomerDecider.Decide(frozen, command, _akka.Options.Rules, Siyu.Actors.Campaigns.CampaignCatalog.Empty), _akka.Options.Rules);
        }
        Assert.True(frozen.HandOverPending);
        var store = Akka.Persistence.Persistence.Instance.Apply(Sys).SnapshotStoreFor(null);
        store.Tell(new Akka.Persistence.SaveSnapshot(new Akka.Persistence.SnapshotMetadata("customer-" + customerId, 0, DateTime.UtcNow), CustomerSnapshot.Serialize(frozen)), probe);
        probe.ExpectMsg<Akka.Persistence.SaveSnapshotSuccess>(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public void A_duplicate_arriving_while_a_failed_save_is_retried_waits_for_that_save()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        var first = Events.Order("s1", new CustomerIds { MemberId = "K9" }, 1m);
        var second = Events.Order("s2", new CustomerIds { MemberId = "K9" }, 2m, minute: 1);
        _akka.Customers.Tell(new ObserveEvent(id, first), probe);
        probe.ExpectMsg<EventAccepted>(TimeSpan.FromSeconds(10));

        // Another writer holds the journal database: saves block until SQLite gives up, then fail.
        using (var locker = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_akka.DatabasePath}"))
        {
            locker.Open();
            using (var begin = locker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                begin.ExecuteNonQuery();
            }
            _akka.Customers.Tell(new ObserveEvent(id, second), probe);
            probe.ExpectMsg<Status.Failure>(TimeSpan.FromSeconds(60));
            // The customer retries that save on its own (after a backoff of two flush intervals):
            // this one carries no waiter. A redelivery of the same event arriving while it is under
            // way must wait for it, not be acknowledged as if the state were saved.
            Thread.Sleep(Flush * 3);
            _akka.Customers.Tell(new ObserveEvent(id, second), probe);
            var reply = probe.ReceiveOne(TimeSpan.FromSeconds(2));
            Assert.False(reply is EventAccepted, $"acknowledged while its state could not be saved: {reply}");
            using var rollback = locker.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }
        AwaitAssert(() =>
        {
            _akka.Customers.Tell(new ObserveEvent(id, second), probe);
            probe.FishForMessage(m => m is EventAccepted, TimeSpan.FromSeconds(5));
        }, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Erasure_removes_the_state_and_a_second_erasure_finds_nothing()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        _akka.Customers.Tell(new ObserveEvent(id, Events.Order("x1", new CustomerIds { MemberId = "K5" }, 3m)), probe);
        probe.ExpectMsg<EventAccepted>(TimeSpan.FromSeconds(10));
        _akka.Customers.Tell(new EraseCustomer(id), probe);
        Assert.True(probe.ExpectMsg<CustomerErased>(TimeSpan.FromSeconds(10)).Found);
        _akka.Customers.Tell(new GetCustomer(id), probe);
        Assert.True(probe.ExpectMsg<CustomerState>(TimeSpan.FromSeconds(10)).IsNew);
        _akka.Customers.Tell(new EraseCustomer(id), probe);
        Assert.False(probe.ExpectMsg<CustomerErased>(TimeSpan.FromSeconds(10)).Found);
    }
}
