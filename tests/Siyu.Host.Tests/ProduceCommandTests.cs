using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging.Abstractions;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Privacy;
using Siyu.Contracts.Validation;
using Siyu.Ingest;
using Siyu.Ingest.Handlers;
using Siyu.Kafka;
using Siyu.Tests.Shared;

namespace Siyu.Host.Tests;

public sealed class ProduceCommandTests
{
    [Fact]
    public async Task Siyu_produce_from_a_second_process_leaves_every_good_line_handled_and_every_bad_line_dead_lettered()
    {
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 4 });
        var topics = new Topics();
        foreach (var t in topics.All)
        {
            broker.CreateTopic(t);
        }
        // A JSON Lines file per channel mixing good and bad lines. Lines cannot hold an empty
        // payload, and Kafka refuses the 5 MB one by default, so those two stay in the parser tests.
        var dir = Directory.CreateTempSubdirectory("siyu-produce-");
        var bad = EventCorpus.Bad.Where(b => b.Payload.Length is > 0 and < 1024 * 1024 && !b.Payload.Contains((byte)'\n')).ToList();
        var lines = 0;
        foreach (var group in EventCorpus.Good.Concat(bad).GroupBy(c => c.Channel))
        {
            var file = Path.Combine(dir.FullName, $"{group.Key.WireName()}.jsonl");
            await using (var f = File.Create(file))
            {
                foreach (var c in group.OrderBy(c => c.Name)) // good and bad interleaved
                {
                    f.Write(c.Payload);
                    f.Write("\n"u8);
                    lines++;
                }
            }
            var (exit, stdout, stderr) = await SiyuProcess.RunAsync(["produce", file, "--topic", group.Key.WireName(), "--bootstrap", broker.BootstrapServers]);
            Assert.True(exit == 0, $"siyu produce exited {exit}: {stderr}");
            Assert.Contains($"produced {group.Count()} messages to {topics.Input(group.Key)}", stdout);
        }

        var handler = new RecordingEventHandler();
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        var pipeline = new IngestPipeline(
            new IngestOptions { BootstrapServers = broker.BootstrapServers, Topics = topics, SessionTimeoutMs = 6000 },
            handler,
            new EventParser(clock: new FixedClock()),
            new PhoneHasher("host-tests-key-0123456789"),
            NullLogger<IngestPipeline>.Instance);
        using var stop = new CancellationTokenSource();
        var run = pipeline.RunAsync(producer, stop.Token);
        var deadLetters = new List<ConsumeResult<Ignore, byte[]>>();
        using (var reader = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers, GroupId = "dl-reader", AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build())
        {
            reader.Subscribe(topics.DeadLetter);
            var deadline = DateTime.UtcNow.AddSeconds(40);
            while ((deadLetters.Count < bad.Count || handler.DistinctEvents < EventCorpus.Good.Count) && DateTime.UtcNow < deadline)
            {
                if (reader.Consume(TimeSpan.FromMilliseconds(200)) is { } cr)
                {
                    deadLetters.Add(cr);
                }
            }
            reader.Close();
        }
        await stop.CancelAsync();
        await run;

        Assert.Equal(EventCorpus.Good.Count, handler.DistinctEvents);
        Assert.Equal(bad.Count, deadLetters.Count);
        Assert.Equal(lines, handler.DistinctEvents + deadLetters.Count);
        var reasons = deadLetters.Select(d => DeadLetterPublisher.Read(d.Message.Value).Reason).Order().ToList();
        Assert.Equal(bad.Select(b => b.ExpectedReason!).Order().ToList(), reasons);
    }

    [Fact]
    public void Lines_are_split_byte_for_byte_and_blank_lines_skipped()
    {
        byte[] content = [.. "{\"a\":1}\r\n\n   \n"u8, 0xFF, 0xFE, .. "\nlast"u8];
        var lines = Commands.ProduceCommand.Lines(content).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal("{\"a\":1}"u8.ToArray(), lines[0]);
        Assert.Equal(new byte[] { 0xFF, 0xFE }, lines[1]);
        Assert.Equal("last"u8.ToArray(), lines[2]);
    }

    [Fact]
    public void Lines_longer_than_the_read_buffer_and_split_across_reads_stay_whole()
    {
        var big = Encoding.UTF8.GetBytes("{\"pad\":\"" + new string('x', 200_000) + "\"}");
        byte[] content = [.. big, .. "\r\n\n"u8, .. big, .. "\n{}"u8];
        var lines = Commands.ProduceCommand.Lines(new MemoryStream(content)).ToList();
        Assert.Equal(3, lines.Count);
        Assert.Equal(big, lines[0]);
        Assert.Equal(big, lines[1]);
        Assert.Equal("{}"u8.ToArray(), lines[2]);
    }

    [Fact]
    public async Task Siyu_produce_keys_by_the_field_given_and_says_what_it_sent()
    {
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 2 });
        var topics = new Topics();
        broker.CreateTopic(topics.Input(Channel.Pos));
        var file = Path.Combine(Directory.CreateTempSubdirectory("siyu-produce-key-").FullName, "pos.jsonl");
        await File.WriteAllLinesAsync(file,
        [
            """{"event_id":"k1","store_id":"S1","ids":{"phone":"13800000001","member_id":"M1"}}""",
            """{"event_id":"k2","store_id":7,"ids":{"member_id":"M2"}}""",
            """{"event_id":"k3","ids":{"member_id":"M3"}}""",
            "{not json",
        ]);
        var (exit, stdout, stderr) = await SiyuProcess.RunAsync(["produce", file, "--topic", "pos", "--key", "ids.member_id", "--bootstrap", broker.BootstrapServers]);
        Assert.True(exit == 0, stderr);
        Assert.Matches(@"^produced 4 messages to siyu\.pos in \d+\.\d s, keyed by ids\.member_id; 1 without one went unkeyed\n$", stdout);
        Assert.Equal(["M1", "M2", "M3", null], Read(broker, topics.Input(Channel.Pos), file));

        // A top-level field; a number is keyed as written.
        broker.CreateTopic(topics.Input(Channel.App));
        (exit, stdout, stderr) = await SiyuProcess.RunAsync(["produce", file, "--topic", "siyu.app", "--key", "store_id", "--bootstrap", broker.BootstrapServers]);
        Assert.True(exit == 0, stderr);
        Assert.Contains("keyed by store_id; 2 without one went unkeyed", stdout);
        Assert.Equal(["S1", "7", null, null], Read(broker, topics.Input(Channel.App), file));
    }

    /// <summary>The keys of every message on <paramref name="topic"/>, in the order of their lines in <paramref name="file"/>.</summary>
    private static List<string?> Read(EmbeddedKafka broker, string topic, string file)
    {
        var lines = File.ReadAllLines(file).ToList();
        using var consumer = new ConsumerBuilder<string?, byte[]>(new ConsumerConfig
        {
            BootstrapServers = broker.BootstrapServers, GroupId = "keys-" + Guid.NewGuid().ToString("N"), AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(topic);
        var read = new List<(string? Key, int Line)>();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (read.Count < lines.Count && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is { } cr)
            {
                read.Add((cr.Message.Key, lines.IndexOf(Encoding.UTF8.GetString(cr.Message.Value))));
            }
        }
        consumer.Close();
        return [.. read.OrderBy(r => r.Line).Select(r => r.Key)];
    }

    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    }
}
