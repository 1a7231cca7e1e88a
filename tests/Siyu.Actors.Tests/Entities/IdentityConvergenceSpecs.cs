using System.Diagnostics;
using Siyu.Actors.Customers;
using Siyu.Actors.Identity;
using Siyu.Actors.Ingestion;
using Siyu.Actors.Tests.Identity;
using Siyu.Contracts.Events;
using Siyu.Ingest;
using Xunit.Abstractions;

namespace Siyu.Actors.Tests.Entities;

/// <summary>
/// Issue 18, through the real resolver and a real cluster: the same generated population (people
/// with personal and shared devices, phones, unionids, app logins, WeCom links) in several random
/// orders, each order split over three resolvers and handlers at once (three nodes' worth of
/// concurrent claims and merges against one identity index and one set of customers). Every
/// run must end with the customers the truth computed from the events says, each holding exactly
/// its own orders. Runs use their own id prefix, so they share the cluster but no customer.
/// </summary>
public sealed class IdentityConvergenceSpecs(ITestOutputHelper output) : IAsyncLifetime
{
    private const int Runs = 8;
    private const int Nodes = 3;
    private readonly ActorSystemFixture _akka = new();

    public async Task InitializeAsync() => await _akka.StartAsync();
    public async Task DisposeAsync() => await _akka.DisposeAsync();

    [Fact]
    public async Task Concurrent_resolvers_in_random_orders_converge_on_the_same_customers_and_orders()
    {
        var rng = new Random(1818);
        for (var run = 0; run < Runs; run++)
        {
            var population = IdentityPopulation.Generate(seed: 21, people: 30, stores: 2, prefix: $"r{run}-");
            var events = population.Events.ToArray();
            rng.Shuffle(events);
            var watch = Stopwatch.StartNew();
            await ProcessConcurrently(events, rng);
            var problems = population.Mismatches(await Outcome(population));
            output.WriteLine($"run {run}: {events.Length} events over {Nodes} resolvers in {watch.ElapsedMilliseconds} ms, "
                + $"{population.Expected.Count} customers ({population.TabletUsers} tablet users), {problems.Count} differences");
            Assert.True(problems.Count == 0, $"run {run}: {problems.Count} customers differ from the truth:\n{string.Join('\n', problems.Take(10))}");
        }
    }

    /// <summary>Round-robin chunks of 1-8 events to each node's handler, all in flight at once.</summary>
    private async Task ProcessConcurrently(InputEvent[] events, Random rng)
    {
        var handlers = Enumerable.Range(0, Nodes).Select(_ => new CustomerEventHandler(
            new IdentityResolver(_akka.Identities, _akka.Customers, _akka.Options.Rules, ActorSystemFixture.MaxShards, ActorSystemFixture.AskTimeout, _akka.Options.Clock),
            _akka.Customers, _akka.System, ActorSystemFixture.MaxShards, ActorSystemFixture.AskTimeout, TimeSpan.FromMilliseconds(200))).ToList();
        try
        {
            var pending = new List<Task>();
            var node = 0;
            for (var i = 0; i < events.Length;)
            {
                var chunk = events.Skip(i).Take(rng.Next(1, 9)).Select(Events.Ingested).ToList();
                i += chunk.Count;
                pending.AddRange(handlers[node++ % Nodes].Handle(chunk, default));
                if (rng.Next(4) == 0)
                {
                    await Task.Yield();
                }
            }
            await Task.WhenAll(pending).WaitAsync(TimeSpan.FromMinutes(2));
        }
        finally
        {
            handlers.ForEach(h => h.Dispose());
        }
    }

    /// <summary>
    /// The customers as the lookups show them: every strong id's customer and every anonymous
    /// device's, grouped by customer, with the orders each holds (read back from the order keys).
    /// Also checks that each customer holds exactly the strong ids that lead to it.
    /// </summary>
    private async Task<Dictionary<string, ExpectedCustomer>> Outcome(IdentityPopulation population)
    {
        var orderIds = population.Events.OfType<OrderPlaced>().ToDictionary(o => EventKeys.Order(o.OrderId), o => o.OrderId);
        var ids = new HashSet<(IdType Type, string Value)>();
        foreach (var e in population.Events)
        {
            var all = e.Ids.All().ToList();
            var strong = all.Where(i => i.Type != IdType.DeviceId).ToList();
            ids.UnionWith(strong.Count > 0 ? strong : all); // a weak-only event is found through its device
        }
        var groups = new Dictionary<string, (CustomerState State, List<IdentityPopulation.LinkedIdText> Ids)>(StringComparer.Ordinal);
        foreach (var (type, value) in ids)
        {
            var state = await _akka.Lookup.ByIdAsync(type, value, default);
            Assert.True(state is not null, $"{type.WireName()}={value} leads to no customer");
            if (!groups.TryGetValue(state!.CustomerId, out var group))
            {
                groups[state.CustomerId] = group = (state, []);
            }
            group.Ids.Add(new IdentityPopulation.LinkedIdText(type, value));
        }
        var result = new Dictionary<string, ExpectedCustomer>(StringComparer.Ordinal);
        foreach (var (customerId, (state, found)) in groups)
        {
            var key = IdentityPopulation.CustomerKey(found);
            var held = IdentityPopulation.CustomerKey(state.Ids.Select(i => new IdentityPopulation.LinkedIdText(i.Type, i.Value)));
            Assert.True(key.StartsWith("anonymous ", StringComparison.Ordinal) || held == key, $"customer {customerId} holds {held}, its ids lead to it: {key}");
            var orders = state.RecentOrders.Select(o => orderIds.TryGetValue(o.Key, out var id) ? id : $"?{o.Key:x}").Order(StringComparer.Ordinal).ToList();
            Assert.Equal(orders.Count, state.Stats.Orders);
            result[key] = new ExpectedCustomer(key, orders, state.Stats.Revenue);
        }
        return result;
    }
}
