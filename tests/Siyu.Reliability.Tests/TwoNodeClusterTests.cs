using Siyu.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 7.4: two `siyu run` processes on loopback form one cluster (A the seed, B joining it).
/// B leaves with SIGTERM, comes back, then is killed with SIGKILL mid-stream and downed by A's
/// split-brain resolver; A takes over every shard. Afterwards every customer's stats, read through
/// A (the lookup API, answered by the customer's actor wherever it lives) and on siyu.profiles,
/// equal the truth computed from the input.
///
/// Shared state: one journal (SQLite in WAL mode, which several processes on one host may open;
/// PostgreSQL is the production choice and is exercised by the persistence tests, while here the
/// file keeps start-up cheap). ClickHouse is not shared: embedded chDB belongs to one process, so
/// each node has its own directory and campaign totals (per node) are not compared; the
/// customers' state and siyu.profiles are what both nodes share.
///
/// No customer live twice: two live incarnations of a customer would each start from the journal
/// and count the orders routed to them; one would then save over the other (orders lost) or both
/// would publish (orders counted twice, or two live profiles for one member on siyu.profiles).
/// Either way the exact per-customer comparison fails.
/// </summary>
public sealed class TwoNodeClusterTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 74;
    private const string SalesRows = "siyu_sink_rows_total{table=\"attributed_sales\"}";
    private readonly string _dir = Directory.CreateTempSubdirectory("siyu-cluster-").FullName;
    private bool _passed;
    private readonly DateTime _start = DateTime.UtcNow;
    private int Elapsed => (int)(DateTime.UtcNow - _start).TotalSeconds;

    [Fact]
    public async Task Shards_move_on_leave_and_crash_and_every_customer_is_counted_once()
    {
        using var kafka = new TestKafka(partitions: 4);
        var set = EventSet.Generate(Seed, customers: 120, prefix: "cluster");
        await kafka.SendCampaignsAsync(set);
        var parts = set.Events.Chunk((set.Events.Count + 3) / 4).ToList();
        output.WriteLine($"seed {Seed}: {set.Events.Count} events ({set.Duplicates} duplicates), {set.Customers.Count} customers");

        var portA = Siyu.Tests.Shared.FreePort.Next();
        var portB = Siyu.Tests.Shared.FreePort.Next();
        var seed = $"akka.tcp://siyu@127.0.0.1:{portA}";
        Dictionary<string, string> Env(string name, int port)
        {
            var env = NodeProcess.Env(kafka.Bootstrap, _dir);
            env["SIYU_ClickHouse__DataPath"] = Path.Combine(_dir, "chdb-" + name);
            env["SIYU_Cluster__Port"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
            env["SIYU_Cluster__SeedNodes__0"] = seed;
            env["SIYU_Cluster__DownUnreachableAfterSeconds"] = "3";
            env["SIYU_Logging__LogLevel__Akka"] = "Information";
            return env;
        }
        var envA = Env("a", portA);
        var envB = Env("b", portB);

        using var a = new NodeProcess(envA);
        await a.WaitHealthyAsync();
        NodeProcess? b = new NodeProcess(envB);
        try
        {
            await b.WaitHealthyAsync();
            await WaitLog(a, "is JOINING", 30);

            // 1. Both nodes up: the first quarter is spread over both, shards on both.
            await Send(kafka, parts[0]);
            await WaitCommitted(kafka, a, b);
            var salesA = await a.MetricAsync(SalesRows);
            var salesB = await b.MetricAsync(SalesRows);
            output.WriteLine($"{Elapsed}s part 1: sales rows written by customers on A {salesA}, on B {salesB}");
            Assert.True(salesA > 0 && salesB > 0, $"customers did not live on both nodes (sales rows A {salesA}, B {salesB})\n{b.Process.Tail()}");

            // 2. B leaves gracefully: its shards hand over to A, which handles the second quarter.
            b.Process.Terminate();
            var exit = await b.Process.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.True(exit == 0 && b.Process.Stdout.Contains("Exiting completed", StringComparison.Ordinal),
                $"B did not leave cleanly (exit {exit})\n{b.Process.Tail(40)}");
            b.Dispose();
            b = null;
            await Send(kafka, parts[1]);
            await WaitCommitted(kafka, a, b);
            output.WriteLine($"{Elapsed}s part 2: B left with SIGTERM, A handled the second quarter");

            // 3. B comes back (same address, new incarnation), third quarter; then kill -9 B
            //    while the fourth quarter is arriving.
            b = new NodeProcess(envB);
            await b.WaitHealthyAsync();
            output.WriteLine($"{Elapsed}s B back: {await WaitLog(b, "Assigned", 30)}");
            await Send(kafka, parts[2]);
            await WaitCommitted(kafka, a, b);
            output.WriteLine($"{Elapsed}s part 3: B back, handled {await b.HandledAsync()}, its customers wrote {await b.MetricAsync(SalesRows)} sales rows");
            var half = parts[3].Length / 2;
            var sending = Send(kafka, parts[3][..half], delayMs: 10);
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (await b.HandledAsync() < 10 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
            var before = a.Process.Stdout.Length;
            var handledByB = await b.HandledAsync();
            b.Process.Kill9();
            await sending;
            output.WriteLine($"{Elapsed}s B killed with SIGKILL after handling {handledByB} messages");

            // 4. A downs B (split-brain resolver after stable-after) and takes over; the rest arrives.
            output.WriteLine($"{Elapsed}s {await WaitLog(a, "SBR took decision", 60, before)}");
            output.WriteLine($"{Elapsed}s {await WaitLog(a, "Leader is removing", 30, before)}");
            await Send(kafka, parts[3][half..]);

            var customers = await Truth.Eventually(() => Truth.CustomerMismatches(a, set), seconds: 60);
            var topic = await Truth.Eventually(() => Task.FromResult(Truth.TopicMismatches(kafka, set)), seconds: 20);
            output.WriteLine($"{Elapsed}s A handled {await a.HandledAsync()} messages in all");
            Assert.True(customers.Count == 0, "profiles (lookup API on A) differ from the input:\n" + string.Join('\n', customers.Take(20)) + "\n" + a.Process.Tail());
            Assert.True(topic.Count == 0, "siyu.profiles differs from the input:\n" + string.Join('\n', topic.Take(20)));
            // Messages between the nodes (ids resolved, events routed to a customer on the other node) all arrived.
            Assert.DoesNotContain("Deserialization failed", a.Process.Stdout + b.Process.Stdout);
            var deadLetters = kafka.ReadAll(kafka.Topics.DeadLetter);
            Assert.True(deadLetters.Count == 0, $"{deadLetters.Count} valid events dead-lettered, first: {System.Text.Encoding.UTF8.GetString(deadLetters.FirstOrDefault().Value ?? [])}");
            _passed = true;
        }
        finally
        {
            b?.Dispose();
        }
    }

    private static async Task Send(TestKafka kafka, IEnumerable<SentEvent> events, int delayMs = 0)
    {
        foreach (var e in events)
        {
            await kafka.SendAsync(e);
            if (delayMs > 0)
            {
                await Task.Delay(delayMs);
            }
        }
    }

    /// <summary>Waits until the group has committed everything sent: the cluster handled it all.</summary>
    private static async Task WaitCommitted(TestKafka kafka, NodeProcess a, NodeProcess? b, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        long behind;
        while ((behind = kafka.Uncommitted("siyu-ingest")) > 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(250);
        }
        Assert.True(behind == 0, $"{behind} messages still uncommitted after {seconds}s\nA:\n{a.Process.Tail(30)}\nB:\n{b?.Process.Tail(30)}");
    }

    /// <summary>Waits for a line of the node's log (from character <paramref name="from"/> on) holding <paramref name="text"/> and returns it.</summary>
    private static async Task<string> WaitLog(NodeProcess node, string text, int seconds, int from = 0)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            var line = node.Process.Stdout[from..].Split('\n').FirstOrDefault(l => l.Contains(text, StringComparison.Ordinal));
            if (line is not null)
            {
                return line.Trim();
            }
            await Task.Delay(100);
        }
        throw new TimeoutException($"no '{text}' in the log within {seconds}s\n{node.Process.Tail(60)}");
    }

    public void Dispose()
    {
        if (!_passed)
        {
            output.WriteLine($"kept for inspection: {_dir}");
            return;
        }
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
