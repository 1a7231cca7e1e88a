using Siyu.Reliability.Tests.Support;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 7.6: SIGTERM mid-stream. The node stops consuming, lets the events in flight finish,
/// flushes the sinks, commits and leaves the consumer group and the cluster, and exits 0.
/// </summary>
public sealed class GracefulShutdownTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 6;
    private readonly string _dir = Directory.CreateTempSubdirectory("siyu-term-").FullName;

    [Fact]
    public async Task Sigterm_mid_stream_flushes_sinks_commits_offsets_and_leaves_the_cluster()
    {
        using var kafka = new TestKafka(partitions: 4);
        var set = EventSet.Generate(Seed, customers: 80, prefix: "term");
        await kafka.SendCampaignsAsync(set);
        var env = NodeProcess.Env(kafka.Bootstrap, _dir);
        env["SIYU_Logging__LogLevel__Akka"] = "Information";
        // No periodic commit during the test: whatever is committed at exit, the shutdown committed.
        env["SIYU_Kafka__AutoCommitIntervalMs"] = "60000";

        long first;
        using (var node = new NodeProcess(env))
        {
            await node.WaitHealthyAsync();
            var sending = Task.Run(async () =>
            {
                foreach (var e in set.Events)
                {
                    await kafka.SendAsync(e);
                    await Task.Delay(15);
                }
            });
            // Stop it once it is well into the stream, with events still arriving.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            long before;
            while ((before = await node.HandledAsync()) < set.Events.Count / 3 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            await node.Process.StopGracefullyAsync(TimeSpan.FromSeconds(60));
            await sending;
            var log = node.Process.Stdout;
            first = kafka.Committed("siyu-ingest");
            output.WriteLine($"SIGTERM when the node had handled {before} of {set.Events.Count} messages; {first} committed at exit");

            // Offsets: the final commit happened and the group was left.
            Assert.True(log.Contains("Ingest stopped: offsets committed, group left", StringComparison.Ordinal),
                "no final commit logged\n" + node.Process.Tail(60));
            // Cluster: this node left (Leaving, then Exiting) rather than just disappearing.
            Assert.True(log.Contains("Exiting completed", StringComparison.Ordinal) || log.Contains("Marked as [Leaving]", StringComparison.Ordinal)
                || log.Contains("Leaving", StringComparison.Ordinal), "the node did not leave the cluster\n" + node.Process.Tail(80));
            // Everything handled before the signal, and what was in flight then, was committed on
            // the way out, not left to the periodic commit.
            Assert.InRange(first, before, set.Events.Count);
        }

        // The committed offsets are exactly what the first node handled: the second node reads
        // only the rest, so the two counts add up to the input with no redelivery.
        using (var node = new NodeProcess(env))
        {
            await node.WaitHealthyAsync();
            var campaigns = await Mismatches.Eventually(() => Truth.CampaignMismatches(node, set), seconds: 60);
            var customers = await Mismatches.Eventually(() => Truth.CustomerMismatches(node, set), seconds: 20);
            var second = await node.HandledAsync();
            output.WriteLine($"second node handled {second}");
            // At least the rest; more only if this node's own group membership was interrupted.
            Assert.True(second >= set.Events.Count - first,
                $"{first} committed by the first node + {second} handled by the second < {set.Events.Count} messages");
            // Sinks: nothing was redelivered, so every row of the first node's events reached
            // ClickHouse before it exited; and it stopped cleanly, so no view rebuild ran.
            Assert.True(campaigns.Count == 0, "ClickHouse differs from the input:\n" + string.Join('\n', campaigns.Take(20)));
            Assert.True(customers.Count == 0, "profiles differ from the input:\n" + string.Join('\n', customers.Take(20)));
            Assert.DoesNotContain("Rebuilt", node.Process.Stdout);
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
