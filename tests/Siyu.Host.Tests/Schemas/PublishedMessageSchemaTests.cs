using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Kafka;
using Xunit.Abstractions;

namespace Siyu.Host.Tests.Schemas;

/// <summary>
/// What a real node publishes on siyu.profiles, siyu.profile-changes, siyu.audiences and
/// siyu.deadletter, read back from its broker, passes schemas/topics/*.schema.json: customers
/// created, linked and merged, in groups and tagged, with an audience rule and a service task
/// due in seconds, an erasure, and messages refused by the parser and by the customer entity.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class PublishedMessageSchemaTests(NodeFixture fixture, ITestOutputHelper output)
{
    private static readonly TopicSchemas Schemas = TopicSchemas.Load();

    [Fact]
    public async Task Every_message_a_node_publishes_passes_its_topics_schema()
    {
        var run = Guid.NewGuid().ToString("N")[..6];
        var t0 = DateTimeOffset.UtcNow.AddMinutes(-30);
        var topics = new Topics();
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 2 });
        foreach (var t in topics.All)
        {
            broker.CreateTopic(t);
        }
        var dir = Directory.CreateTempSubdirectory("siyu-schemas-").FullName;
        var node = await TestNode.StartAsync(broker.BootstrapServers, dir, fixture.ChDbPath, new Dictionary<string, string?>
        {
            ["Audiences:private"] = "in_private_domain",
            ["Operations:ServiceTasks"] = "comfort_check=1s",
            ["Customers:RefundGraceSeconds"] = "1",
        });
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        try
        {
            CustomerIds Ids(string member, string? phone = null, string? openid = null, string? external = null, string? app = null) => new()
            {
                MemberId = member is "" ? null : $"{member}-{run}", Phone = phone, OpenId = openid is null ? null : $"{openid}-{run}",
                ExternalUserId = external is null ? null : $"{external}-{run}", AppUserId = app is null ? null : $"{app}-{run}",
            };
            var a = Ids("MA", phone: "13912340001");
            var events = new InputEvent[]
            {
                new OrderPlaced
                {
                    EventId = $"o1-{run}", OccurredAt = t0, Channel = Channel.Pos, StoreId = "S1", Ids = a, OrderId = $"O1-{run}", Amount = 120m,
                    Items = [new LineItem("CHERRY", 2, 60m)], Payment = Payment.WecomCollect, GuideId = "G1",
                },
                new OrderRefunded { EventId = $"r1-{run}", OccurredAt = t0.AddMinutes(1), Channel = Channel.Pos, StoreId = "S1", Ids = a, OrderId = $"O1-{run}", Amount = 20m },
                new OrderPlaced
                {
                    EventId = $"o2-{run}", OccurredAt = t0.AddMinutes(2), Channel = Channel.MiniProgram, Ids = Ids("", openid: "OB"), OrderId = $"O2-{run}", Amount = 30m,
                    Items = [new LineItem("APPLE", 3, 10m)], Payment = Payment.WechatPay,
                },
                // The mini-program customer binds A's phone: two customers become one.
                new PhoneBound { EventId = $"b1-{run}", OccurredAt = t0.AddMinutes(3), Channel = Channel.MiniProgram, Ids = Ids("", phone: "13912340001", openid: "OB") },
                new LoggedIn { EventId = $"l1-{run}", OccurredAt = t0.AddMinutes(4), Channel = Channel.App, Ids = Ids("MA", app: "AA") },
                new ContactAdded { EventId = $"c1-{run}", OccurredAt = t0.AddMinutes(5), Channel = Channel.Group, Ids = Ids("MA", external: "WA"), GuideId = "G1" },
                new GroupJoined { EventId = $"g1-{run}", OccurredAt = t0.AddMinutes(6), Channel = Channel.Group, Ids = Ids("", external: "WA"), GroupId = "GR1" },
                new Tagged { EventId = $"t1-{run}", OccurredAt = t0.AddMinutes(7), Channel = Channel.Group, Ids = Ids("", external: "WA"), Tags = new Dictionary<string, string> { ["shoe_size"] = "42" } },
                new ProfileUpdated
                {
                    EventId = $"p1-{run}", OccurredAt = t0.AddMinutes(8), Channel = Channel.Group, Ids = Ids("", external: "WA"), Name = "Li",
                    Birthday = DateOnly.FromDateTime(DateTime.UtcNow.AddDays(3).AddYears(-30)),
                },
                new GroupLeft { EventId = $"g2-{run}", OccurredAt = t0.AddMinutes(9), Channel = Channel.Group, Ids = Ids("", external: "WA"), GroupId = "GR1" },
                new OrderPlaced
                {
                    EventId = $"o3-{run}", OccurredAt = t0.AddMinutes(10), Channel = Channel.App, Ids = Ids("MC"), OrderId = $"O3-{run}", Amount = 9.9m,
                    Items = [new LineItem("PEAR", 1, 9.9m)], Payment = Payment.Card,
                },
                // The customer entity refuses this one after the grace (refund_unmatched).
                new OrderRefunded { EventId = $"r9-{run}", OccurredAt = t0.AddMinutes(11), Channel = Channel.Pos, Ids = Ids("MD"), OrderId = $"NEVER-{run}", Amount = 5m },
            };
            foreach (var e in events)
            {
                await producer.ProduceAsync(topics.Input(e.Channel), new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes(e.Ids.All().First().Value), Value = EventWriter.ToUtf8Json(e) });
                await Task.Delay(50);
                if (e is OrderPlaced order)
                {
                    // The merge needs both customers first, and events of different keys may be handled in any order.
                    var (type, value) = order.Ids.All().First();
                    var found = await NodeFixture.Eventually(() => node.Http.GetAsync($"/v1/customers/lookup?{type.WireName()}={Uri.EscapeDataString(value)}"),
                        r => r.StatusCode == HttpStatusCode.OK, seconds: 60);
                    Assert.Equal(HttpStatusCode.OK, found.StatusCode);
                }
                if (e is GroupJoined)
                {
                    // Changes are read off the saved states: a join and a leave saved together cancel out.
                    await NodeFixture.Eventually(async () =>
                        {
                            await Task.Delay(500);
                            return Changes(ReadAll(broker.BootstrapServers, [topics.ProfileChanges])[topics.ProfileChanges]);
                        }, kinds => kinds.Contains("group_joined"), seconds: 60);
                }
            }
            // The parser refuses these; one is not UTF-8 (its raw is base64).
            foreach (var bad in new[]
            {
                Encoding.UTF8.GetBytes($$$"""{"event_id":"x1-{{{run}}}","type":"order","occurred_at":"{{{t0:O}}}","ids":{"member_id":"MX"},"order_id":"O","amount":-1,"items":[{"sku":"A","qty":1,"price":1}],"payment":"cash"}"""),
                Encoding.UTF8.GetBytes($$$"""{"event_id":"x2-{{{run}}}","type":"teleport","occurred_at":"{{{t0:O}}}","ids":{"member_id":"MX"}}"""),
                [0x7B, 0xC3, 0x28, 0xFF, 0x7D],
            })
            {
                await producer.ProduceAsync(topics.Input(Channel.Pos), new Message<byte[]?, byte[]> { Key = null, Value = bad });
            }

            // Erase the customer who ordered in the app: a tombstone follows its profile.
            var erased = await NodeFixture.Eventually(async () =>
                {
                    var r = await node.Http.GetAsync($"/v1/customers/lookup?member_id=MC-{run}");
                    return r.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await r.Content.ReadAsStringAsync())!["customer_id"]!.GetValue<string>() : null;
                }, id => id is not null, seconds: 60);
            Assert.NotNull(erased);
            Assert.Equal(HttpStatusCode.OK, (await node.Http.DeleteAsync($"/v1/customers/{erased}")).StatusCode);

            // Read everything back once the last kinds expected have arrived.
            Dictionary<string, List<Message<byte[]?, byte[]?>>> all = [];
            await NodeFixture.Eventually(async () =>
                {
                    await Task.Delay(1000); // each probe reads every topic from the start
                    all = ReadAll(broker.BootstrapServers, [topics.Profiles, topics.ProfileChanges, topics.Audiences, topics.DeadLetter]);
                    return all;
                },
                m => Changes(m[topics.ProfileChanges]).Contains("merged") && Changes(m[topics.ProfileChanges]).Contains("service_due")
                    && m[topics.DeadLetter].Count >= 4 && m[topics.Audiences].Count >= 1 && m[topics.Profiles].Any(x => x.Value is null),
                seconds: 90);

            var kinds = Changes(all[topics.ProfileChanges]);
            output.WriteLine($"profiles {all[topics.Profiles].Count} (tombstones {all[topics.Profiles].Count(m => m.Value is null)}), changes {string.Join(", ", kinds.Order(StringComparer.Ordinal))}, audiences {all[topics.Audiences].Count}, dead letters {all[topics.DeadLetter].Count}");
            foreach (var kind in new[] { "created", "merged", "joined_private_domain", "group_joined", "group_left", "tag_changed", "service_due" })
            {
                Assert.Contains(kind, kinds);
            }
            var reasons = all[topics.DeadLetter].Select(m => JsonNode.Parse(m.Value!)!["reason"]!.GetValue<string>()).ToHashSet();
            Assert.Superset(new HashSet<string> { "negative_amount", "unknown_type", "invalid_utf8", "refund_unmatched" }, reasons);

            var problems = new List<string>();
            foreach (var (topic, messages) in all)
            {
                foreach (var m in messages)
                {
                    if (m.Value is null)
                    {
                        Assert.Equal(topics.Profiles, topic); // only an erasure's tombstone is null
                        continue;
                    }
                    if (Schemas.Problems(TopicSchemas.TopicFile(topic), m.Value) is { } p)
                    {
                        problems.Add($"{topic}: {p}\n  {Encoding.UTF8.GetString(m.Value)}");
                    }
                }
            }
            Assert.True(problems.Count == 0, string.Join("\n", problems.Take(10)));
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

    private static HashSet<string> Changes(List<Message<byte[]?, byte[]?>> messages) =>
        messages.Where(m => m.Value is not null).Select(m => JsonNode.Parse(m.Value!)!["change"]!.GetValue<string>()).ToHashSet();

    private static Dictionary<string, List<Message<byte[]?, byte[]?>>> ReadAll(string bootstrap, string[] topics)
    {
        using var admin = new AdminClientBuilder(new AdminClientConfig { BootstrapServers = bootstrap }).Build();
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap, GroupId = "schemas-" + Guid.NewGuid().ToString("N"), EnableAutoCommit = false,
        }).Build();
        var result = new Dictionary<string, List<Message<byte[]?, byte[]?>>>();
        foreach (var topic in topics)
        {
            var list = new List<Message<byte[]?, byte[]?>>();
            var partitions = admin.GetMetadata(topic, TimeSpan.FromSeconds(10)).Topics.Single().Partitions.Select(p => new TopicPartition(topic, p.PartitionId)).ToList();
            foreach (var tp in partitions)
            {
                var high = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(10)).High.Value;
                if (high == 0)
                {
                    continue;
                }
                consumer.Assign(new TopicPartitionOffset(tp, Offset.Beginning));
                var deadline = DateTime.UtcNow.AddSeconds(10);
                // A fresh assignment can take longer than one poll to fetch: read up to the high mark, not to the first empty poll.
                while (DateTime.UtcNow < deadline)
                {
                    if (consumer.Consume(TimeSpan.FromMilliseconds(500)) is not { } cr)
                    {
                        continue;
                    }
                    list.Add(cr.Message);
                    if (cr.Offset.Value >= high - 1)
                    {
                        break;
                    }
                }
            }
            result[topic] = list;
        }
        return result;
    }
}
