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

    private sealed class FixedClock : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    }
}
