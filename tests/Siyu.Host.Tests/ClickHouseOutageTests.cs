using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Kafka;
using Siyu.Reliability.Tests.Support;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Sinks.Sink;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Host.Tests;

/// <summary>
/// Issue 7.2, embedded: ClickHouse fails for a minute while events flow. A whole node in-process
/// (real Kafka protocol on the embedded broker, the real actor system and SQLite journal, the
/// process's real chDB) whose engine is wrapped by <see cref="ClickHouseOutage"/>, switched off for
/// <see cref="OutageSeconds"/> while half of a known event set arrives. Then: nothing
/// dead-lettered, /health said 503 naming ClickHouse and recovered, every offset committed, and
/// ClickHouse (live campaign API, attributed_sales, profiles) and the customers equal the truth
/// computed from the input alone (<see cref="EventSet"/>).
/// </summary>
/// <remarks>In-process, so it shares the node collection's chDB (one engine per process); its own broker, journal and campaign ids keep it apart.</remarks>
[Collection(NodeCollection.Name)]
public sealed class ClickHouseOutageTests(NodeFixture fixture, ITestOutputHelper output)
{
    private const int Seed = 20261124;
    private const int OutageSeconds = 60;
    private readonly Topics _topics = new();

    [Fact]
    public async Task A_minute_of_ClickHouse_failing_mid_stream_loses_nothing_and_catches_up()
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var group = "chdown-" + run;
        var set = EventSet.Generate(Seed, customers: 150, prefix: "chdown" + run);
        var dir = Directory.CreateTempSubdirectory("siyu-chdown-").FullName;
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 4 });
        foreach (var t in _topics.All)
        {
            broker.CreateTopic(t);
        }
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers, LingerMs = 5 }).Build();
        var engine = ChDbEngine.Current ?? throw new InvalidOperationException("the node fixture opens chDB");
        ClickHouseOutage? outage = null;
        var node = await TestNode.StartAsync(broker.BootstrapServers, dir, fixture.ChDbPath, new Dictionary<string, string?>
        {
            ["Kafka:GroupId"] = group,
            ["Kafka:AutoCommitIntervalMs"] = "200",
            ["Customers:RefundGraceSeconds"] = "2", // as the reliability tests: a refund racing its order retries soon
        }, e => outage = new ClickHouseOutage(e));
        try
        {
            Assert.NotNull(outage);
            var sinks = await node.Sinks;
            foreach (var (key, json) in set.CampaignDefinitions)
            {
                await producer.ProduceAsync(_topics.Campaigns, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(key), Value = Encoding.UTF8.GetBytes(json) });
            }
            await Until(async () => await Scalar(engine, $"SELECT count() FROM siyu.campaigns FINAL WHERE campaign_id IN ('{EventSet.CampaignA}', '{EventSet.CampaignB}')") == 2, "campaigns in ClickHouse", 30);
            await Task.Delay(300);

            // A quarter before, half during, a quarter after the outage.
            var events = set.Events;
            var before = events.Take(events.Count / 4).ToList();
            var during = events.Skip(before.Count).Take(events.Count / 2).ToList();
            var after = events.Skip(before.Count + during.Count).ToList();
            output.WriteLine($"seed {Seed}: {events.Count} events ({set.Duplicates} duplicates), {set.Customers.Count} customers; {before.Count} before, {during.Count} during a {OutageSeconds} s outage, {after.Count} after");

            foreach (var e in before)
            {
                await Send(producer, e);
            }
            await Until(() => Task.FromResult(Uncommitted(broker.BootstrapServers, group) == 0), "the first quarter committed", 60);
            var (status, _) = await Health(node);
            Assert.Equal(HttpStatusCode.OK, status);

            // ClickHouse goes away; events keep arriving at a steady pace for most of the outage.
            var retriesBefore = SinkMetrics.Retries.WithLabels("attributed_sales").Value;
            var acceptedBefore = node.Tally.Accepted;
            var committedBefore = Committed(broker.BootstrapServers, group);
            outage!.Down = true;
            var clock = Stopwatch.StartNew();
            var sent = 0;
            var sending = Task.Run(async () =>
            {
                var pace = TimeSpan.FromSeconds(OutageSeconds * 0.75) / during.Count;
                foreach (var e in during)
                {
                    await Send(producer, e);
                    Interlocked.Increment(ref sent);
                    await Task.Delay(pace);
                }
            });
            var unhealthy = 0;
            string? reason = null;
            var peakInFlight = 0.0;
            var lastTakenAt = TimeSpan.Zero; // when ingest last took more events in than before
            var peakHeld = 0L;
            var inFlight = 0.0;
            while (clock.Elapsed < TimeSpan.FromSeconds(OutageSeconds))
            {
                await Task.Delay(2000);
                (status, var body) = await Health(node);
                var clickhouse = body?["checks"]?["clickhouse"];
                if (status == HttpStatusCode.ServiceUnavailable && clickhouse?["status"]?.GetValue<string>() == "Unhealthy")
                {
                    unhealthy++;
                    reason = clickhouse["description"]?.GetValue<string>();
                }
                inFlight = Siyu.Ingest.IngestMetrics.InFlight.Value;
                var held = sinks.Statuses.Sum(s => s.RowsHeld);
                if (inFlight > peakInFlight)
                {
                    (peakInFlight, lastTakenAt) = (inFlight, clock.Elapsed);
                }
                peakHeld = Math.Max(peakHeld, held);
                output.WriteLine($"  t={clock.Elapsed.TotalSeconds,4:0}s sent {Volatile.Read(ref sent),3}/{during.Count} health {(int)status} "
                    + $"accepted +{node.Tally.Accepted - acceptedBefore} in flight {inFlight} (limit {Siyu.Ingest.IngestMetrics.InFlightLimit.Value}) "
                    + $"committed +{Committed(broker.BootstrapServers, group) - committedBefore} rows held {held}");
            }
            await sending;
            var heldCommits = Uncommitted(broker.BootstrapServers, group);
            var acceptedDuring = node.Tally.Accepted - acceptedBefore;
            var retries = SinkMetrics.Retries.WithLabels("attributed_sales").Value - retriesBefore;
            var failing = sinks.Statuses.Where(s => s.Failing).Select(s => s.Table).ToList();
            var leftInKafka = during.Count - acceptedDuring - (long)inFlight;
            output.WriteLine(leftInKafka > 0
                ? $"ingest took events in (held uncommitted) for {lastTakenAt.TotalSeconds:0} s, then backpressured: bound {Siyu.Ingest.IngestMetrics.InFlightLimit.Value}, {inFlight} in flight, {leftInKafka} messages left in Kafka"
                : $"ingest kept taking every event in ({inFlight} in flight, uncommitted): no backpressure within {OutageSeconds} s");
            output.WriteLine($"outage over: {heldCommits} of {during.Count} messages uncommitted, {acceptedDuring} accepted during it, "
                + $"peak {peakInFlight} in flight, peak {peakHeld} rows held, {retries} retries of attributed_sales, {outage.Refused} ClickHouse calls refused; "
                + $"/health 503 naming clickhouse {unhealthy} times: {reason}");

            // Back: the rest arrives, and everything catches up.
            outage.Down = false;
            var recovering = Stopwatch.StartNew();
            foreach (var e in after)
            {
                await Send(producer, e);
            }
            await Until(() => Task.FromResult(Uncommitted(broker.BootstrapServers, group) == 0), "every offset committed", 120);
            var caughtUp = recovering.Elapsed;
            var campaigns = await Mismatches.Eventually(() => CampaignMismatches(node, set), 30);
            var customers = await Mismatches.Eventually(() => CustomerMismatches(node, engine, set), 30);
            (status, var healthAfter) = await Health(node);
            for (var i = 0; i < 30 && status != HttpStatusCode.OK; i++)
            {
                await Task.Delay(1000);
                (status, healthAfter) = await Health(node);
            }
            var salesRows = set.Customers.Sum(c => c.Orders + c.Refunds);
            var stored = await Scalar(engine, $"SELECT count() FROM siyu.attributed_sales WHERE startsWith(event_id, 'chdown{run}-')");
            var deadLetters = Messages(broker.BootstrapServers, _topics.DeadLetter);
            output.WriteLine($"caught up {caughtUp.TotalSeconds:0.0} s after ClickHouse returned; attributed_sales {stored} rows for {salesRows} orders and refunds; "
                + $"{deadLetters} dead letters; /health {(int)status}: {healthAfter?["checks"]?["clickhouse"]?["description"]}");

            Assert.True(unhealthy > 0, "/health never reported ClickHouse failing during the outage");
            Assert.Contains("ClickHouse inserts failing", reason);
            Assert.Contains("siyu.attributed_sales", reason);
            Assert.Contains("siyu.attributed_sales", failing);
            Assert.True(retries >= 2, $"only {retries} retries of attributed_sales during the outage");
            Assert.True(heldCommits > 0, "nothing was held uncommitted while ClickHouse was down: rows cannot have waited for it");
            Assert.True(acceptedDuring < during.Count, "every event sent during the outage was acknowledged without ClickHouse");
            Assert.Equal(0, deadLetters);
            Assert.True(campaigns.Count == 0, "ClickHouse (live campaign API) differs from the input:\n" + string.Join('\n', campaigns.Take(20)));
            Assert.True(customers.Count == 0, "customers or ClickHouse profiles differ from the input:\n" + string.Join('\n', customers.Take(20)));
            Assert.Equal((ulong)salesRows, stored); // each order and refund once, none lost, none twice
            Assert.Equal(HttpStatusCode.OK, status);
            Assert.DoesNotContain(sinks.Statuses, s => s.Failing);
        }
        finally
        {
            await node.DisposeAsync();
            try
            {
                Directory.Delete(dir, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private Task Send(IProducer<byte[]?, byte[]> producer, SentEvent e) =>
        producer.ProduceAsync(_topics.Prefix + e.Channel, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(e.Key), Value = e.Bytes });

    private static async Task<(HttpStatusCode Status, JsonNode? Body)> Health(TestNode node)
    {
        var r = await node.Http.GetAsync("/health");
        return (r.StatusCode, JsonNode.Parse(await r.Content.ReadAsStringAsync()));
    }

    private static async Task<ulong> Scalar(IClickHouse engine, string sql) =>
        ulong.Parse((await engine.QueryAsync(sql, format: "TabSeparated")).Trim(), CultureInfo.InvariantCulture);

    private static async Task Until(Func<Task<bool>> probe, string what, int seconds)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!await probe())
        {
            Assert.True(DateTime.UtcNow < deadline, $"timed out waiting for {what}");
            await Task.Delay(200);
        }
    }

    /// <summary>ClickHouse through GET /v1/campaigns/{id}/live, against the per-campaign truth.</summary>
    private static async Task<List<string>> CampaignMismatches(TestNode node, EventSet set)
    {
        var problems = new List<string>();
        var from = Uri.EscapeDataString(set.From.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        var to = Uri.EscapeDataString(set.To.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        foreach (var c in set.Campaigns)
        {
            var r = await node.Http.GetAsync($"/v1/campaigns/{c.CampaignId}/live?from={from}&to={to}");
            if (r.StatusCode != HttpStatusCode.OK)
            {
                problems.Add($"{c.CampaignId}: {(int)r.StatusCode}");
                continue;
            }
            var live = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
            Check(problems, c.CampaignId, "revenue", c.Revenue, live["revenue"]!.GetValue<decimal>());
            Check(problems, c.CampaignId, "refund_amount", c.RefundAmount, live["refund_amount"]!.GetValue<decimal>());
            Check(problems, c.CampaignId, "orders", (ulong)c.Orders, live["orders"]!.GetValue<ulong>());
            Check(problems, c.CampaignId, "refunds", (ulong)c.Refunds, live["refunds"]!.GetValue<ulong>());
        }
        return problems;
    }

    /// <summary>Each customer through the lookup API (the actors), and its row in ClickHouse profiles.</summary>
    private static async Task<List<string>> CustomerMismatches(TestNode node, IClickHouse engine, EventSet set)
    {
        var problems = new List<string>();
        var byId = new Dictionary<string, CustomerTruth>();
        foreach (var c in set.Customers)
        {
            var r = await node.Http.GetAsync($"/v1/customers/lookup?member_id={Uri.EscapeDataString(c.MemberId)}");
            if (r.StatusCode != HttpStatusCode.OK)
            {
                problems.Add($"{c.MemberId}: lookup {(int)r.StatusCode}");
                continue;
            }
            var profile = JsonNode.Parse(await r.Content.ReadAsStringAsync())!;
            var stats = profile["stats"]!;
            Check(problems, c.MemberId, "orders", c.Orders, stats["orders"]!.GetValue<int>());
            Check(problems, c.MemberId, "revenue", c.Revenue, stats["revenue"]!.GetValue<decimal>());
            Check(problems, c.MemberId, "refunds", c.Refunds, stats["refunds"]!.GetValue<int>());
            Check(problems, c.MemberId, "refund_amount", c.RefundAmount, stats["refund_amount"]!.GetValue<decimal>());
            if (c.AppUserId is { } app && !(profile["ids"]?["app_user_id"]?.AsArray() ?? []).Any(v => v!.GetValue<string>() == app))
            {
                problems.Add($"{c.MemberId}: app_user_id {app} not stitched in");
            }
            byId[profile["customer_id"]!.GetValue<string>()] = c;
        }
        var rows = await engine.QueryRowsAsync<ProfileTotals>(
            "SELECT customer_id, orders, revenue, refunds, refund_amount FROM siyu.profiles FINAL WHERE customer_id IN {ids:Array(String)}",
            new Dictionary<string, string> { ["ids"] = ClickHouseParam.Of(byId.Keys) });
        var found = rows.ToDictionary(p => p.CustomerId);
        foreach (var (id, c) in byId)
        {
            if (!found.TryGetValue(id, out var p))
            {
                problems.Add($"{c.MemberId}: no row in ClickHouse profiles");
                continue;
            }
            Check(problems, c.MemberId, "profiles.orders", (uint)c.Orders, p.Orders);
            Check(problems, c.MemberId, "profiles.revenue", c.Revenue, p.Revenue);
            Check(problems, c.MemberId, "profiles.refunds", (uint)c.Refunds, p.Refunds);
            Check(problems, c.MemberId, "profiles.refund_amount", c.RefundAmount, p.RefundAmount);
        }
        return problems;
    }

    private sealed record ProfileTotals(string CustomerId, uint Orders, decimal Revenue, uint Refunds, decimal RefundAmount);

    private static void Check<T>(List<string> problems, string who, string what, T expected, T actual)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            problems.Add($"{who}: {what} expected {expected}, got {actual}");
        }
    }

    private static int Partitions(IAdminClient admin, string topic) =>
        admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Count;

    /// <summary>Messages of <paramref name="topic"/> (high minus low watermark over its partitions).</summary>
    private static long Messages(string bootstrap, string topic)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = "count-" + Guid.NewGuid().ToString("N") }).Build();
        return Enumerable.Range(0, Partitions(admin, topic))
            .Select(p => consumer.QueryWatermarkOffsets(new TopicPartition(topic, p), TimeSpan.FromSeconds(10)))
            .Sum(w => w.High.Value - w.Low.Value);
    }

    private List<(TopicPartitionOffset Committed, long High)> Offsets(string bootstrap, string group)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig { BootstrapServers = bootstrap, GroupId = group, EnableAutoCommit = false }).Build();
        var tps = _topics.Inputs.SelectMany(t => Enumerable.Range(0, Partitions(admin, t)).Select(p => new TopicPartition(t, p))).ToList();
        return consumer.Committed(tps, TimeSpan.FromSeconds(10))
            .Select(c => (c, consumer.QueryWatermarkOffsets(c.TopicPartition, TimeSpan.FromSeconds(10)).High.Value))
            .ToList();
    }

    /// <summary>Input messages before the group's committed offsets.</summary>
    private long Committed(string bootstrap, string group) => Offsets(bootstrap, group).Sum(o => Math.Max(0, o.Committed.Offset.Value));

    /// <summary>Input messages after the group's committed offsets: not yet durably handled.</summary>
    private long Uncommitted(string bootstrap, string group) => Offsets(bootstrap, group).Sum(o => o.High - Math.Max(0, o.Committed.Offset.Value));
}
