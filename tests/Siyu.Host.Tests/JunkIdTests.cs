using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts.Events;
using Siyu.Ingest;
using Siyu.Tests.Shared;

namespace Siyu.Host.Tests;

/// <summary>
/// Issue #15: "N/A" and "-" once hashed to one phone and merged two members, and a lookup by a
/// junk phone then showed that person. Every junk value is thrown at ingest (beside a real id,
/// in every id type) and at the lookup API of a real node.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class JunkIdTests(NodeFixture node)
{
    private const string At = "2026-11-23T10:15:00+08:00";
    private static readonly string[] LinkTypes = ["member_id", "phone", "unionid", "external_userid", "app_user_id", "device_id"];

    private static string Json(string s) => System.Text.Json.JsonSerializer.Serialize(s);

    private async Task Send(string eventId, string ids) =>
        await node.Producer.ProduceAsync(node.Topics.Input(Channel.MiniProgram), new Message<byte[]?, byte[]>
        {
            Key = Encoding.UTF8.GetBytes(eventId),
            Value = Encoding.UTF8.GetBytes($$"""{"event_id":"{{eventId}}","type":"page_view","occurred_at":"{{At}}","ids":{{{ids}}},"page":"/home"}"""),
        });

    private async Task<(HttpStatusCode Status, JsonObject? Body)> GetJson(string url)
    {
        var response = await node.Http.GetAsync(url);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length > 0 ? JsonNode.Parse(text) as JsonObject : null);
    }

    [Fact]
    public async Task No_junk_value_ever_merges_two_customers_or_finds_one()
    {
        var junk = JunkIds.AnyType.Concat(JunkIds.PhoneOnly).ToList();
        Assert.True(junk.Count >= 30);
        for (var i = 0; i < junk.Count; i++)
        {
            // Two strangers given the same junk value in every id type it could link through.
            var types = i < JunkIds.AnyType.Count ? LinkTypes : ["phone"];
            var shared = string.Join(",", types.Select(t => $"{Json(t)}:{Json(junk[i])}"));
            await Send($"junk-a-{i}", $"\"openid\":\"JUNK-A-{i}\",{shared}");
            await Send($"junk-b-{i}", $"\"openid\":\"JUNK-B-{i}\",{shared}");
            // Alone, the value is no id at all: dead-lettered, never a customer.
            await Send($"junk-only-{i}", shared);
        }

        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < junk.Count; i++)
        {
            var a = await NodeFixture.Eventually(() => GetJson($"/v1/customers/lookup?openid=JUNK-A-{i}"), r => r.Status == HttpStatusCode.OK);
            var b = await NodeFixture.Eventually(() => GetJson($"/v1/customers/lookup?openid=JUNK-B-{i}"), r => r.Status == HttpStatusCode.OK);
            Assert.Equal((HttpStatusCode.OK, HttpStatusCode.OK), (a.Status, b.Status));
            foreach (var profile in new[] { a.Body!, b.Body! })
            {
                // One customer per stranger, holding only its openid: the junk linked nothing.
                Assert.True(seen.Add((string)profile["customer_id"]!), $"'{junk[i]}' merged two customers");
                Assert.Empty(profile["merged_from"]!.AsArray());
                Assert.True(profile["ids"]!.AsObject().Select(kv => kv.Key).SequenceEqual(["openid"]), $"'{junk[i]}' linked: {profile["ids"]!.ToJsonString()}");
            }
        }

        // The lookup refuses every junk value with a 400 that says why, by every id it takes.
        foreach (var value in JunkIds.AnyType)
        {
            foreach (var type in new[] { "member_id", "phone", "unionid", "openid", "external_userid", "app_user_id" })
            {
                var (status, body) = await GetJson($"/v1/customers/lookup?{type}={Uri.EscapeDataString(value)}");
                Assert.True(status == HttpStatusCode.BadRequest, $"{type}={value}: {status} {body}");
                Assert.Contains(value.Trim().Length == 0 ? "non-empty" : "placeholder", (string)body!["error"]!);
            }
        }
        foreach (var value in JunkIds.PhoneOnly)
        {
            var (status, body) = await GetJson($"/v1/customers/lookup?phone={Uri.EscapeDataString(value)}");
            Assert.True(status == HttpStatusCode.BadRequest, $"phone={value}: {status} {body}");
        }

        // Each junk-only event is in the dead-letter topic with the reason no usable id.
        var reasons = ReadDeadLetters(junk.Count);
        for (var i = 0; i < junk.Count; i++)
        {
            Assert.True(reasons.TryGetValue($"junk-only-{i}", out var reason), $"junk-only-{i} ('{junk[i]}') not dead-lettered");
            Assert.True(reason is "no_usable_ids" or "missing_ids", $"'{junk[i]}': {reason}");
        }
    }

    private Dictionary<string, string> ReadDeadLetters(int expected)
    {
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(new ConsumerConfig
        {
            BootstrapServers = node.Broker.BootstrapServers,
            GroupId = "junk-" + Guid.NewGuid().ToString("N"),
            AutoOffsetReset = AutoOffsetReset.Earliest,
        }).Build();
        consumer.Subscribe(node.Topics.DeadLetter);
        var found = new Dictionary<string, string>(StringComparer.Ordinal);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (found.Count < expected && DateTime.UtcNow < deadline)
        {
            if (consumer.Consume(TimeSpan.FromMilliseconds(200)) is { } cr)
            {
                var record = DeadLetterPublisher.Read(cr.Message.Value);
                if (JsonNode.Parse(record.Raw)?["event_id"]?.GetValue<string>() is { } id && id.StartsWith("junk-only-", StringComparison.Ordinal))
                {
                    found[id] = record.Reason;
                }
            }
        }
        consumer.Close();
        return found;
    }
}
