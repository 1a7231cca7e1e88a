using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Siyu.Reliability.Tests.Support;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 16.3: an integrator's large baskets are refused (payload_too_large under a small
/// Ingest:MaxPayloadBytes); `siyu deadletter stats` and `tail` show them, the limit is raised and
/// the node restarted, `siyu deadletter replay` sends them again and the totals become exact;
/// a second replay changes nothing. Real node process, embedded Kafka, the CLI as a process.
/// </summary>
public sealed class DeadLetterReplayTests(ITestOutputHelper output)
{
    private const int Large = 6;

    [Fact]
    public async Task Refused_for_a_limit_then_raised_replayed_totals_exact_and_a_second_replay_changes_nothing()
    {
        using var work = new WorkDirectory("siyu-deadletter-", output);
        using var kafka = new TestKafka(partitions: 2);
        var testStart = DateTimeOffset.UtcNow;
        var plain = EventSet.Generate(seed: 1603, customers: 25, prefix: "dlr");
        var (full, large) = plain.WithLargeOrders(Large, items: 40);
        Assert.All(large, o => Assert.InRange(o.Bytes.Length, 1025, 4096));
        Assert.All(plain.Events, e => Assert.InRange(e.Bytes.Length, 1, 1024));
        await kafka.SendCampaignsAsync(plain);
        var cli = new[] { "--bootstrap", kafka.Bootstrap };

        // 1. A node with a 1 KB limit: the large baskets and two broken lines are dead-lettered.
        var env = NodeProcess.Env(kafka.Bootstrap, work.Path);
        var limited = new Dictionary<string, string>(env) { ["SIYU_Ingest__MaxPayloadBytes"] = "1024" };
        using (var node = new NodeProcess(limited))
        {
            await node.WaitHealthyAsync();
            foreach (var e in full.Events)
            {
                await kafka.SendAsync(e);
            }
            foreach (var broken in new[] { "{not json", "[1,2" })
            {
                await kafka.Producer.ProduceAsync(kafka.Topics.Prefix + "pos", new Message<byte[]?, byte[]> { Value = Encoding.UTF8.GetBytes(broken) });
            }
            var handled = await node.WaitHandledAsync(full.Events.Count + 2, seconds: 90);
            Assert.True(handled >= full.Events.Count + 2, $"handled {handled} of {full.Events.Count + 2}\n{node.Process.Tail()}");
            // Refused means not counted: the totals are those of the set without the baskets.
            var before = await Mismatches.Eventually(() => Truth.CampaignMismatches(node, plain), seconds: 60);
            Assert.True(before.Count == 0, "before the replay:\n" + string.Join('\n', before));
            await node.Process.StopGracefullyAsync(TimeSpan.FromSeconds(60));
            output.WriteLine("first node's last lines:\n" + node.Process.Tail(8));
        }
        // At-least-once: whatever the stop left uncommitted is read again by the next node (and
        // changes nothing); the counts below are taken relative to it.
        var redelivered = kafka.Uncommitted("siyu-ingest");
        output.WriteLine($"uncommitted after the stop: {redelivered}");

        var stats = await Cli(["deadletter", "stats", .. cli]);
        Assert.Matches($@"(?m)^payload_too_large\s+siyu\.pos\s+{Large}\s", stats);
        Assert.Matches(@"(?m)^malformed_json\s+siyu\.pos\s+2\s", stats);
        Assert.StartsWith($"{Large + 2} dead letters in siyu.deadletter", stats);
        var tail = await Cli(["deadletter", "tail", "-n", "1", "--reason", "payload_too_large", "--max-chars", "60", .. cli]);
        Assert.Contains("payload_too_large  from siyu.pos", tail);
        Assert.Contains("the limit is 1024 (Ingest:MaxPayloadBytes)", tail);
        Assert.Matches(@"raw \(\d{4} bytes\): \{""event_id"":""dlr-M\d{4}-large"".{20,}… \(\d+ more chars\)", tail);
        Assert.Contains($"1 of {Large} dead letters shown", tail);
        // A range before anything was refused selects nothing.
        var early = testStart.AddMinutes(-10).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        Assert.Contains("sent 0 messages: 0 dead letters", await Cli(["deadletter", "replay", "--reason", "payload_too_large", "--to", early, .. cli]));

        // 2. The limit raised (the default), the node restarted on the same files.
        using var fixedNode = new NodeProcess(env);
        await fixedNode.WaitHealthyAsync();
        var posBefore = kafka.ReadAll(kafka.Topics.Prefix + "pos").Count;
        var dry = await Cli(["deadletter", "replay", "--reason", "payload_too_large", "--dry-run", .. cli]);
        Assert.Contains($"dry run: would send {Large} of {Large} dead letters with reason payload_too_large (siyu.pos {Large})", dry);
        Assert.Equal(posBefore, kafka.ReadAll(kafka.Topics.Prefix + "pos").Count);
        await Task.Delay(2000);
        var h0 = await fixedNode.HandledAsync();
        Assert.Equal(redelivered, h0);

        var from = testStart.AddMinutes(-1).ToString("O", CultureInfo.InvariantCulture);
        var replay = await Cli(["deadletter", "replay", "--reason", "payload_too_large", "--from", from, .. cli]);
        Assert.Contains($"sent {Large} messages (siyu.pos {Large}) from {Large} dead letters with reason payload_too_large", replay);
        Assert.Equal(h0 + Large, await fixedNode.WaitHandledAsync(h0 + Large, seconds: 60));
        var campaigns = await Mismatches.Eventually(() => Truth.CampaignMismatches(fixedNode, full), seconds: 60);
        var customers = await Mismatches.Eventually(() => Truth.CustomerMismatches(fixedNode, full), seconds: 30);
        Assert.True(campaigns.Count == 0, "after the replay, ClickHouse:\n" + string.Join('\n', campaigns) + "\n" + fixedNode.Process.Tail());
        Assert.True(customers.Count == 0, "after the replay, profiles:\n" + string.Join('\n', customers));
        Assert.Equal(Large + 2, kafka.ReadAll(kafka.Topics.DeadLetter).Count);

        // 3. Replaying again sends the same messages, and nothing changes.
        var again = await Cli(["deadletter", "replay", "--reason", "payload_too_large", .. cli]);
        Assert.Contains($"sent {Large} messages", again);
        Assert.Equal(h0 + 2 * Large, await fixedNode.WaitHandledAsync(h0 + 2 * Large, seconds: 60));
        // Give a wrongly counted duplicate time to reach ClickHouse before comparing.
        await Task.Delay(3000);
        campaigns = await Truth.CampaignMismatches(fixedNode, full);
        customers = await Truth.CustomerMismatches(fixedNode, full);
        Assert.True(campaigns.Count == 0, "after a second replay, ClickHouse:\n" + string.Join('\n', campaigns));
        Assert.True(customers.Count == 0, "after a second replay, profiles:\n" + string.Join('\n', customers));
        Assert.Equal(Large + 2, kafka.ReadAll(kafka.Topics.DeadLetter).Count);
        work.Passed = true;
    }

    private async Task<string> Cli(string[] args)
    {
        var (exit, stdout, stderr) = await SiyuProcess.RunAsync(args, timeoutSeconds: 90);
        output.WriteLine($"$ siyu {string.Join(' ', args)}\n{stdout}{stderr}");
        Assert.True(exit == 0, $"siyu {string.Join(' ', args)} exited {exit}: {stderr}");
        Assert.True(stderr.Trim().Length == 0, "stderr: " + stderr);
        return stdout;
    }
}
