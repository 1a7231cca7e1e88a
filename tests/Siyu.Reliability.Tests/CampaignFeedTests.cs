using System.Globalization;
using System.Text;
using Confluent.Kafka;
using Siyu.Reliability.Tests.Support;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 16.9: definitions of one campaign produced without a key (so in two partitions, the
/// newest first) are applied under their campaign_id with a warning, copied to ClickHouse, and the
/// latest by Kafka timestamp wins, before and after a restart; `siyu produce` keys campaigns by
/// campaign_id by default, and a newer definition sent that way wins after the restart.
/// </summary>
public sealed class CampaignFeedTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Unkeyed_definitions_are_taken_by_campaign_id_and_the_latest_wins_across_a_restart()
    {
        using var work = new WorkDirectory("siyu-campaign-feed-", output);
        using var kafka = new TestKafka(partitions: 2);
        var now = DateTimeOffset.UtcNow;
        string Definition(string id, int stock) => $$"""{"campaign_id":"{{id}}","type":"flash_sale","name":"feed test","skus":["FEED-SKU"],"stock":{{stock}},"starts_at":"{{Iso(now.AddHours(-1))}}","ends_at":"{{Iso(now.AddHours(5))}}"}""";
        // Newest first, in partition 1; two older ones after it in partition 0. A reader that let
        // the last one read win would end on 20 or 30 depending on which partition it read last.
        async Task Unkeyed(int partition, int stock, TimeSpan ago) =>
            await kafka.Producer.ProduceAsync(new TopicPartition(kafka.Topics.Campaigns, partition), new Message<byte[]?, byte[]>
            {
                Value = Encoding.UTF8.GetBytes(Definition("FEED-1", stock)),
                Timestamp = new Timestamp(now - ago),
            });
        await Unkeyed(1, 30, TimeSpan.FromMinutes(1));
        await Unkeyed(0, 10, TimeSpan.FromMinutes(3));
        await Unkeyed(0, 20, TimeSpan.FromMinutes(2));

        var env = NodeProcess.Env(kafka.Bootstrap, work.Path);
        using (var first = new NodeProcess(env))
        {
            await first.WaitHealthyAsync();
            Assert.Equal(30, await StockAsync(first, "FEED-1", expect: 30));
            var warnings = first.Process.Stdout.Split('\n').Where(l => l.Contains("no message key; taken as campaign FEED-1", StringComparison.Ordinal)).ToList();
            output.WriteLine(warnings.FirstOrDefault());
            Assert.Equal(3, warnings.Count); // one per unkeyed message, none skipped silently
            await first.Process.StopGracefullyAsync(TimeSpan.FromSeconds(60));
        }

        using var second = new NodeProcess(env);
        await second.WaitHealthyAsync();
        Assert.Equal(30, await StockAsync(second, "FEED-1", expect: 30));

        // A newer definition from a file with no keys: siyu produce keys it by campaign_id.
        var file = Path.Combine(work.Path, "campaigns.jsonl");
        await File.WriteAllTextAsync(file, Definition("FEED-1", 40) + "\n" + Definition("FEED-2", 5) + "\n");
        var (exit, stdout, stderr) = await SiyuProcess.RunAsync(["produce", file, "--topic", "siyu.campaigns", "--bootstrap", kafka.Bootstrap]);
        output.WriteLine(stdout + stderr);
        Assert.Equal(0, exit);
        Assert.Contains("produced 2 messages to siyu.campaigns", stdout);
        Assert.Contains("keyed by campaign_id", stdout);
        Assert.DoesNotContain("unkeyed", stdout);
        var keys = kafka.ReadAll(kafka.Topics.Campaigns).Select(m => m.Key).ToList();
        Assert.Equal([null, null, null, "FEED-1", "FEED-2"], keys.Order());
        Assert.Equal(40, await StockAsync(second, "FEED-1", expect: 40));
        Assert.Equal(5, await StockAsync(second, "FEED-2", expect: 5));
        work.Passed = true;
    }

    private static string Iso(DateTimeOffset t) => t.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The stock /live reports (from the ClickHouse copy of the definition), once it is <paramref name="expect"/> or after 30 s.</summary>
    private static async Task<int?> StockAsync(NodeProcess node, string campaign, int? expect = null)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        int? stock;
        do
        {
            var live = await node.GetJsonAsync($"/v1/campaigns/{campaign}/live");
            stock = live?["stock"]?.GetValue<int?>();
            if (stock is not null && (expect is null || stock == expect))
            {
                return stock;
            }
            await Task.Delay(250);
        }
        while (DateTime.UtcNow < deadline);
        return stock;
    }
}
