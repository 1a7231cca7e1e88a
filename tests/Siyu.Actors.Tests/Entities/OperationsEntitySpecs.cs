using System.Collections.Concurrent;
using Akka.Actor;
using Siyu.Ingest;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Operations;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Entities;

/// <summary>A clock the test moves; the actors read it, the timers of Akka stay real.</summary>
public sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private long _ticks = start.UtcTicks;

    public override DateTimeOffset GetUtcNow() => new(Interlocked.Read(ref _ticks), TimeSpan.Zero);

    public void Advance(TimeSpan by) => Interlocked.Add(ref _ticks, by.Ticks);
}

/// <summary>Records what customers hand to the operations publisher (the boundary where Kafka and ClickHouse start).</summary>
public sealed class RecordingOperationsPublisher : IOperationsPublisher
{
    public ConcurrentQueue<(string CustomerId, OperationsNotice Notice)> Published { get; } = new();

    /// <summary>While set, every publication fails (a broker or ClickHouse outage).</summary>
    public volatile bool Failing;

    public Task PublishAsync(string customerId, IReadOnlyList<OperationsNotice> notices, CancellationToken cancellationToken)
    {
        if (Failing)
        {
            return Task.FromException(new InvalidOperationException("publisher down"));
        }
        foreach (var n in notices)
        {
            Published.Enqueue((customerId, n));
        }
        return Task.CompletedTask;
    }

    public List<OperationsNotice> Of(string kind) => Published.Select(p => p.Notice).Where(n => n.Kind == kind).ToList();
}

/// <summary>
/// Service timers on the real single-node cluster with the SQLite journal: a customer that is
/// not in memory (passivated, or the whole system restarted) is woken by its shard's scan of the store
/// at its due time, and a task fires once.
/// </summary>
public sealed class OperationsEntitySpecs : IAsyncLifetime
{
    private static readonly DateTimeOffset T0 = Events.T0;
    private readonly ManualClock _clock = new(T0.AddMinutes(1));
    private readonly RecordingOperationsPublisher _published = new();
    private readonly ActorSystemFixture _akka;

    public OperationsEntitySpecs()
    {
        var rules = CustomerRules.Default with
        {
            Operations = OperationsRules.Default with
            {
                ServiceTasks = [new("comfort_check", TimeSpan.FromHours(1)), new("cleaning", TimeSpan.FromDays(21))],
            },
        };
        _akka = new ActorSystemFixture(
            options: new CustomerEntityOptions { Rules = rules, Clock = _clock, Operations = _published },
            passivateIdleAfter: TimeSpan.FromSeconds(5));
    }

    public async Task InitializeAsync() => await _akka.StartAsync();
    public async Task DisposeAsync() => await _akka.DisposeAsync();

    private async Task<string> BuyAsync(string memberId)
    {
        // Retried like ingest retries a handler failure (a cold start on a fresh journal can be slow).
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _akka.Handler().HandleAsync(Events.Ingested(Events.Order("o-" + memberId, new CustomerIds { MemberId = memberId }, 5000m)), default);
                break;
            }
            catch (AskTimeoutException) when (attempt < 3)
            {
            }
        }
        return (await _akka.CustomerOf(IdType.MemberId, memberId)).CustomerId;
    }

    private Task<bool> IsResident(string customerId) => Task.FromResult(_akka.Options.Resident.TryGet(customerId, out _));

    /// <summary>The customer's next wake as saved with its state (what the shard's scan of the store finds).</summary>
    private async Task<List<DateTimeOffset>> WakesOf(string customerId) =>
        await _akka.NextWakeAsync(customerId) is { } next ? [next] : [];

    private static async Task Eventually(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting until " + what);
            await Task.Delay(100);
        }
    }

    [Fact]
    public async Task A_passivated_customer_is_woken_by_the_due_index_and_its_task_fires_once()
    {
        var id = await BuyAsync("M-passive");
        await Eventually(async () => !await IsResident(id), "the idle customer is passivated");
        // Its first save also carried a wake for its profile changes until Kafka confirmed them;
        // the save before it left memory wrote the confirmed outbox, and the task's wake alone.
        Assert.Equal([T0.AddHours(1)], await WakesOf(id));

        _clock.Advance(TimeSpan.FromHours(1));

        await Eventually(() => Task.FromResult(_published.Of(NoticeKinds.ServiceDue).Count == 1), "service_due is published");
        var due = Assert.Single(_published.Of(NoticeKinds.ServiceDue));
        Assert.Equal(("comfort_check", T0.AddHours(1)), (due.Task, due.DueAt!.Value));
        var state = await _akka.Customers.Ask<CustomerState>(new GetCustomer(id), ActorSystemFixture.AskTimeout);
        Assert.True(Assert.Single(state.Ops.Tasks, t => t.Task == "comfort_check").Fired);
        // The consumed entry is gone; the next one (the missed deadline, day 14) is registered.
        await Eventually(async () => (await WakesOf(id)).All(w => w > T0.AddHours(1)), "the fired wake is removed");
        await Task.Delay(500); // several more index checks: nothing fires again
        Assert.Single(_published.Of(NoticeKinds.ServiceDue));
    }

    [Fact]
    public async Task Timers_survive_a_restart_of_the_actor_system_and_fire_once()
    {
        var id = await BuyAsync("M-restart");
        await _akka.RestartAsync(); // nothing resident; the next wake is in the store

        _clock.Advance(TimeSpan.FromHours(1));
        await Eventually(() => Task.FromResult(_published.Of(NoticeKinds.ServiceDue).Count >= 1), "service_due after the restart");
        // Restart again once the outbox is emptied (the hand-off saves it): the fired task stays fired.
        await Eventually(async () =>
            (await _akka.Customers.Ask<CustomerState>(new GetCustomer(id), ActorSystemFixture.AskTimeout)).Ops.Outbox.IsEmpty,
            "the outbox is emptied");
        await _akka.RestartAsync();
        _clock.Advance(TimeSpan.FromMinutes(10));
        var state = await _akka.Customers.Ask<CustomerState>(new GetCustomer(id), ActorSystemFixture.AskTimeout);
        Assert.True(Assert.Single(state.Ops.Tasks, t => t.Task == "comfort_check").Fired);
        await Task.Delay(500);
        Assert.Single(_published.Of(NoticeKinds.ServiceDue));
    }

    [Fact]
    public async Task Notices_saved_but_not_published_before_a_restart_are_published_after_it()
    {
        var id = await BuyAsync("M-outbox");
        _published.Failing = true;
        _clock.Advance(TimeSpan.FromHours(1));
        await Eventually(async () =>
            (await _akka.Customers.Ask<CustomerState>(new GetCustomer(id), ActorSystemFixture.AskTimeout)).Ops.Tasks.Any(t => t.Fired),
            "the task fires while the publisher is down");
        Assert.Empty(_published.Of(NoticeKinds.ServiceDue));
        // The stored next wake moves on only with the tick's saved state: then it is durable.
        await Eventually(async () => (await WakesOf(id)).All(w => w > T0.AddHours(1)), "the fired state is saved");

        await _akka.RestartAsync();
        _published.Failing = false;
        var state = await _akka.Customers.Ask<CustomerState>(new GetCustomer(id), ActorSystemFixture.AskTimeout); // starts it
        Assert.True(Assert.Single(state.Ops.Tasks, t => t.Task == "comfort_check").Fired); // recovered fired, not fired again
        await Eventually(() => Task.FromResult(_published.Of(NoticeKinds.ServiceDue).Count >= 1), "the saved notice is published on recovery");
        Assert.Single(_published.Of(NoticeKinds.ServiceDue).Select(n => n.Id).Distinct());
        Assert.Equal($"{id}/service_due/", _published.Of(NoticeKinds.ServiceDue)[0].Id[..(id.Length + 13)]);
        await Eventually(async () =>
            (await _akka.Customers.Ask<CustomerState>(new GetCustomer(id), ActorSystemFixture.AskTimeout)).Ops.Outbox.IsEmpty,
            "the published notice leaves the outbox");
    }
}
