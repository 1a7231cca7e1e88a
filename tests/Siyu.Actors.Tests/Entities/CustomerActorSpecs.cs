using Akka.Actor;
using Akka.TestKit.Xunit2;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Identity;
using Siyu.Actors.Storage;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Entities;

/// <summary>
/// TestKit specs of the customer protocol on the real cluster and SQLite store (the fixture's
/// actor system), talking to the customer shard region with test probes.
/// </summary>
public sealed class CustomerActorSpecs : TestKit, IAsyncLifetime
{
    private readonly ActorSystemFixture _akka;
    private long _ticket;

    public CustomerActorSpecs() : this(new ActorSystemFixture())
    {
    }

    private CustomerActorSpecs(ActorSystemFixture akka) : base(akka.StartAsync().GetAwaiter().GetResult().System) => _akka = akka;

    public Task InitializeAsync() => Task.CompletedTask;

    async Task IAsyncLifetime.DisposeAsync() => await _akka.DisposeAsync();

    private static string NewId() => IdentityResolver.NewCustomerId(DateTimeOffset.UtcNow);

    private void Observe(string customerId, InputEvent evt, Akka.TestKit.TestProbe probe) =>
        _akka.Observe(customerId, evt, probe, Interlocked.Increment(ref _ticket));

    private async Task<CustomerState?> Saved(string customerId)
    {
        var rows = await _akka.Store.LoadCustomersAsync([customerId], default);
        return rows.Count == 1 && rows[0].State is { } bytes ? CustomerSnapshot.Deserialize(bytes) : null;
    }

    [Fact]
    public async Task An_event_is_acknowledged_only_once_the_state_covering_it_is_saved()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        Observe(id, Events.Order("k1", new CustomerIds { MemberId = "K1" }, 9m), probe);
        var outcome = probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10));
        Assert.Equal((OutcomeKind.Accepted, id), (outcome.Kind, outcome.CustomerId));
        // Read straight after the acknowledgement: the saved row already holds the event.
        Assert.Equal(1, (await Saved(id))?.Stats.Orders);
    }

    [Fact]
    public async Task A_burst_of_events_is_saved_in_few_saves_and_every_event_is_acknowledged()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        var cycles = _akka.Committer.Cycles;
        var items = Enumerable.Range(0, 20)
            .Select(i => new BatchItem(Interlocked.Increment(ref _ticket), id, Events.Order($"b{i}", new CustomerIds { MemberId = "K2" }, 1m, minute: i), false))
            .ToList();
        _akka.Customers.Tell(new CustomerBatch(CustomerShards.Of(id, ActorSystemFixture.MaxShards), probe, items));
        var acks = probe.ReceiveN(20, TimeSpan.FromSeconds(10)).Cast<EventOutcome>().ToList();
        Assert.All(acks, a => Assert.Equal(OutcomeKind.Accepted, a.Kind));
        Assert.Equal(20, acks.Select(a => a.Ticket).Distinct().Count());
        Assert.InRange(_akka.Committer.Cycles - cycles, 1, 2); // one delivery, one save
        Assert.Equal(20, (await Saved(id))?.Stats.Orders);
    }

    [Fact]
    public void A_duplicate_of_a_saved_event_is_acknowledged_without_a_save_and_changes_nothing()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        var evt = Events.Order("d1", new CustomerIds { MemberId = "K3" }, 5m);
        Observe(id, evt, probe);
        probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10));
        var cycles = _akka.Committer.Cycles;
        Observe(id, evt, probe);
        Assert.Equal(OutcomeKind.Accepted, probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10)).Kind);
        Assert.Equal(cycles, _akka.Committer.Cycles);
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
        Observe(older, Events.Order("f1", new CustomerIds { MemberId = "K4" }, 1m), probe);
        Observe(younger, Events.Order("f2", new CustomerIds { OpenId = "k4" }, 2m), probe);
        probe.ReceiveN(2, TimeSpan.FromSeconds(10));

        _akka.Customers.Tell(new MergeInto(younger, older), probe);
        Assert.Equal(older, probe.ExpectMsg<MergedReply>(TimeSpan.FromSeconds(10)).MergedInto);

        Observe(younger, Events.Order("f3", new CustomerIds { OpenId = "k4" }, 4m, minute: 3), probe);
        Assert.Equal(older, probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10)).CustomerId);
        _akka.Customers.Tell(new GetCustomer(older), probe);
        var survivor = probe.ExpectMsg<CustomerState>();
        Assert.Equal(3, survivor.Stats.Orders);
        Assert.Equal(7m, survivor.Stats.Revenue);
        Assert.Contains(younger, survivor.MergedFrom);
    }

    [Fact]
    public async Task A_hand_over_cut_short_by_a_crash_is_resumed_when_the_frozen_customer_starts_again()
    {
        var older = NewId();
        Thread.Sleep(2);
        var younger = NewId();
        var probe = CreateTestProbe();
        Observe(older, Events.Order("r1", new CustomerIds { MemberId = "K7" }, 1m), probe);
        probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10));

        // The younger customer as a kill -9 left it: frozen for the merge and saved, but the
        // survivor never received it. Written straight to the store, as the dead process did.
        await SaveFrozen(younger, older, Events.Order("r2", new CustomerIds { OpenId = "k7" }, 2m, minute: 1));

        // Nobody asks for the merge again: whatever starts it (here a lookup of its identity)
        // must be enough for the survivor to receive its history. A refund of the frozen
        // order, resolved to the frozen customer, must find that order at the survivor.
        _akka.Customers.Tell(new GetIdentity(younger), probe);
        Observe(younger, Events.Refund("r3", new CustomerIds { OpenId = "k7" }, "O-r2", 2m), probe);
        Assert.Equal(older, probe.ExpectMsg<CustomerIdentity>(TimeSpan.FromSeconds(10)).MergedInto);
        var refund = probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10));
        Assert.Equal((older, OutcomeKind.Accepted), (refund.CustomerId, refund.Kind));
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
        Observe(older, Events.Order("w1", new CustomerIds { MemberId = "K8" }, 1m), probe);
        probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10));
        // The ids' owners as the interrupted resolution left them, and the younger one frozen.
        foreach (var (type, value, owner) in new[] { (IdType.MemberId, "K8", older), (IdType.OpenId, "k8", younger) })
        {
            var key = IdKeys.Of(type, value);
            _akka.Identities.Tell(new IdentityRequest(IdentityShards.Of(key, ActorSystemFixture.MaxShards), [new IdOp(IdOpKind.Claim, key, owner)]), probe);
            probe.ExpectMsg<IdentityReply>(TimeSpan.FromSeconds(10));
        }
        await SaveFrozen(younger, older, Events.Order("w2", new CustomerIds { OpenId = "k8" }, 2m, minute: 1));

        // The redelivered event that led to the merge: it may be acknowledged (and its offset
        // committed) only once the survivor's SAVED state holds the younger customer's history.
        var resolution = await _akka.Resolver.ResolveAsync(new CustomerIds { MemberId = "K8", OpenId = "k8" }, default);
        Assert.Equal(older, resolution.CustomerId);
        var saved = await Saved(older);
        Assert.Contains(younger, saved!.MergedFrom);
        Assert.Equal(2, saved.Stats.Orders);
    }

    /// <summary>Writes the state a crash leaves mid-merge: frozen for the hand-over, saved, never handed over.</summary>
    private async Task SaveFrozen(string customerId, string survivorId, InputEvent order)
    {
        var now = DateTimeOffset.UtcNow;
        var frozen = CustomerState.Empty(customerId);
        foreach (var command in new CustomerCommand[] { new Observe(order, now), new BeginHandOver(survivorId, now) })
        {
            frozen = CustomerDecider.ApplyAll(frozen, CustomerDecider.Decide(frozen, command, _akka.Options.Rules, Siyu.Actors.Campaigns.CampaignCatalog.Empty), _akka.Options.Rules);
        }
        Assert.True(frozen.HandOverPending);
        await _akka.Committer.SaveAsync(new CustomerRow(customerId, CustomerShards.Of(customerId, ActorSystemFixture.MaxShards), frozen.Version,
            CustomerSnapshot.Serialize(frozen), null), [], [], checkRows: false);
    }

    [Fact]
    public void A_duplicate_arriving_while_a_failed_save_is_retried_waits_for_that_save()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        var first = Events.Order("s1", new CustomerIds { MemberId = "K9" }, 1m);
        var second = Events.Order("s2", new CustomerIds { MemberId = "K9" }, 2m, minute: 1);
        Observe(id, first, probe);
        probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10));

        // Another writer holds the database: saves block until SQLite gives up, then fail.
        using (var locker = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={_akka.DatabasePath}"))
        {
            locker.Open();
            using (var begin = locker.CreateCommand())
            {
                begin.CommandText = "BEGIN EXCLUSIVE";
                begin.ExecuteNonQuery();
            }
            Observe(id, second, probe);
            Assert.Equal(OutcomeKind.Failed, probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(60)).Kind);
            // The customer retries that save on its own: the retry carries no waiter. A redelivery
            // of the same event arriving meanwhile must wait for it, not be acknowledged as if the
            // state were saved.
            Observe(id, second, probe);
            var reply = probe.ReceiveOne(TimeSpan.FromSeconds(2));
            Assert.False(reply is EventOutcome { Kind: OutcomeKind.Accepted }, $"acknowledged while its state could not be saved: {reply}");
            using var rollback = locker.CreateCommand();
            rollback.CommandText = "ROLLBACK";
            rollback.ExecuteNonQuery();
        }
        AwaitAssert(() =>
        {
            Observe(id, second, probe);
            probe.FishForMessage(m => m is EventOutcome { Kind: OutcomeKind.Accepted }, TimeSpan.FromSeconds(5));
        }, TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(1));
    }

    [Fact]
    public void Erasure_removes_the_state_and_a_second_erasure_finds_nothing()
    {
        var id = NewId();
        var probe = CreateTestProbe();
        Observe(id, Events.Order("x1", new CustomerIds { MemberId = "K5" }, 3m), probe);
        probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10));
        _akka.Customers.Tell(new EraseCustomer(id), probe);
        Assert.True(probe.ExpectMsg<CustomerErased>(TimeSpan.FromSeconds(10)).Found);
        _akka.Customers.Tell(new GetCustomer(id), probe);
        Assert.True(probe.ExpectMsg<CustomerState>(TimeSpan.FromSeconds(10)).IsNew);
        _akka.Customers.Tell(new EraseCustomer(id), probe);
        Assert.False(probe.ExpectMsg<CustomerErased>(TimeSpan.FromSeconds(10)).Found);
        // An event still routed to the erased customer (a stale cache) is sent back to be resolved anew.
        Observe(id, Events.Order("x2", new CustomerIds { MemberId = "K5" }, 1m, minute: 1), probe);
        Assert.Equal(OutcomeKind.Unknown, probe.ExpectMsg<EventOutcome>(TimeSpan.FromSeconds(10)).Kind);
    }

    [Fact]
    public async Task Erasing_a_survivor_erases_every_customer_merged_into_it_even_through_a_chain()
    {
        var older = NewId();
        Thread.Sleep(2);
        var younger = NewId();
        Thread.Sleep(2);
        var youngest = NewId();
        var probe = CreateTestProbe();
        Observe(older, Events.Order("e1", new CustomerIds { MemberId = "K6" }, 1m), probe);
        Observe(younger, Events.Order("e2", new CustomerIds { OpenId = "k6" }, 2m), probe);
        Observe(youngest, Events.Order("e3", new CustomerIds { UnionId = "u6" }, 4m), probe);
        probe.ReceiveN(3, TimeSpan.FromSeconds(10));
        // youngest → younger, then younger (holding both) → older: youngest's pointer names younger.
        _akka.Customers.Tell(new MergeInto(youngest, younger), probe);
        Assert.Equal(younger, probe.ExpectMsg<MergedReply>(TimeSpan.FromSeconds(10)).MergedInto);
        _akka.Customers.Tell(new MergeInto(younger, older), probe);
        Assert.Equal(older, probe.ExpectMsg<MergedReply>(TimeSpan.FromSeconds(10)).MergedInto);
        await AwaitAssertAsync(async () => Assert.Equal(younger, (await Saved(youngest))?.MergedInto), TimeSpan.FromSeconds(10));
        await AwaitAssertAsync(async () => Assert.Equal(older, (await Saved(younger))?.MergedInto), TimeSpan.FromSeconds(10));
        Assert.Equal(new[] { younger, youngest }.Order(StringComparer.Ordinal), (await Saved(older))!.MergedFrom.Order(StringComparer.Ordinal));

        _akka.Customers.Tell(new EraseCustomer(older), probe);
        Assert.True(probe.ExpectMsg<CustomerErased>(TimeSpan.FromSeconds(30)).Found);
        // Answered only once every row is a tombstone: no pointer is left to say who was merged with whom.
        foreach (var id in new[] { older, younger, youngest })
        {
            var rows = await _akka.Store.LoadCustomersAsync([id], default);
            Assert.True(rows.Count == 1 && rows[0].State is null, $"{id}: {(rows.Count == 0 ? "no row" : "a saved state")} instead of a tombstone");
            Assert.Null(await _akka.Lookup.CustomerAsync(id, default));
        }
        _akka.Customers.Tell(new EraseCustomer(younger), probe);
        Assert.False(probe.ExpectMsg<CustomerErased>(TimeSpan.FromSeconds(10)).Found);
    }
}
