using Akka.Actor;
using Microsoft.Data.Sqlite;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Identity;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Siyu.Ingest;

namespace Siyu.Actors.Tests.Entities;

public sealed class CustomerEntitySpecs : IAsyncLifetime
{
    private readonly ActorSystemFixture _akka = new();

    public async Task InitializeAsync() => await _akka.StartAsync();
    public async Task DisposeAsync() => await _akka.DisposeAsync();

    private Task<CustomerState> CustomerOf(IdType type, string value) => _akka.CustomerOf(type, value);

    [Fact]
    public async Task Events_of_every_channel_land_on_one_customer_and_duplicates_count_once()
    {
        var handler = _akka.Handler();
        var ids = new CustomerIds { MemberId = "M1", OpenId = "o1" };
        await handler.HandleAsync(Events.Ingested(Events.Order("e1", ids, 199.00m)), default);
        await handler.HandleAsync(Events.Ingested(Events.Order("e1", ids, 199.00m)), default); // redelivered
        await handler.HandleAsync(Events.Ingested(Events.Join("e2", new CustomerIds { OpenId = "o1" }, "GR1")), default);
        await handler.HandleAsync(Events.Ingested(Events.Order("e3", new CustomerIds { MemberId = "M1" }, 39.90m, minute: 5)), default);

        var customer = await CustomerOf(IdType.MemberId, "M1");
        Assert.Equal(2, customer.Stats.Orders);
        Assert.Equal(238.90m, customer.Stats.Revenue);
        Assert.Equal(["GR1"], customer.ActiveGroups);
        Assert.True(customer.InPrivateDomain);
        Assert.Equal(customer.CustomerId, (await CustomerOf(IdType.OpenId, "o1")).CustomerId);
    }

    [Fact]
    public async Task Acknowledged_state_survives_a_restart_of_the_actor_system()
    {
        var handler = _akka.Handler();
        var ids = new CustomerIds { MemberId = "M2" };
        for (var i = 0; i < 5; i++)
        {
            await handler.HandleAsync(Events.Ingested(Events.Order($"r{i}", ids, 10m, minute: i)), default);
        }
        var before = await CustomerOf(IdType.MemberId, "M2");

        await _akka.RestartAsync();

        var after = await CustomerOf(IdType.MemberId, "M2");
        Assert.Equal(before.CustomerId, after.CustomerId);
        Assert.Equal(5, after.Stats.Orders);
        Assert.Equal(50m, after.Stats.Revenue);
        // Redelivery after the restart (offsets not yet committed) changes nothing.
        await _akka.Handler().HandleAsync(Events.Ingested(Events.Order("r4", ids, 10m, minute: 4)), default);
        Assert.Equal(5, (await CustomerOf(IdType.MemberId, "M2")).Stats.Orders);
    }

    [Fact]
    public async Task Each_customer_keeps_one_state_row_however_often_it_saves()
    {
        var handler = _akka.Handler();
        var ids = new CustomerIds { MemberId = "M3" };
        for (var i = 0; i < 4; i++)
        {
            await handler.HandleAsync(Events.Ingested(Events.Order($"s{i}", ids, 1m, minute: i)), default);
        }
        var customer = await CustomerOf(IdType.MemberId, "M3");
        await using var db = new SqliteConnection($"Data Source={_akka.DatabasePath}");
        await db.OpenAsync();
        var count = new SqliteCommand("SELECT COUNT(*) FROM siyu_customers WHERE customer_id = $p", db);
        count.Parameters.AddWithValue("$p", customer.CustomerId);
        Assert.Equal(1L, (long)(await count.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task An_event_linking_two_customers_merges_them_into_the_older()
    {
        var handler = _akka.Handler();
        await handler.HandleAsync(Events.Ingested(Events.Order("m1", new CustomerIds { MemberId = "M4" }, 100m)), default);
        await Task.Delay(5); // creation order decides age
        await handler.HandleAsync(Events.Ingested(Events.Order("m2", new CustomerIds { OpenId = "o4" }, 20m, minute: 1)), default);
        var older = await CustomerOf(IdType.MemberId, "M4");
        var younger = await CustomerOf(IdType.OpenId, "o4");
        Assert.NotEqual(older.CustomerId, younger.CustomerId);

        await handler.HandleAsync(Events.Ingested(Events.Join("m3", new CustomerIds { MemberId = "M4", OpenId = "o4" }, "GR9")), default);

        var survivor = await CustomerOf(IdType.OpenId, "o4");
        Assert.Equal(older.CustomerId, survivor.CustomerId);
        Assert.Equal(2, survivor.Stats.Orders);
        Assert.Equal(120m, survivor.Stats.Revenue);
        Assert.Contains(younger.CustomerId, survivor.MergedFrom);
        var absorbed = await _akka.Customers.Ask<CustomerState>(new GetCustomer(younger.CustomerId), ActorSystemFixture.AskTimeout);
        Assert.Equal(older.CustomerId, absorbed.MergedInto);
        // Later events for the absorbed customer's ids reach the survivor.
        await handler.HandleAsync(Events.Ingested(Events.Order("m4", new CustomerIds { OpenId = "o4" }, 5m, minute: 9)), default);
        Assert.Equal(3, (await CustomerOf(IdType.MemberId, "M4")).Stats.Orders);
    }

    [Fact]
    public async Task A_new_id_seen_beside_a_known_one_joins_that_customer_without_a_merge()
    {
        var handler = _akka.Handler();
        await handler.HandleAsync(Events.Ingested(Events.Order("j1", new CustomerIds { MemberId = "J1" }, 1m)), default);
        await handler.HandleAsync(Events.Ingested(Events.Order("j2", new CustomerIds { MemberId = "J1", OpenId = "j1-open" }, 2m, minute: 1)), default);
        var customer = await CustomerOf(IdType.OpenId, "j1-open");
        Assert.Equal((await CustomerOf(IdType.MemberId, "J1")).CustomerId, customer.CustomerId);
        Assert.Empty(customer.MergedFrom);
        Assert.Equal(2, customer.Stats.Orders);
    }

    [Fact]
    public async Task A_shared_device_does_not_merge_the_shoppers_who_used_it()
    {
        var handler = _akka.Handler();
        await handler.HandleAsync(Events.Ingested(Events.Order("t1", new CustomerIds { MemberId = "M5", DeviceId = "tablet-S001" }, 1m)), default);
        await handler.HandleAsync(Events.Ingested(Events.Order("t2", new CustomerIds { MemberId = "M6", DeviceId = "tablet-S001" }, 2m)), default);
        var a = await CustomerOf(IdType.MemberId, "M5");
        var b = await CustomerOf(IdType.MemberId, "M6");
        Assert.NotEqual(a.CustomerId, b.CustomerId);
        Assert.Equal(1m, a.Stats.Revenue);
        Assert.Equal(2m, b.Stats.Revenue);
    }

    [Fact]
    public async Task Concurrent_events_with_overlapping_new_ids_end_with_one_customer_per_person()
    {
        var handler = _akka.Handler();
        const int people = 12;
        var rng = new Random(7);
        var events = new List<InputEvent>();
        for (var p = 0; p < people; p++)
        {
            // Each person shows up with different subsets of their ids, none seen before.
            CustomerIds[] views =
            [
                new() { MemberId = $"RM{p}", Phone = $"h1:{p:x64}" },
                new() { Phone = $"h1:{p:x64}", OpenId = $"ro{p}" },
                new() { OpenId = $"ro{p}", ExternalUserId = $"rx{p}" },
                new() { ExternalUserId = $"rx{p}" },
                new() { MemberId = $"RM{p}" },
            ];
            for (var v = 0; v < views.Length; v++)
            {
                events.Add(Events.Order($"race-{p}-{v}", views[v], 1m, minute: v));
            }
        }
        await Task.WhenAll(events.OrderBy(_ => rng.Next()).Select(e => handler.HandleAsync(Events.Ingested(e), default)));

        var survivors = new HashSet<string>();
        var orders = 0;
        for (var p = 0; p < people; p++)
        {
            var byMember = await CustomerOf(IdType.MemberId, $"RM{p}");
            Assert.Equal(byMember.CustomerId, (await CustomerOf(IdType.ExternalUserId, $"rx{p}")).CustomerId);
            Assert.Equal(byMember.CustomerId, (await CustomerOf(IdType.OpenId, $"ro{p}")).CustomerId);
            survivors.Add(byMember.CustomerId);
            orders += byMember.Stats.Orders;
        }
        Assert.Equal(people, survivors.Count);
        Assert.Equal(events.Count, orders);
    }

    [Fact]
    public async Task Events_whose_ids_are_all_blocked_values_are_rejected_for_the_dead_letter_topic()
    {
        var ex = await Assert.ThrowsAsync<EventRejectedException>(async () =>
            await _akka.Handler().HandleAsync(Events.Ingested(Events.Order("b1", new CustomerIds { MemberId = "null", DeviceId = "0" }, 1m)), default));
        Assert.Equal(RejectReason.NoUsableIds, ex.Reason);
    }

    [Fact]
    public async Task An_unmatched_refund_waits_for_the_earlier_events_of_its_partition_before_it_is_rejected()
    {
        // Its order is earlier in the partition but still under way (after a node crash its hand-off
        // is retried only after the ask timeout): the refund must not be rejected meanwhile.
        var handler = _akka.Handler(refundGrace: TimeSpan.FromMilliseconds(100));
        var ids = new CustomerIds { MemberId = "M9" };
        await handler.HandleAsync(Events.Ingested(Events.Order("w0", ids, 1m)), default);
        var orderDone = new TaskCompletionSource();
        var refund = handler.HandleAsync(Events.Ingested(Events.Refund("w2", ids, "O-W1", 20m)) with { EarlierEventsDone = () => orderDone.Task }, default);
        await Task.Delay(500); // well past the grace period
        Assert.False(refund.IsCompleted);
        await handler.HandleAsync(Events.Ingested(Events.Order("w1", ids, 50m, orderId: "O-W1", minute: 1)), default);
        orderDone.SetResult();
        await refund;
        var customer = await CustomerOf(IdType.MemberId, "M9");
        Assert.Equal((1, 20m, 31m), (customer.Stats.Refunds, customer.Stats.RefundAmount, customer.Stats.Revenue));
    }

    [Fact]
    public async Task A_refund_is_matched_to_its_order_and_one_for_an_unknown_order_is_rejected_after_the_grace_period()
    {
        var handler = _akka.Handler(refundGrace: TimeSpan.FromMilliseconds(100));
        var ids = new CustomerIds { MemberId = "M7" };
        await handler.HandleAsync(Events.Ingested(Events.Order("f1", ids, 50m, orderId: "O-77")), default);
        await handler.HandleAsync(Events.Ingested(Events.Refund("f2", ids, "O-77", 20m)), default);
        var customer = await CustomerOf(IdType.MemberId, "M7");
        Assert.Equal(30m, customer.Stats.Revenue);

        var ex = await Assert.ThrowsAsync<EventRejectedException>(async () =>
            await handler.HandleAsync(Events.Ingested(Events.Refund("f3", ids, "O-NEVER", 5m)), default));
        Assert.Equal(RejectReason.RefundUnmatched, ex.Reason);
    }
}
