using System.Net;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Kafka;
using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Tests.Shared;

namespace Siyu.Host.Tests;

/// <summary>
/// Issue #15: who may read or erase a customer. A real node on its own embedded broker, reached
/// over HTTP with no credential, an unknown key, the pos key and the admin key: 401, 403 and 200
/// per endpoint and role, a 429 under a burst, and an audit row for each erasure and denial.
/// </summary>
[Collection(NodeCollection.Name)]
public sealed class ApiSecurityTests(NodeFixture fixture)
{
    private static readonly DateTimeOffset T0 = new(2026, 11, 23, 10, 0, 0, TimeSpan.FromHours(8));

    [Fact]
    public async Task Each_endpoint_answers_each_role_and_every_erasure_and_denial_is_audited()
    {
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 2 });
        var topics = new Topics();
        foreach (var t in topics.All)
        {
            broker.CreateTopic(t);
        }
        var dir = Directory.CreateTempSubdirectory("siyu-security-").FullName;
        // The node runs on the fixture's clock (T0 is a day before it); audit rows carry its time.
        var since = fixture.Clock.GetUtcNow().AddSeconds(-1);
        await using var node = await TestNode.StartAsync(broker.BootstrapServers, dir, fixture.ChDbPath, new Dictionary<string, string?>
        {
            ["Kafka:GroupId"] = "security-" + Guid.NewGuid().ToString("N"),
            ["Api:RatePerSecond"] = "5",
            ["Api:RateBurst"] = "40",
        }, clock: fixture.Clock);
        using var producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = broker.BootstrapServers }).Build();
        var run = Guid.NewGuid().ToString("N")[..8];
        var member = "SEC-" + run;
        await producer.ProduceAsync(topics.Input(Channel.Pos), new Message<byte[]?, byte[]>
        {
            Value = EventWriter.ToUtf8Json(new OrderPlaced
            {
                EventId = "sec-" + run, OccurredAt = T0, Channel = Channel.Pos, StoreId = "S001", Ids = new CustomerIds { MemberId = member },
                OrderId = "O-sec-" + run, Amount = 10m, Items = [new LineItem("CHERRY-5J", 1, 10m)], Payment = Payment.Cash,
            }),
        });
        using var admin = node.Client(TestApiKeys.Admin);
        using var pos = node.Client(TestApiKeys.Pos);
        using var none = node.Client(null);
        using var unknown = node.Client("sk_not-a-key-this-node-knows-000000000000000000");
        var found = await NodeFixture.Eventually(() => admin.GetAsync($"/v1/customers/lookup?member_id={member}"), r => r.StatusCode == HttpStatusCode.OK);
        var customerId = (string)JsonNode.Parse(await found.Content.ReadAsStringAsync())!["customer_id"]!;

        // Endpoint -> (no credential, unknown key, pos, admin).
        (HttpMethod Method, string Url, HttpStatusCode[] Expected)[] matrix =
        [
            (HttpMethod.Get, $"/v1/customers/lookup?member_id={member}", [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.OK]),
            (HttpMethod.Get, $"/v1/customers/{customerId}", [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.OK]),
            (HttpMethod.Get, "/v1/campaigns/FLASH-SEC/live", [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.OK]),
            (HttpMethod.Get, "/v1/sales/summary?by=store", [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.OK]),
            (HttpMethod.Get, "/openapi/v1.json", [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.OK, HttpStatusCode.OK]),
            (HttpMethod.Get, "/v1/cluster", [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.OK]),
            (HttpMethod.Get, "/health", [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK]),
            (HttpMethod.Get, "/metrics", [HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK]),
            (HttpMethod.Get, "/v1/no-such-path", [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.NotFound, HttpStatusCode.NotFound]),
            // The erasure last: pos may not, admin does.
            (HttpMethod.Delete, $"/v1/customers/{customerId}", [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Forbidden, HttpStatusCode.OK]),
        ];
        HttpClient[] callers = [none, unknown, pos, admin];
        string[] names = ["no credential", "unknown key", "pos", "admin"];
        var denials = 0;
        foreach (var (method, url, expected) in matrix)
        {
            for (var c = 0; c < callers.Length; c++)
            {
                using var response = await callers[c].SendAsync(new HttpRequestMessage(method, url));
                var body = await response.Content.ReadAsStringAsync();
                Assert.True(expected[c] == response.StatusCode, $"{method} {url} with {names[c]}: {(int)response.StatusCode} {body}");
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    denials++;
                    // The answer says what is missing, in JSON.
                    Assert.False(string.IsNullOrWhiteSpace((string?)JsonNode.Parse(body)?["error"]), body);
                }
                if (response.StatusCode == HttpStatusCode.Unauthorized)
                {
                    Assert.Contains("ApiKey", response.Headers.WwwAuthenticate.ToString());
                }
            }
        }
        // The OpenAPI document says which answers a credential can bring, and that /health needs none.
        var paths = JsonNode.Parse(await admin.GetStringAsync("/openapi/v1.json"))!["paths"]!;
        foreach (var (path, verb) in new[] { ("/v1/customers/lookup", "get"), ("/v1/customers/{customerId}", "delete"), ("/v1/cluster", "get"), ("/v1/sales/summary", "get") })
        {
            var responses = paths[path]?[verb]?["responses"]?.AsObject();
            Assert.True(responses is not null && new[] { "401", "403", "429" }.All(responses.ContainsKey), $"{verb} {path}: {responses?.ToJsonString()}");
        }

        // Erased for real: gone for the admin too, and a second erasure is audited as not found.
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync($"/v1/customers/lookup?member_id={member}")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await admin.DeleteAsync($"/v1/customers/{customerId}")).StatusCode);

        // A burst from one POS key: the bucket (40, refilled at 5/s) runs dry and the rest wait.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var burst = await Task.WhenAll(Enumerable.Range(0, 80).Select(i => pos.GetAsync($"/v1/customers/lookup?member_id=WALK-{run}-{i}")));
        var limited = burst.Where(r => r.StatusCode == HttpStatusCode.TooManyRequests).ToList();
        Assert.InRange(limited.Count, 20, 80 - 30);
        Assert.All(burst, r => Assert.True(r.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.TooManyRequests, r.StatusCode.ToString()));
        Assert.All(limited, r => Assert.True(r.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, "429 without Retry-After"));
        // Another key is not slowed by it.
        Assert.Equal(HttpStatusCode.OK, (await admin.GetAsync("/v1/cluster")).StatusCode);

        // The audit: one row per erasure (who, which customer, outcome) and per denial, no phone or query.
        var engine = ChDbEngine.Current!;
        async Task<List<JsonObject>> Rows() => (await engine.QueryAsync(
                $"SELECT action, outcome, status, principal, auth_method, role, method, route, customer_id, detail FROM siyu.audit_log WHERE at >= fromUnixTimestamp64Milli({since.ToUnixTimeMilliseconds()}) ORDER BY at FORMAT JSONEachRow"))
            .Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!.AsObject()).ToList();
        var rows = await NodeFixture.Eventually(Rows, r =>
            r.Count(x => (string)x["action"]! == "erase" && (string)x["customer_id"]! == customerId) >= 2
            && r.Count(x => (string)x["outcome"]! is "unauthenticated" or "forbidden") >= denials
            && r.Count(x => (string)x["outcome"]! == "rate_limited") >= limited.Count);
        // Other tests of this process erase customers of their own in the same table.
        var erasures = rows.Where(r => (string)r["action"]! == "erase" && (string)r["customer_id"]! == customerId).ToList();
        Assert.Equal([("erased", 200), ("not_found", 404)], erasures.Select(r => ((string)r["outcome"]!, (int)r["status"]!)));
        Assert.All(erasures, r => Assert.Equal((TestApiKeys.AdminName, "api_key", "admin", customerId), ((string)r["principal"]!, (string)r["auth_method"]!, (string)r["role"]!, (string)r["customer_id"]!)));
        var denied = rows.Where(r => (string)r["action"]! == "denied").ToList();
        Assert.Equal(denials, denied.Count(r => (string)r["outcome"]! is "unauthenticated" or "forbidden"));
        Assert.Equal(limited.Count, denied.Count(r => (string)r["outcome"]! == "rate_limited"));
        Assert.Contains(denied, r => (string)r["outcome"]! == "forbidden" && (string)r["principal"]! == TestApiKeys.PosName
            && (string)r["method"]! == "DELETE" && (string)r["customer_id"]! == customerId);
        Assert.Contains(denied, r => (string)r["outcome"]! == "unauthenticated" && (string)r["principal"]! == "" && ((string)r["detail"]!).Contains("unknown API key"));
        // No query string (it may hold a phone or a member id) and no key in any row.
        Assert.All(rows, r => Assert.DoesNotContain("?", (string)r["route"]!));
        Assert.DoesNotContain(rows, r => r.ToJsonString().Contains(member) || r.ToJsonString().Contains("sk_"));
    }

    [Fact]
    public void Settings_refuse_a_key_that_is_not_a_hash_and_a_run_with_no_credential_at_all()
    {
        var plain = Assert.Throws<Siyu.Host.Configuration.SettingsException>(() => Siyu.Host.Configuration.SettingsLoader.Load(
            Siyu.Host.Configuration.SettingsLoader.Build(null, new Dictionary<string, string?>
            {
                ["Kafka:BootstrapServers"] = "kafka:9092", ["Privacy:PhoneHashKey"] = "a-secret-of-at-least-16-bytes",
                ["Api:Keys:pos-s001:Role"] = "pos", ["Api:Keys:pos-s001:Hash"] = TestApiKeys.Pos,
            }), embedded: false));
        Assert.Contains("Api:Keys:pos-s001:Hash must be 'sha256:'", plain.Message);
    }

    [Fact]
    public async Task Siyu_run_with_no_key_exits_2_naming_the_setting_unless_told_to_run_open()
    {
        var env = new Dictionary<string, string>
        {
            ["SIYU_Kafka__BootstrapServers"] = "127.0.0.1:1",
            ["SIYU_Privacy__PhoneHashKey"] = "a-secret-of-at-least-16-bytes",
        };
        var (exit, _, stderr) = await SiyuProcess.RunAsync(["run"], env);
        Assert.Equal(2, exit);
        Assert.Contains("Api:Keys must name at least one key", stderr);
        Assert.Contains("Api:AllowAnonymous=true", stderr);
    }

    [Fact]
    public async Task Siyu_key_new_prints_a_key_once_and_settings_holding_only_its_hash()
    {
        var (exit, stdout, stderr) = await SiyuProcess.RunAsync(["key", "new", "--name", "pos-s001", "--role", "pos"]);
        Assert.True(exit == 0, stderr);
        var key = System.Text.RegularExpressions.Regex.Match(stdout, "sk_[A-Za-z0-9_-]{43}").Value;
        Assert.NotEmpty(key);
        Assert.Contains("SIYU_Api__Keys__pos-s001__Role=pos", stdout);
        Assert.Contains($"SIYU_Api__Keys__pos-s001__Hash={TestApiKeys.Hash(key)}", stdout);
        Assert.Single(System.Text.RegularExpressions.Regex.Matches(stdout.Replace($"'X-Api-Key: {key}'", ""), key));
    }
}
