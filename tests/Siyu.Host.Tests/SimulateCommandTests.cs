using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Kafka;
using Siyu.Tests.Shared;

namespace Siyu.Host.Tests;

public sealed class SimulateCommandTests
{
    private static readonly string[] Small = ["simulate", "--seed", "5", "--stores", "2", "--customers", "40", "--days", "2"];

    [Fact]
    public async Task The_same_options_write_byte_identical_files_per_topic()
    {
        var a = Directory.CreateTempSubdirectory("siyu-sim-a-");
        var b = Directory.CreateTempSubdirectory("siyu-sim-b-");
        foreach (var dir in new[] { a, b })
        {
            var (exit, stdout, stderr) = await SiyuProcess.RunAsync([.. Small, "--out", dir.FullName]);
            Assert.True(exit == 0, stderr);
            Assert.Contains("messages in", stdout);
        }
        var files = a.GetFiles("*.jsonl").Select(f => f.Name).Order().ToList();
        Assert.Equal(new Topics().All.Where(t => t.EndsWith("pos") || t.EndsWith("miniprogram") || t.EndsWith("app") || t.EndsWith("group") || t.EndsWith("campaigns")).Order().Select(t => t + ".jsonl"), files);
        foreach (var name in files)
        {
            Assert.Equal(await File.ReadAllBytesAsync(Path.Combine(a.FullName, name)), await File.ReadAllBytesAsync(Path.Combine(b.FullName, name)));
        }
        a.Delete(true);
        b.Delete(true);
    }

    [Fact]
    public async Task To_Kafka_it_sends_what_it_writes_to_files()
    {
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 2 });
        var topics = new Topics();
        foreach (var t in topics.All)
        {
            broker.CreateTopic(t, 2);
        }
        var dir = Directory.CreateTempSubdirectory("siyu-sim-k-");
        Assert.Equal(0, (await SiyuProcess.RunAsync([.. Small, "--out", dir.FullName])).Exit);
        var (exit, _, stderr) = await SiyuProcess.RunAsync([.. Small, "--bootstrap", broker.BootstrapServers, "--rate", "0"]);
        Assert.True(exit == 0, stderr);

        var expected = dir.GetFiles("*.jsonl").ToDictionary(f => Path.GetFileNameWithoutExtension(f.Name), f => File.ReadAllLines(f.FullName).Length);
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers, GroupId = "sim-check", AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(expected.Keys);
        var got = new Dictionary<string, int>();
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (got.Values.Sum() < expected.Values.Sum() && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } cr)
            {
                got[cr.Topic] = got.GetValueOrDefault(cr.Topic) + 1;
            }
        }
        consumer.Close();
        Assert.Equal(expected.OrderBy(kv => kv.Key), got.OrderBy(kv => kv.Key));
        dir.Delete(true);
    }

    [Fact]
    public async Task Bad_options_stop_with_exit_2_naming_the_option()
    {
        var (exit, _, stderr) = await SiyuProcess.RunAsync(["simulate", "--stores", "0", "--out", Path.GetTempPath()]);
        Assert.Equal(2, exit);
        Assert.Contains("stores must be between 1 and 100000", stderr);
        (exit, _, stderr) = await SiyuProcess.RunAsync(["simulate", "--start", "23/11/2026", "--out", Path.GetTempPath()]);
        Assert.Equal(2, exit);
        Assert.Contains("--start", stderr);
    }
}
