using Siyu.Reliability.Tests.Support;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 7.3: the Kafka broker goes down mid-stream for ~12 s (librdkafka's mock closes every
/// connection and refuses new ones) and comes back. `siyu run` stays up, reconnects by itself and
/// afterwards ClickHouse, the profiles and siyu.profiles equal the truth computed from the input.
/// </summary>
public sealed class BrokerOutageTests(ITestOutputHelper output) : IDisposable
{
    private const int Seed = 20261124;
    private readonly WorkDirectory _work = new("siyu-broker-", output);

    [Fact]
    public async Task Node_reconnects_after_the_broker_is_down_and_totals_are_exact()
    {
        using var kafka = new TestKafka(partitions: 4);
        var set = EventSet.Generate(Seed, customers: 100, prefix: "brk");
        await kafka.SendCampaignsAsync(set);
        output.WriteLine($"seed {Seed}: {set.Events.Count} events ({set.Duplicates} duplicates), {set.Customers.Count} customers");

        using var node = new NodeProcess(NodeProcess.Env(kafka.Bootstrap, _work.Path));
        await node.WaitHealthyAsync();

        // Three slices: before the outage (paced), during it (the producer queues them, like a POS
        // behind a broken link, and delivers them once the broker is back) and after it.
        var before = set.Events.Take(set.Events.Count * 2 / 5).ToList();
        var during = set.Events.Skip(before.Count).Take(set.Events.Count / 4).ToList();
        var after = set.Events.Skip(before.Count + during.Count).ToList();
        foreach (var e in before)
        {
            await kafka.SendAsync(e);
            await Task.Delay(10);
        }
        var handled = await node.WaitHandledAsync(before.Count / 2);
        Assert.True(handled > 0, "the node handled nothing before the outage\n" + node.Process.Tail());

        kafka.Broker.SetBrokerDown();
        output.WriteLine($"broker down with {handled} handled of {before.Count} sent");
        var sending = Task.WhenAll(during.Select(kafka.SendAsync));
        await Task.Delay(TimeSpan.FromSeconds(12));
        var handledDuringOutage = await node.HandledAsync();
        Assert.False(node.Process.HasExited, "siyu run exited while the broker was down\n" + node.Process.Tail());
        Assert.False(sending.IsCompleted, "the producer delivered while the broker was down: the outage did not happen");
        kafka.Broker.SetBrokerUp();
        output.WriteLine($"broker up after 12 s; {handledDuringOutage} handled by then, {during.Count} queued in the producer");
        await sending.WaitAsync(TimeSpan.FromSeconds(60));
        foreach (var e in after)
        {
            await kafka.SendAsync(e);
        }

        var campaigns = await Mismatches.Eventually(() => Truth.CampaignMismatches(node, set), seconds: 90);
        var customers = await Mismatches.Eventually(() => Truth.CustomerMismatches(node, set), seconds: 30);
        var topic = await Mismatches.Eventually(() => Task.FromResult(Truth.TopicMismatches(kafka, set)), seconds: 20);
        output.WriteLine($"after recovery: handled {await node.HandledAsync()} messages");
        Assert.True(campaigns.Count == 0, "ClickHouse (live campaign API) differs from the input:\n" + string.Join('\n', campaigns.Take(20)) + "\n" + node.Process.Tail());
        Assert.True(customers.Count == 0, "profiles (lookup API) differ from the input:\n" + string.Join('\n', customers.Take(20)));
        Assert.True(topic.Count == 0, "siyu.profiles differs from the input:\n" + string.Join('\n', topic.Take(20)));
        Assert.Empty(kafka.ReadAll(kafka.Topics.DeadLetter));
        Assert.False(node.Process.HasExited);
        _work.Passed = true;
    }

    public void Dispose() => _work.Dispose();
}
