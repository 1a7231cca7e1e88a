using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Contracts.Validation;
using Siyu.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests.Fuzz;

/// <summary>
/// Issue 7.5, end to end against `siyu run`: seeded hostile HTTP requests never get a 5xx, and a
/// 400 always says what is wrong; seeded hostile Kafka messages all land in siyu.deadletter with
/// the reason the parser gives them, and the node keeps running.
/// </summary>
public sealed class ApiAndDeadLetterFuzzTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("siyu-fuzz-").FullName;

    private static int Seed => int.TryParse(Environment.GetEnvironmentVariable("SIYU_FUZZ_SEED"), out var s) ? s : 7;

    [Fact]
    public async Task Hostile_requests_get_no_5xx_and_hostile_messages_all_reach_the_dead_letter_topic_with_their_reason()
    {
        using var kafka = new TestKafka(partitions: 2);
        using var node = new NodeProcess(NodeProcess.Env(kafka.Bootstrap, _dir));
        await node.WaitHealthyAsync();

        // Kafka: every payload the parser rejects must come out on siyu.deadletter with its reason.
        var parser = new EventParser();
        var mutator = new Mutator(Seed);
        var expected = new Dictionary<(string, int, long), string>();
        for (var i = 0; i < 300; i++)
        {
            var (channel, payload, _) = mutator.Next();
            var topic = kafka.Topics.Input(channel);
            var verdict = parser.Parse(payload, channel);
            if (verdict.IsValid || payload.Length > 900 * 1024)
            {
                continue; // valid ones are ordinary events; the mock broker refuses > 1 MiB
            }
            var r = await kafka.Producer.ProduceAsync(topic, new Message<byte[]?, byte[]> { Key = Encoding.UTF8.GetBytes($"fuzz-{i}"), Value = payload });
            expected[(topic, r.Partition.Value, r.Offset.Value)] = verdict.Reason;
        }

        // HTTP, meanwhile.
        var rng = new Random(Seed);
        var requests = 0;
        for (var i = 0; i < 600; i++)
        {
            var (method, path) = Request(rng);
            using var message = new HttpRequestMessage(method, path);
            HttpResponseMessage response;
            try
            {
                response = await node.Http.SendAsync(message);
            }
            catch (UriFormatException)
            {
                continue; // HttpClient refused to send it; nothing reached the node
            }
            requests++;
            var body = await response.Content.ReadAsStringAsync();
            var where = $"seed {Seed} request {i}: {method} {path[..Math.Min(path.Length, 300)]} -> {(int)response.StatusCode} {body[..Math.Min(body.Length, 300)]}";
            Assert.True((int)response.StatusCode < 500, "server error: " + where + "\n" + node.Process.Tail(20));
            // Kestrel itself refuses a path that is not UTF-8 once decoded, before any Siyu code
            // runs, with a bare 400; every 400 of the application must say what is wrong.
            var refusedByKestrel = path.Split('?')[0].Contains("%ff", StringComparison.Ordinal);
            if (response.StatusCode == HttpStatusCode.BadRequest && !refusedByKestrel)
            {
                string? error = null;
                try
                {
                    error = JsonNode.Parse(body)?["error"]?.GetValue<string>();
                }
                catch (System.Text.Json.JsonException)
                {
                }
                Assert.False(string.IsNullOrWhiteSpace(error), "a 400 without an error message: " + where);
            }
        }

        var deadline = DateTime.UtcNow.AddSeconds(60);
        var found = DeadLetters(kafka);
        while (expected.Keys.Any(k => !found.ContainsKey(k)) && DateTime.UtcNow < deadline)
        {
            await Task.Delay(500);
            found = DeadLetters(kafka);
        }

        var missing = expected.Where(e => !found.ContainsKey(e.Key)).ToList();
        var wrong = expected.Where(e => found.TryGetValue(e.Key, out var reason) && reason != e.Value).ToList();
        output.WriteLine($"seed {Seed}: {requests} requests, {expected.Count} hostile messages, {found.Count} dead letters");
        Assert.True(missing.Count == 0, $"seed {Seed}: {missing.Count} rejected messages never reached the dead-letter topic, e.g. {missing.FirstOrDefault().Key}");
        Assert.True(wrong.Count == 0, $"seed {Seed}: wrong reasons, e.g. {wrong.FirstOrDefault()}");
        Assert.Equal(HttpStatusCode.OK, (await node.Http.GetAsync("/health")).StatusCode);
    }

    private static Dictionary<(string, int, long), string> DeadLetters(TestKafka kafka) =>
        kafka.ReadAll(kafka.Topics.DeadLetter)
            .Select(m => JsonNode.Parse(m.Value!)!)
            // At-least-once: a record may appear twice (a publish retried after a lost ack), with
            // the same reason; (topic, partition, offset) identifies it.
            .GroupBy(d => (d["topic"]!.GetValue<string>(), d["partition"]!.GetValue<int>(), d["offset"]!.GetValue<long>()))
            .ToDictionary(g => g.Key, g => string.Join("|", g.Select(d => d["reason"]!.GetValue<string>()).Distinct()));

    private static readonly string[] IdParams = ["member_id", "phone", "unionid", "openid", "external_userid", "app_user_id", "device_id", "customer_id", "", "x"];

    private static (HttpMethod, string) Request(Random rng)
    {
        string Junk() => rng.Next(8) switch
        {
            0 => "",
            1 => new string('a', rng.Next(129, 6000)),
            2 => "%00%ff%fe",
            3 => "c" + string.Concat(Enumerable.Range(0, 22).Select(_ => "0123456789abcdef"[rng.Next(16)])),
            4 => Uri.EscapeDataString("私域' OR 1=1 --\"\\{x:String}"),
            5 => "..%2F..%2Fetc%2Fpasswd",
            6 => Uri.EscapeDataString("\ud83c\udf52\t\n"),
            _ => rng.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        string Time() => rng.Next(8) switch
        {
            0 => "0001-01-01T00:00:00Z",
            1 => "9999-12-31T23:59:59Z",
            2 => "1969-12-31T23:59:59Z",
            3 => "2106-02-08T00:00:00Z",
            4 => "yesterday",
            5 => DateTimeOffset.UtcNow.AddDays(-rng.Next(0, 200)).ToString("O"),
            6 => "",
            _ => Junk(),
        };
        var method = rng.Next(10) switch { 0 => HttpMethod.Post, 1 => HttpMethod.Delete, 2 => HttpMethod.Put, _ => HttpMethod.Get };
        switch (rng.Next(5))
        {
            case 0:
                var query = string.Join("&", Enumerable.Range(0, rng.Next(0, 4)).Select(_ => $"{IdParams[rng.Next(IdParams.Length)]}={Junk()}"));
                return (method, "/v1/customers/lookup?" + query);
            case 1:
                return (method, "/v1/customers/" + Junk());
            case 2:
                var from = rng.Next(3) == 0 ? "" : "from=" + Uri.EscapeDataString(Time());
                var to = rng.Next(3) == 0 ? "" : "&to=" + Uri.EscapeDataString(Time());
                return (method, $"/v1/campaigns/{Junk()}/live?{from}{to}");
            case 3:
                string[] dimensions = ["rule", "campaign", "guide", "group", "store"];
                var by = rng.Next(3) == 0 ? Junk() : dimensions[rng.Next(dimensions.Length)];
                var since = rng.Next(3) == 0 ? "" : "&from=" + Uri.EscapeDataString(Time());
                var until = rng.Next(3) == 0 ? "" : "&to=" + Uri.EscapeDataString(Time());
                return (method, $"/v1/sales/summary?by={by}{since}{until}");
            default:
                return (method, "/v1/" + string.Join("/", Enumerable.Range(0, rng.Next(1, 4)).Select(_ => Junk())));
        }
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
