using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Kafka;
using Siyu.Sinks.ClickHouse.Embedded;
using Xunit.Abstractions;

namespace Siyu.Host.Tests;

/// <summary>
/// Issue #15: after `siyu simulate --stores 2 --customers 60 --days 1`, 18 of 25 merged customers
/// reported created_at 0001-01-01. Merges racing through a real node: every surviving customer's
/// created_at, on the API, on siyu.profiles and in ClickHouse, is the earliest occurred_at of the
/// events that carry any of its ids, computed here from the input events alone.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class MergedCreatedAtTests(NodeFixture fixture, ITestOutputHelper output)
{
    private const int People = 20;

    private static PageViewed View(string id, DateTimeOffset at, CustomerIds ids) => new()
    {
        EventId = id, OccurredAt = at, Channel = Channel.MiniProgram, Ids = ids, Page = "/home",
    };

    [Fact]
    public async Task A_merged_customer_was_created_when_the_earliest_of_its_customers_was_on_the_api_the_topic_and_clickhouse()
    {
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 4 });
        var topics = new Topics();
        foreach (var t in topics.All)
        {
            broker.CreateTopic(t);
        }
        var dir = Directory.CreateTempSubdirectory("siyu-created-").FullName;
        await using var node = await TestNode.StartAsync(broker.BootstrapServers, dir, fixture.ChDbPath, new Dictionary<string, string?>
        {
            ["Kafka:GroupId"] = "created-" + Guid.NewGuid().ToString("N"),
        });

        // Per person: an openid and, an hour later, a member id, each its own customer; then at
        // once, on keys that spread them over partitions, an event linking both with a new unionid
        // and a late event, earliest of all, linking the member id to a new app user and device.
        // New ids claimed while their customers merge is how customers that observed nothing got
        // merged away and handed over year 1.
        var run = Guid.NewGuid().ToString("N")[..6];
        // Whole seconds: the wire carries milliseconds.
        var t0 = DateTimeOffset.FromUnixTimeSeconds(DateTimeOffset.UtcNow.AddDays(-1).ToUnixTimeSeconds());
        List<InputEvent> first = [], then = [];
        for (var i = 0; i < People; i++)
        {
            var openid = new CustomerIds { OpenId = $"O-{run}-{i}" };
            var member = new CustomerIds { MemberId = $"M-{run}-{i}" };
            first.Add(View($"e1-{run}-{i}", t0.AddMinutes(i), openid));
            first.Add(View($"e2-{run}-{i}", t0.AddHours(1).AddMinutes(i), member));
            then.Add(View($"e3-{run}-{i}", t0.AddHours(2).AddMinutes(i), openid with { MemberId = member.MemberId, UnionId = $"U-{run}-{i}" }));
            then.Add(View($"e4-{run}-{i}", t0.AddHours(-3).AddMinutes(i), member with { AppUserId = $"A-{run}-{i}", DeviceId = $"D-{run}-{i}" }));
            // The resolver's common case: a known openid, later beside a new member id (claimed for
            // a fresh customer that never observes anything and is merged away at once).
            var known = new CustomerIds { OpenId = $"Q-{run}-{i}" };
            first.Add(View($"q1-{run}-{i}", t0.AddMinutes(30 + i), known));
            then.Add(View($"q2-{run}-{i}", t0.AddHours(5).AddMinutes(i), known with { MemberId = $"QM-{run}-{i}" }));
        }
        List<InputEvent> sent = [.. first, .. then];
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        foreach (var phase in new[] { first, then })
        {
            foreach (var evt in phase)
            {
                producer.Produce(topics.Input(evt.Channel), new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(evt.EventId), Value = EventWriter.ToUtf8Json(evt) });
            }
            producer.Flush(TimeSpan.FromSeconds(30));
            var target = phase == first ? first.Count : sent.Count;
            var accepted = await NodeFixture.Eventually(() => Task.FromResult(node.Tally.Accepted), n => n >= target, seconds: 120);
            Assert.True(accepted >= target, $"{accepted} of {target} events accepted");
        }

        // The truth from the input alone: per id, the earliest event carrying it.
        var earliestById = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var evt in sent)
        {
            foreach (var (type, value) in evt.Ids.All())
            {
                var key = $"{type.WireName()}:{value}";
                earliestById[key] = earliestById.TryGetValue(key, out var t) && t <= evt.OccurredAt ? t : evt.OccurredAt;
            }
        }

        // The newest profile of every customer on siyu.profiles, once two reads agree (saves settle).
        var profiles = await ReadProfiles(broker.BootstrapServers, topics.Profiles);
        for (var read = 0; read < 10; read++)
        {
            await Task.Delay(1000);
            var again = await ReadProfiles(broker.BootstrapServers, topics.Profiles);
            var same = again.Count == profiles.Count && again.All(kv => profiles.TryGetValue(kv.Key, out var p) && p.ToJsonString() == kv.Value.ToJsonString());
            profiles = again;
            if (same)
            {
                break;
            }
        }
        var survivors = profiles.Values.Where(p => p["merged_into"] is null && p["merged_from"] is JsonArray { Count: > 0 }).ToList();
        var absorbed = profiles.Values.Where(p => p["merged_into"] is not null).ToList();
        output.WriteLine($"{sent.Count} events, {profiles.Count} customers, {survivors.Count} merged survivors, {absorbed.Count} absorbed");
        // Every person is one customer in the end; the first kind each the survivor of a merge.
        Assert.Equal(2 * People, profiles.Values.Count(p => p["merged_into"] is null));
        Assert.True(survivors.Count >= People, $"{survivors.Count} merged customers");

        var expected = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var p in profiles.Values.Where(p => p["merged_into"] is null))
        {
            var id = (string)p["customer_id"]!;
            var ids = p["ids"]!.AsObject().SelectMany(kv => kv.Value!.AsArray().Select(v => $"{kv.Key}:{(string)v!}")).ToList();
            var earliest = ids.Where(earliestById.ContainsKey).Select(i => earliestById[i]).DefaultIfEmpty().Min();
            Assert.True(earliest != default, $"customer {id} has none of the simulated ids: {string.Join(", ", ids)}");
            expected[id] = earliest;
            // The topic: never year 1, always the earliest of what was merged.
            Assert.True(At(p) == earliest, $"siyu.profiles: customer {id} (merged from {p["merged_from"]?.ToJsonString()}) created_at {p["created_at"]}, expected {earliest:O}");
        }
        // An absorbed customer is never older than its survivor.
        foreach (var a in absorbed)
        {
            var survivor = (string)a["merged_into"]!;
            if (expected.TryGetValue(survivor, out var s) && a["created_at"] is not null && At(a).Year > 1)
            {
                Assert.True(s <= At(a), $"survivor {survivor} created {s:O} after absorbed {a["customer_id"]} {a["created_at"]}");
            }
        }

        // The API, for every merged survivor.
        foreach (var p in survivors)
        {
            var id = (string)p["customer_id"]!;
            var body = JsonNode.Parse(await node.Http.GetStringAsync($"/v1/customers/{id}"))!;
            Assert.True(At(body) == expected[id], $"GET /v1/customers/{id}: created_at {body["created_at"]}, expected {expected[id]:O}");
        }

        // ClickHouse siyu.profiles: the same instant (to the column's millisecond), for every customer.
        var engine = ChDbEngine.Current!;
        var idList = string.Join(",", expected.Keys.Select(k => $"'{k}'"));
        var rows = await NodeFixture.Eventually(async () => (await engine.QueryAsync(
                $"SELECT customer_id, toUnixTimestamp64Milli(created_at) AS ms FROM siyu.profiles FINAL WHERE customer_id IN ({idList}) AND created_at IS NOT NULL FORMAT JSONEachRow"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToDictionary(r => (string)r["customer_id"]!, r => long.Parse(r["ms"]!.ToString(), CultureInfo.InvariantCulture)),
            r => r.Count >= expected.Count, seconds: 30);
        Assert.Equal(expected.Count, rows.Count);
        foreach (var (id, earliest) in expected)
        {
            Assert.True(rows[id] == earliest.ToUnixTimeMilliseconds(), $"ClickHouse profiles: customer {id} created_at {DateTimeOffset.FromUnixTimeMilliseconds(rows[id]):O}, expected {earliest:O}");
        }
    }

    private static DateTimeOffset At(JsonNode profile) =>
        DateTimeOffset.Parse((string)profile["created_at"]!, CultureInfo.InvariantCulture);

    /// <summary>The last value per key of the profiles topic up to its end now (a tombstone drops the customer).</summary>
    private static Task<Dictionary<string, JsonNode>> ReadProfiles(string bootstrap, string topic) => Task.Run(() =>
    {
        using var consumer = new ConsumerBuilder<string, string?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "created-probe-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest, EnableAutoCommit = false, EnablePartitionEof = true,
        }).Build();
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics[0].Partitions.Count;
        consumer.Assign(Enumerable.Range(0, partitions).Select(p => new TopicPartitionOffset(topic, p, Offset.Beginning)));
        var latest = new Dictionary<string, JsonNode>(StringComparer.Ordinal);
        var atEnd = new HashSet<int>();
        for (var deadline = DateTime.UtcNow.AddSeconds(30); atEnd.Count < partitions && DateTime.UtcNow < deadline;)
        {
            var r = consumer.Consume(TimeSpan.FromMilliseconds(500));
            if (r is null)
            {
                continue;
            }
            if (r.IsPartitionEOF)
            {
                atEnd.Add(r.Partition.Value);
                continue;
            }
            if (r.Message.Value is null)
            {
                latest.Remove(r.Message.Key);
            }
            else
            {
                latest[r.Message.Key] = JsonNode.Parse(r.Message.Value)!;
            }
        }
        Assert.True(atEnd.Count == partitions, $"read {atEnd.Count} of {partitions} partitions of {topic} to their end in 30 s");
        consumer.Close();
        return latest;
    });
}
