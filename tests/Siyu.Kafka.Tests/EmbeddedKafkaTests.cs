using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Confluent.Kafka;
using Xunit.Abstractions;

namespace Siyu.Kafka.Tests;

public sealed class EmbeddedKafkaTests(ITestOutputHelper output)
{
    static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public void Loads_one_librdkafka_for_confluent_and_the_mock_api()
    {
        Parallel.For(0, 8, _ => Librdkafka.EnsureLoaded());

        Assert.EndsWith("centos8-librdkafka.so", Librdkafka.LoadedPath);
        Assert.True(Library.Version >= 0x02100000, $"librdkafka {Library.VersionString}");
        using var kafka = EmbeddedKafka.Start();
        using var producer = Clients.Producer(kafka.BootstrapServers);
        Assert.StartsWith("127.0.0.1:", kafka.BootstrapServers);
        // Both our mock P/Invokes and Confluent's client are live, yet one librdkafka file is mapped.
        var mapped = File.ReadLines("/proc/self/maps").Where(l => l.Contains("librdkafka")).Select(l => l[l.IndexOf('/')..]).Distinct();
        Assert.Equal([Librdkafka.LoadedPath!], mapped);
    }

    [Fact]
    public void Produced_messages_all_come_back_through_a_consumer_group()
    {
        using var kafka = EmbeddedKafka.Start();
        kafka.CreateTopic("siyu.pos");
        const int n = 20_000;

        var clock = Stopwatch.StartNew();
        var sent = Clients.Produce(kafka.BootstrapServers, "siyu.pos", n);
        var produced = clock.Elapsed;

        using var consumer = Clients.Consumer(kafka.BootstrapServers, "g-all");
        clock.Restart();
        consumer.Subscribe("siyu.pos");
        var got = Clients.Take(consumer, n, Deadline);
        var consumed = clock.Elapsed;
        consumer.Close();

        output.WriteLine($"produce {n} in {produced.TotalMilliseconds:F0} ms ({n / produced.TotalSeconds:F0}/s); " +
                         $"join+consume in {consumed.TotalMilliseconds:F0} ms ({n / consumed.TotalSeconds:F0}/s)");
        Assert.Equal(sent.OrderBy(m => m.Value), got.Select(r => (r.Message.Key, r.Message.Value)).OrderBy(m => m.Value));
        Assert.Equal(8, got.Select(r => r.Partition.Value).Distinct().Count()); // DefaultPartitions
        // Same key, same partition: per-customer order is what the pipeline relies on.
        Assert.All(got.GroupBy(r => r.Message.Key), g => Assert.Single(g.Select(r => r.Partition).Distinct()));
    }

    [Fact]
    public void A_new_consumer_in_the_group_resumes_after_the_committed_offsets()
    {
        using var kafka = EmbeddedKafka.Start();
        kafka.CreateTopic("siyu.app", 4);
        var sent = Clients.Produce(kafka.BootstrapServers, "siyu.app", 1000);

        List<ConsumeResult<string, string>> first;
        var clock = Stopwatch.StartNew();
        using (var consumer = Clients.Consumer(kafka.BootstrapServers, "g-resume"))
        {
            consumer.Subscribe("siyu.app");
            first = Clients.Take(consumer, 600, Deadline);
            output.WriteLine($"first join + 600 messages: {clock.ElapsedMilliseconds} ms");
            consumer.Commit(); // positions of everything handed out so far
            consumer.Close();  // LeaveGroup
        }

        using var second = Clients.Consumer(kafka.BootstrapServers, "g-resume");
        clock.Restart();
        second.Subscribe("siyu.app");
        var rest = Clients.Take(second, 1, Deadline);
        var rejoin = clock.Elapsed;
        rest.AddRange(Clients.Take(second, 400 - rest.Count, Deadline));
        Assert.Empty(Clients.Take(second, 1, TimeSpan.FromMilliseconds(500))); // nothing re-delivered

        output.WriteLine($"rejoin to first message: {rejoin.TotalMilliseconds:F0} ms (session.timeout.ms {Clients.SessionTimeoutMs})");
        Assert.Equal(600, first.Count);
        var all = first.Concat(rest).Select(r => r.Message.Value).ToList();
        Assert.Equal(sent.Select(m => m.Value).Order(), all.Order()); // exactly once across the two
        // The second consumer started each partition exactly where the first one committed.
        foreach (var p in rest.GroupBy(r => r.Partition))
        {
            var committed = first.Where(r => r.Partition == p.Key).Select(r => r.Offset.Value + 1).DefaultIfEmpty(0).Max();
            Assert.Equal(committed, p.Min(r => r.Offset.Value));
        }
        Assert.True(rejoin < TimeSpan.FromMilliseconds(Clients.SessionTimeoutMs + 2000), $"rejoin took {rejoin}");
    }

    [Fact]
    public void Two_instances_in_one_process_are_independent()
    {
        using var a = EmbeddedKafka.Start(new EmbeddedKafkaOptions { Brokers = 3 });
        var b = EmbeddedKafka.Start();
        try
        {
            Assert.NotEqual(a.BootstrapServers, b.BootstrapServers);
            Assert.Equal(3, a.BootstrapServers.Split(',').Length);
            a.CreateTopic("siyu.group", 2);
            b.CreateTopic("siyu.group", 2); // no clash: separate metadata

            Clients.Produce(a.BootstrapServers, "siyu.group", 50);
            Assert.Equal(50, MessageCount(a.BootstrapServers, "siyu.group", 2));
            Assert.Equal(0, MessageCount(b.BootstrapServers, "siyu.group", 2));
        }
        finally { b.Dispose(); }

        // Tearing one down leaves the other serving.
        Clients.Produce(a.BootstrapServers, "siyu.group", 5);
        Assert.Equal(55, MessageCount(a.BootstrapServers, "siyu.group", 2));
    }

    [Fact]
    public void Fixed_port_serves_bootstrap_and_advertised_brokers()
    {
        var port = FreePortRange(2);
        using var kafka = EmbeddedKafka.Start(new EmbeddedKafkaOptions { Brokers = 2, Port = port });
        Assert.Equal($"127.0.0.1:{port},127.0.0.1:{port + 1}", kafka.BootstrapServers);
        kafka.CreateTopic("siyu.audiences", 4);

        using (var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = $"127.0.0.1:{port}" }).Build())
        {
            var meta = admin.GetMetadata(TimeSpan.FromSeconds(10));
            Assert.Equal([port, port + 1], meta.Brokers.Select(br => br.Port).Order());
        }

        var sent = Clients.Produce(kafka.BootstrapServers, "siyu.audiences", 200);
        using var consumer = Clients.Consumer($"127.0.0.1:{port}", "g-fixed");
        consumer.Subscribe("siyu.audiences");
        var got = Clients.Take(consumer, 200, Deadline);
        Assert.Equal(sent.Select(m => m.Value).Order(), got.Select(r => r.Message.Value).Order());

        var busy = Assert.Throws<InvalidOperationException>(() => EmbeddedKafka.Start(new EmbeddedKafkaOptions { Port = port }));
        Assert.Contains($"127.0.0.1:{port}", busy.Message);
    }

    [Fact]
    public void Creating_an_existing_topic_fails_loudly()
    {
        using var kafka = EmbeddedKafka.Start();
        kafka.CreateTopic("siyu.campaigns", 1);
        var e = Assert.Throws<KafkaException>(() => kafka.CreateTopic("siyu.campaigns", 1));
        Assert.Equal(ErrorCode.TopicAlreadyExists, e.Error.Code);
    }

    static long MessageCount(string bootstrap, string topic, int partitions)
    {
        using var c = Clients.Consumer(bootstrap, "g-count");
        return Enumerable.Range(0, partitions)
            .Sum(p => c.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)).High.Value);
    }

    // A start port with `count` consecutive free ports after it.
    static int FreePortRange(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var probe = new TcpListener(IPAddress.Loopback, 0);
            probe.Start();
            var start = ((IPEndPoint)probe.LocalEndpoint).Port;
            probe.Stop();
            if (start + count - 1 > 65535) continue;
            if (Enumerable.Range(start, count).All(IsFree)) return start;
        }
        throw new InvalidOperationException("no free port range");

        static bool IsFree(int port)
        {
            try { var l = new TcpListener(IPAddress.Loopback, port); l.Start(); l.Stop(); return true; }
            catch (SocketException) { return false; }
        }
    }
}
