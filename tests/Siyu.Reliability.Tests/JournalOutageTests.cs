using System.Net;
using Siyu.Reliability.Tests.Support;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 7.3, journal failure: `siyu run` on the production journal (PostgreSQL) while that
/// server is stopped mid-stream (pg_ctl stop -m fast) for 20 s as events keep arriving, then
/// started again on the same data. The customers it hits stop saving (and acknowledging), resume
/// when it is back, and ClickHouse, the profiles and siyu.profiles equal the truth computed from
/// the input; nothing is dead-lettered; /health names the journal while it is down. And a
/// kill -9 during the outage loses nothing.
/// </summary>
public sealed class JournalOutageTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20261126;
    private static readonly TimeSpan Outage = TimeSpan.FromSeconds(20);
    private readonly WorkDirectory _work = new("siyu-pgdown-", output);

    [Fact]
    public async Task Customers_stop_while_postgresql_is_down_and_resume_with_exact_totals()
    {
        using var postgres = new PostgresServer();
        using var kafka = new TestKafka(partitions: 4);
        var set = EventSet.Generate(Seed, customers: 120, prefix: "pgj");
        await kafka.SendCampaignsAsync(set);
        output.WriteLine($"seed {Seed}: {set.Events.Count} events ({set.Duplicates} duplicates), {set.Customers.Count} customers");

        const string group = "siyu-pgdown";
        var env = NodeProcess.Env(kafka.Bootstrap, _work.Path, group);
        env["SIYU_Journal__Provider"] = "postgresql";
        env["SIYU_Journal__ConnectionString"] = postgres.ConnectionString;
        using var node = new NodeProcess(env);
        await node.WaitHealthyAsync();

        var before = set.Events.Take(set.Events.Count * 2 / 5).ToList();
        var during = set.Events.Skip(before.Count).Take(set.Events.Count / 3).ToList();
        var after = set.Events.Skip(before.Count + during.Count).ToList();
        foreach (var e in before)
        {
            await kafka.SendAsync(e);
            await Task.Delay(10);
        }
        var handled = await node.WaitHandledAsync(before.Count / 2);
        Assert.True(handled > 0, "the node handled nothing before the outage\n" + node.Process.Tail());

        postgres.Stop();
        var down = DateTime.UtcNow;
        output.WriteLine($"postgresql stopped with {handled} handled of {before.Count} sent");
        // Events keep arriving through the outage, at a steady pace.
        var pace = Outage / during.Count;
        var sending = Task.Run(async () =>
        {
            foreach (var e in during)
            {
                await kafka.SendAsync(e);
                await Task.Delay(pace);
            }
        });
        var health = new List<(double At, HttpStatusCode? Status)>();
        while (DateTime.UtcNow - down < Outage)
        {
            health.Add(((DateTime.UtcNow - down).TotalSeconds, await HealthAsync(node)));
            await Task.Delay(1000);
        }
        await sending;
        var handledDown = await node.HandledAsync();
        var uncommitted = kafka.Uncommitted(group);
        Assert.False(node.Process.HasExited, "siyu run exited while PostgreSQL was down\n" + node.Process.Tail());
        postgres.Start();
        var up = DateTime.UtcNow;
        output.WriteLine($"postgresql started after {(up - down).TotalSeconds:0} s: {handledDown} handled by then, {uncommitted} messages uncommitted, {during.Count} sent meanwhile");
        output.WriteLine("/health during the outage: " + string.Join(", ", health.Select(h => $"{h.At:0}s {(int?)h.Status}")));

        var healthyAgain = Task.Run(async () =>
        {
            while (await HealthAsync(node) != HttpStatusCode.OK && DateTime.UtcNow - up < TimeSpan.FromSeconds(150))
            {
                await Task.Delay(250);
            }
            return DateTime.UtcNow - up;
        });
        foreach (var e in after)
        {
            await kafka.SendAsync(e);
        }
        var campaigns = await Mismatches.Eventually(() => Truth.CampaignMismatches(node, set), seconds: 150);
        output.WriteLine($"ClickHouse exact {(DateTime.UtcNow - up).TotalSeconds:0} s after postgresql started; /health 200 again after {(await healthyAgain).TotalSeconds:0.0} s");
        var customers = await Mismatches.Eventually(() => Truth.CustomerMismatches(node, set), seconds: 60);
        var topic = await Mismatches.Eventually(() => Task.FromResult(Truth.TopicMismatches(kafka, set)), seconds: 30);
        var healthy = await HealthAsync(node);
        output.WriteLine($"after recovery: handled {await node.HandledAsync()} messages, /health {(int?)healthy}, {kafka.Uncommitted(group)} uncommitted");

        var log = node.Process.Stdout + node.Process.Stderr;
        File.WriteAllText(Path.Combine(_work.Path, "node.log"), log);
        output.WriteLine($"mismatches: {campaigns.Count} campaign, {customers.Count} customer, {topic.Count} topic: "
            + string.Join("; ", campaigns.Concat(customers).Concat(topic).Take(10)));
        var saveFailures = log.Split('\n').Count(l => l.Contains("Saving customer", StringComparison.Ordinal) && l.Contains("failed", StringComparison.Ordinal));
        foreach (var refused in log.Split('\n').Where(l => l.Contains("circuit breaker refused", StringComparison.Ordinal)).Take(3))
        {
            output.WriteLine("store: " + refused[..Math.Min(refused.Length, 300)]);
        }
        // The store says so once per outage, and once when it is over (the per-probe health log is off since 94ce205).
        var journalUnhealthy = log.Split('\n').FirstOrDefault(l => l.Contains("Customer store: a transaction of", StringComparison.Ordinal));
        var journalBack = log.Split('\n').FirstOrDefault(l => l.Contains("Customer store: writes committed again", StringComparison.Ordinal));
        output.WriteLine($"log: {saveFailures} 'Saving customer ... failed' lines, {log.Split('\n').Count(l => l.Contains("circuit breaker refused", StringComparison.Ordinal))} 'circuit breaker refused' lines, {log.Split('\n').Length} lines in all; store outage line: {journalUnhealthy}; recovery line: {journalBack}");

        Assert.True(campaigns.Count == 0, "ClickHouse (live campaign API) differs from the input:\n" + string.Join('\n', campaigns.Take(20)) + "\n" + node.Process.Tail());
        Assert.True(customers.Count == 0, "profiles (lookup API) differ from the input:\n" + string.Join('\n', customers.Take(20)));
        Assert.True(topic.Count == 0, "siyu.profiles differs from the input:\n" + string.Join('\n', topic.Take(20)));
        var deadLetters = kafka.ReadAll(kafka.Topics.DeadLetter);
        Assert.True(deadLetters.Count == 0, $"{deadLetters.Count} valid events dead-lettered, first: {System.Text.Encoding.UTF8.GetString(deadLetters.FirstOrDefault().Value ?? [])}");
        Assert.False(node.Process.HasExited);
        // The outage really held acknowledgements: what arrived meanwhile stayed uncommitted.
        Assert.True(uncommitted > 0, "nothing was left uncommitted while PostgreSQL was down: the outage did not bite");
        Assert.True(saveFailures > 0, "no customer's save failed: the outage did not reach the customers");
        Assert.Contains(HttpStatusCode.ServiceUnavailable, health.Select(h => h.Status));
        Assert.NotNull(journalUnhealthy);
        Assert.NotNull(journalBack);
        Assert.Equal(HttpStatusCode.OK, healthy);
        _work.Passed = true;
    }

    /// <summary>
    /// What an outage must never do: acknowledge an event whose state was not saved. The node is
    /// killed (SIGKILL) while PostgreSQL is down, with events applied in memory and unsaved; a new
    /// node on the same journal must find them redelivered, not committed and gone.
    /// </summary>
    [Fact]
    public async Task Kill_9_while_postgresql_is_down_loses_nothing()
    {
        using var postgres = new PostgresServer { Keep = true }; // until the test passes
        output.WriteLine($"postgresql data: {postgres.DataDirectory}");
        using var kafka = new TestKafka(partitions: 4);
        var set = EventSet.Generate(Seed + 1, customers: 80, prefix: "pgk");
        await kafka.SendCampaignsAsync(set);
        output.WriteLine($"seed {Seed + 1}: {set.Events.Count} events ({set.Duplicates} duplicates), {set.Customers.Count} customers");

        const string group = "siyu-pgkill";
        var env = NodeProcess.Env(kafka.Bootstrap, _work.Path, group);
        env["SIYU_Journal__Provider"] = "postgresql";
        env["SIYU_Journal__ConnectionString"] = postgres.ConnectionString;
        var before = set.Events.Take(set.Events.Count / 2).ToList();
        var during = set.Events.Skip(before.Count).Take(set.Events.Count / 4).ToList();
        var after = set.Events.Skip(before.Count + during.Count).ToList();
        using (var first = new NodeProcess(env))
        {
            await first.WaitHealthyAsync();
            foreach (var e in before)
            {
                await kafka.SendAsync(e);
                await Task.Delay(10);
            }
            await first.WaitHandledAsync(before.Count / 2);
            postgres.Stop();
            foreach (var e in during)
            {
                await kafka.SendAsync(e);
                await Task.Delay(TimeSpan.FromSeconds(10) / during.Count);
            }
            var handled = await first.HandledAsync();
            first.Process.Kill9();
            File.WriteAllText(Path.Combine(_work.Path, "node-1.log"), first.Process.Stdout + first.Process.Stderr);
            output.WriteLine($"kill -9 with postgresql down: {handled} handled, {kafka.Uncommitted(group)} of {before.Count + during.Count} sent uncommitted");
        }
        postgres.Start();

        using var second = new NodeProcess(env);
        await second.WaitHealthyAsync();
        foreach (var e in after)
        {
            await kafka.SendAsync(e);
        }
        var campaigns = await Mismatches.Eventually(() => Truth.CampaignMismatches(second, set), seconds: 120);
        var customers = await Mismatches.Eventually(() => Truth.CustomerMismatches(second, set), seconds: 60);
        var topic = await Mismatches.Eventually(() => Task.FromResult(Truth.TopicMismatches(kafka, set)), seconds: 30);
        output.WriteLine($"after restart: handled {await second.HandledAsync()} messages (redelivered tail included), {kafka.Uncommitted(group)} uncommitted");
        foreach (var dead in kafka.ReadAll(kafka.Topics.DeadLetter).Take(5))
        {
            output.WriteLine("dead letter: " + System.Text.Encoding.UTF8.GetString(dead.Value ?? []));
        }
        File.WriteAllText(Path.Combine(_work.Path, "node-2.log"), second.Process.Stdout + second.Process.Stderr);
        Assert.True(campaigns.Count == 0, "ClickHouse (live campaign API) differs from the input:\n" + string.Join('\n', campaigns.Take(20)) + "\n" + second.Process.Tail());
        Assert.True(customers.Count == 0, "profiles (lookup API) differ from the input:\n" + string.Join('\n', customers.Take(20)));
        Assert.True(topic.Count == 0, "siyu.profiles differs from the input:\n" + string.Join('\n', topic.Take(20)));
        var deadLetters = kafka.ReadAll(kafka.Topics.DeadLetter);
        Assert.True(deadLetters.Count == 0, $"{deadLetters.Count} valid events dead-lettered, first: {System.Text.Encoding.UTF8.GetString(deadLetters.FirstOrDefault().Value ?? [])}");
        postgres.Keep = false;
        _work.Passed = true;
    }

    private static async Task<HttpStatusCode?> HealthAsync(NodeProcess node)
    {
        try
        {
            return (await node.Http.GetAsync("/health")).StatusCode;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public void Dispose() => _work.Dispose();
}
