using System.Text.Json.Nodes;
using Siyu.Reliability.Tests.Support;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 18 end to end: the shared-tablet scenario written as one file per channel and produced
/// with every file at once (four `siyu produce` processes started together), into `siyu run`.
/// Before the fix, a tablet shopper's lookup by app_user_id returned someone else's orders and
/// two members ended in one profile. Now each member is one customer holding exactly their own
/// orders, whichever of their ids the POS looks them up by, and `siyu check-identity` finds no
/// customer holding two people's ids. A node with the rules before the fix (device_id strong,
/// `Identity:WeakIdTypes=none`) mixes members again, and the check names exactly those customers.
/// </summary>
public sealed class SharedTabletTests(ITestOutputHelper output) : IDisposable
{
    private readonly WorkDirectory _work = new("siyu-tablet-", output);

    [Theory]
    [InlineData(1801)]
    [InlineData(1802)]
    public async Task Every_file_at_once_gives_one_customer_per_member_with_exactly_their_own_orders(int seed)
    {
        using var kafka = new TestKafka(partitions: 4);
        var scenario = TabletScenario.Generate(seed, tabletMembers: 7, others: 400, prefix: $"tab{seed}");
        output.WriteLine($"seed {seed}: {scenario.Events} events, {scenario.People.Count} people, "
            + $"{scenario.People.Count(p => p.UsedTablet)} on the tablet, {scenario.AnonymousOrders} anonymous tablet orders");
        using var node = new NodeProcess(NodeProcess.Env(kafka.Bootstrap, _work.Path));
        await node.WaitHealthyAsync();
        await ProduceAllAtOnce(kafka, scenario, node);

        var problems = await Mismatches.Eventually(() => Check(node, scenario), seconds: 60);
        Assert.True(problems.Count == 0, $"{problems.Count} problems:\n{string.Join('\n', problems.Take(20))}");
        Assert.Equal(0, await node.MetricAsync("siyu_deadletters_total{"));

        var (exit, stdout, stderr) = await CheckIdentity(kafka, node, json: false);
        output.WriteLine(stdout.Split('\n').FirstOrDefault(l => l.Contains("people by", StringComparison.Ordinal)) ?? stdout);
        Assert.True(exit == 0, $"siyu check-identity exited {exit}:\n{stdout}\n{stderr}");
        Assert.Contains("no customer holds ids of more than one person", stdout, StringComparison.Ordinal);
        Assert.Contains($"{scenario.People.Count} people by the strong ids", stdout, StringComparison.Ordinal);
        _work.Passed = true;
    }

    [Fact]
    public async Task Check_identity_names_exactly_the_customers_a_node_with_the_old_rule_mixed()
    {
        using var kafka = new TestKafka(partitions: 4);
        var scenario = TabletScenario.Generate(1803, tabletMembers: 12, others: 60, prefix: "old1803");
        var env = NodeProcess.Env(kafka.Bootstrap, _work.Path);
        env["SIYU_Identity__WeakIdTypes"] = "none"; // the rules of a node before issue 18: device_id links
        using var node = new NodeProcess(env);
        await node.WaitHealthyAsync();
        await ProduceAllAtOnce(kafka, scenario, node);

        // The customers the lookups show holding more than one person, once they stop changing.
        var mixed = await Mixed(node, scenario);
        for (var settled = 0; settled < 3;)
        {
            await Task.Delay(1000);
            var again = await Mixed(node, scenario);
            settled = again.SetEquals(mixed) ? settled + 1 : 0;
            mixed = again;
        }
        output.WriteLine($"the old rule mixed {mixed.Count} customers: {string.Join(", ", mixed)}");
        Assert.True(mixed.Count > 0, "the old rule mixed no one this time: the check has nothing to find");

        var (exit, stdout, stderr) = await CheckIdentity(kafka, node, json: true);
        Assert.True(exit == 1, $"siyu check-identity exited {exit}, expected 1 (found):\n{stdout}\n{stderr}");
        var report = JsonNode.Parse(stdout)!;
        var found = report["mixed"]!.AsArray().Select(m => (string)m!["customer_id"]!).ToHashSet(StringComparer.Ordinal);
        Assert.True(found.SetEquals(mixed), $"check-identity found [{string.Join(", ", found.Order())}], the lookups show [{string.Join(", ", mixed.Order())}]");
        foreach (var m in report["mixed"]!.AsArray())
        {
            // Each person named is one member of the scenario, by their own member id.
            var members = m!["people"]!.AsArray().Select(p => p!["ids"]!["member_id"]?.AsArray().Single()?.GetValue<string>()).ToList();
            Assert.True(members.Count >= 2 && members.All(x => x is not null) && members.Distinct().Count() == members.Count, m.ToJsonString());
        }
        Assert.Equal(scenario.People.Count, (int)report["people"]!);
        _work.Passed = true;
    }

    private async Task ProduceAllAtOnce(TestKafka kafka, TabletScenario scenario, NodeProcess node)
    {
        var producing = scenario.Write(_work.Path).Select(f =>
            SiyuProcess.RunAsync(["produce", f.Path, "--topic", f.Channel, "--bootstrap", kafka.Bootstrap], timeoutSeconds: 120)).ToList();
        foreach (var (exit, _, stderr) in await Task.WhenAll(producing))
        {
            Assert.True(exit == 0, $"siyu produce exited {exit}: {stderr}");
        }
        var handled = await node.WaitHandledAsync(scenario.Events, seconds: 180);
        Assert.True(handled >= scenario.Events, $"the node handled {handled} of {scenario.Events} messages\n{node.Process.Tail()}");
    }

    private static Task<(int Exit, string Stdout, string Stderr)> CheckIdentity(TestKafka kafka, NodeProcess node, bool json) =>
        SiyuProcess.RunAsync(
            ["check-identity", "--bootstrap", kafka.Bootstrap, "--api", $"http://127.0.0.1:{node.ApiPort}", "--api-key", TestApiKeys.Pos, .. json ? new[] { "--json" } : []],
            new Dictionary<string, string> { ["SIYU_Privacy__PhoneHashKey"] = NodeProcess.PhoneKey }, timeoutSeconds: 120);

    /// <summary>Customers that a lookup by the ids of two people leads to, or whose profile holds another person's id.</summary>
    private static async Task<HashSet<string>> Mixed(NodeProcess node, TabletScenario scenario)
    {
        var people = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        var personOf = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var p in scenario.People)
        {
            foreach (var id in new[] { p.MemberId, p.AppUserId, p.OpenId })
            {
                if (id is not null)
                {
                    personOf[id] = p.MemberId;
                }
            }
        }
        foreach (var p in scenario.People)
        {
            foreach (var (type, value) in new[] { ("member_id", p.MemberId), ("app_user_id", p.AppUserId), ("openid", p.OpenId) })
            {
                if (value is null || await node.GetJsonAsync($"/v1/customers/lookup?{type}={Uri.EscapeDataString(value)}") is not { } profile)
                {
                    continue;
                }
                var id = (string)profile["customer_id"]!;
                if (!people.TryGetValue(id, out var set))
                {
                    people[id] = set = new HashSet<string>(StringComparer.Ordinal);
                }
                set.Add(p.MemberId);
                foreach (var held in new[] { "member_id", "app_user_id", "openid" }.SelectMany(t => profile["ids"]?[t]?.AsArray() ?? []))
                {
                    if (personOf.TryGetValue((string)held!, out var other))
                    {
                        set.Add(other);
                    }
                }
            }
        }
        return people.Where(kv => kv.Value.Count > 1).Select(kv => kv.Key).ToHashSet(StringComparer.Ordinal);
    }

    /// <summary>Every person through each of their ids: one customer, that member only, exactly their orders.</summary>
    private static async Task<List<string>> Check(NodeProcess node, TabletScenario scenario)
    {
        var problems = new List<string>();
        var customers = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var person in scenario.People)
        {
            var byMember = await node.GetJsonAsync($"/v1/customers/lookup?member_id={Uri.EscapeDataString(person.MemberId)}");
            if (byMember is null)
            {
                problems.Add($"{person.MemberId}: not found");
                continue;
            }
            var id = (string)byMember["customer_id"]!;
            if (customers.TryGetValue(id, out var other))
            {
                problems.Add($"{person.MemberId} and {other} are one customer {id}");
            }
            customers[id] = person.MemberId;
            var members = byMember["ids"]?["member_id"]?.AsArray().Select(m => (string)m!).ToList() ?? [];
            if (members.Count != 1 || members[0] != person.MemberId)
            {
                problems.Add($"{person.MemberId}: the profile holds member ids [{string.Join(", ", members)}]");
            }
            var orders = (int)byMember["stats"]!["orders"]!;
            var revenue = (decimal)byMember["stats"]!["revenue"]!;
            if (orders != person.Orders.Count || revenue != person.Revenue)
            {
                problems.Add($"{person.MemberId}{(person.UsedTablet ? " (tablet)" : "")}: expected {person.Orders.Count} orders, {person.Revenue} yuan; got {orders}, {revenue}");
            }
            foreach (var (type, value) in new[] { ("app_user_id", person.AppUserId), ("openid", person.OpenId) })
            {
                if (value is null)
                {
                    continue;
                }
                var viaOther = await node.GetJsonAsync($"/v1/customers/lookup?{type}={Uri.EscapeDataString(value)}");
                if (viaOther is null || (string)viaOther["customer_id"]! != id)
                {
                    problems.Add($"{person.MemberId}: lookup by {type} {value} gives {(viaOther is null ? "nothing" : (string)viaOther["customer_id"]!)}, not {id}");
                }
            }
            if (person.AppUserId is { } app && byMember["ids"]?["app_user_id"] is JsonArray apps
                && apps.Select(a => (string)a!).Any(a => a != app))
            {
                problems.Add($"{person.MemberId}: holds another person's app_user_id: [{string.Join(", ", apps)}]");
            }
        }
        return problems;
    }

    public void Dispose() => _work.Dispose();
}
