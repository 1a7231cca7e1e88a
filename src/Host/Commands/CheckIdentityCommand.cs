using System.CommandLine;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Confluent.Kafka;
using Siyu.Actors.Customers;
using Siyu.Actors.Identity;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Privacy;
using Siyu.Contracts.Validation;
using Siyu.Host.Configuration;
using Siyu.Kafka;

namespace Siyu.Host.Commands;

/// <summary>
/// `siyu check-identity`: finds customers holding the ids of more than one person, which a node
/// from before weak ids (issue 18) made when a shared device's id pulled a new app_user_id into
/// whoever owned the device. It reads the input topics from the start (as far as Kafka retains
/// them), groups the events' strong ids into people (<see cref="IdentityAudit"/>), asks a node's
/// lookup API where each id leads and what that customer holds, and reports every customer that
/// mixes people. Exit 0: none; 1: some (listed); 2: bad settings or an unreachable node/broker.
/// It changes nothing: such a customer is not split automatically (README "Checking identity").
/// </summary>
public static class CheckIdentityCommand
{
    private const int Problems = 2;

    public static Command Create()
    {
        var config = CommandSupport.ConfigOption();
        var bootstrap = new Option<string?>("--bootstrap", "-b") { Description = "host:port of a broker (default: Kafka:BootstrapServers)" };
        var api = new Option<string?>("--api") { Description = "Base URL of a node's HTTP API (default: the first of Api:Urls)" };
        var apiKey = new Option<string?>("--api-key") { Description = "An API key of the node, role pos or admin (`siyu key new`); the node refuses lookups without one" };
        var json = new Option<bool>("--json") { Description = "Write the report as one JSON document instead of text" };
        var timeout = new Option<int>("--timeout") { Description = "Seconds allowed for reading the topics", DefaultValueFactory = _ => 600 };
        var command = new Command("check-identity",
            "Report customers that hold the ids of more than one person (made by nodes before weak ids); changes nothing")
        {
            bootstrap, api, apiKey, json, timeout, config,
        };
        command.SetAction((parse, ct) => CommandSupport.Guard(async () =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(bootstrap) is { } b)
            {
                overrides["Kafka:BootstrapServers"] = b;
            }
            // The phone key is needed: profiles hold phones only as the node's keyed hash.
            var settings = SettingsLoader.Load(SettingsLoader.Build(parse.GetValue(config)?.FullName, overrides), embedded: false, processesEvents: true, servesApi: false);
            var baseUrl = parse.GetValue(api) ?? settings.Api.Urls.Split(';')[0].Replace("*", "localhost").Replace("+", "localhost");
            if (!Uri.TryCreate(baseUrl, UriKind.Absolute, out var apiUri))
            {
                await Console.Error.WriteLineAsync($"siyu: --api '{baseUrl}' is not a URL (e.g. http://127.0.0.1:8080)");
                return Problems;
            }
            var rules = settings.Rules();
            var audit = new IdentityAudit(rules);
            var phones = new PhoneHasher(settings.Privacy.EffectiveKey);
            var rawPhones = new Dictionary<string, string>(StringComparer.Ordinal);
            var parser = new EventParser(new EventParserOptions
            {
                MaxPayloadBytes = settings.Ingest.MaxPayloadBytes,
                MaxFutureSkew = TimeSpan.FromHours(settings.Ingest.MaxFutureSkewHours),
                IdValues = settings.Identity.ToIdValues(),
            });
            var topics = new Topics(settings.Kafka.TopicPrefix);
            ReadResult read;
            try
            {
                read = ReadTopics(settings.Kafka, topics, TimeSpan.FromSeconds(parse.GetValue(timeout)), (channel, value) =>
                {
                    var result = parser.Parse(value, channel);
                    if (!result.IsValid)
                    {
                        return false;
                    }
                    var ids = result.Event.Ids;
                    if (ids.Phone is { } phone)
                    {
                        var hash = phones.Hash(phone);
                        rawPhones.TryAdd(hash, phone); // the lookup API takes the number, never its hash
                        ids = ids with { Phone = hash };
                    }
                    audit.Add(ids);
                    return true;
                }, ct);
            }
            catch (KafkaException e)
            {
                await Console.Error.WriteLineAsync($"siyu: cannot read the input topics: {e.Error.Reason}");
                return Problems;
            }
            catch (TimeoutException e)
            {
                await Console.Error.WriteLineAsync($"siyu: {e.Message}");
                return Problems;
            }

            var people = audit.People();
            using var http = new HttpClient { BaseAddress = apiUri, Timeout = TimeSpan.FromSeconds(30) };
            if (parse.GetValue(apiKey) is { Length: > 0 } key)
            {
                http.DefaultRequestHeaders.Add(Api.Security.ApiKeys.Header, key);
            }
            var customerOf = new Dictionary<LinkedId, string?>();
            var held = new Dictionary<string, IReadOnlyList<LinkedId>>(StringComparer.Ordinal);
            try
            {
                await LookUp(http, people, rawPhones, rules, customerOf, held, ct);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException or InvalidOperationException or JsonException)
            {
                await Console.Error.WriteLineAsync($"siyu: cannot ask the node at {apiUri}: {e.Message}");
                return Problems;
            }
            var report = IdentityAudit.Compare(people, customerOf, held);
            Console.WriteLine(parse.GetValue(json) ? Json(read, report).ToJsonString(new JsonSerializerOptions { WriteIndented = true }) : Text(read, report, topics));
            return report.Mixed.Count == 0 ? 0 : 1;
        }));
        return command;
    }

    public sealed record ReadResult(long Messages, long Valid);

    /// <summary>Every message of the input topics up to their ends when the command started.</summary>
    private static ReadResult ReadTopics(KafkaSettings kafka, Topics topics, TimeSpan timeout, Func<Channel, byte[], bool> handle, CancellationToken ct)
    {
        Librdkafka.EnsureLoaded();
        var config = new ConsumerConfig
        {
            BootstrapServers = kafka.BootstrapServers,
            GroupId = $"siyu-check-identity-{Guid.NewGuid():N}", // never commits: the node's group is untouched
            EnableAutoCommit = false,
            AutoOffsetReset = AutoOffsetReset.Earliest,
        };
        foreach (var (key, value) in kafka.Client)
        {
            config.Set(key, value);
        }
        using var admin = new AdminClientBuilder(new AdminClientConfig(config)).Build();
        using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
        var end = new Dictionary<TopicPartition, long>();
        var metadata = admin.GetMetadata(TimeSpan.FromSeconds(30));
        foreach (var topic in metadata.Topics.Where(t => topics.Inputs.Contains(t.Topic)))
        {
            foreach (var p in topic.Partitions)
            {
                var tp = new TopicPartition(topic.Topic, p.PartitionId);
                var marks = consumer.QueryWatermarkOffsets(tp, TimeSpan.FromSeconds(30));
                if (marks.High.Value > marks.Low.Value)
                {
                    end[tp] = marks.High.Value;
                }
            }
        }
        consumer.Assign(end.Keys.Select(tp => new TopicPartitionOffset(tp, Offset.Beginning)));
        long messages = 0, valid = 0;
        var deadline = DateTime.UtcNow + timeout;
        var open = new HashSet<TopicPartition>(end.Keys);
        while (open.Count > 0)
        {
            ct.ThrowIfCancellationRequested();
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the input topics were not read to their end within {timeout.TotalSeconds:0} s (--timeout)");
            }
            var cr = consumer.Consume(TimeSpan.FromSeconds(1));
            if (cr is null)
            {
                // Quiet: a partition may end in an offset no message is delivered for.
                open.RemoveWhere(tp => consumer.Position(tp) is { } at && at.Value >= end[tp]);
                continue;
            }
            if (cr.IsPartitionEOF || !open.Contains(cr.TopicPartition))
            {
                continue; // messages written after the command started are not its business
            }
            if (cr.Offset.Value < end[cr.TopicPartition])
            {
                messages++;
                if (cr.Message.Value is { } value && topics.TryGetChannel(cr.Topic, out var channel) && handle(channel, value))
                {
                    valid++;
                }
            }
            if (cr.Offset.Value + 1 >= end[cr.TopicPartition])
            {
                open.Remove(cr.TopicPartition);
            }
        }
        consumer.Close();
        return new ReadResult(messages, valid);
    }

    /// <summary>Where each strong id leads, and the strong ids each customer found holds; a few requests at a time.</summary>
    private static async Task LookUp(HttpClient http, IReadOnlyList<AuditPerson> people, Dictionary<string, string> rawPhones, CustomerRules rules,
        Dictionary<LinkedId, string?> customerOf, Dictionary<string, IReadOnlyList<LinkedId>> held, CancellationToken ct)
    {
        var ids = people.SelectMany(p => p.Ids).ToList();
        using var gate = new SemaphoreSlim(8);
        var answers = await Task.WhenAll(ids.Select(async id =>
        {
            await gate.WaitAsync(ct);
            try
            {
                var value = id.Type == IdType.Phone ? rawPhones[id.Value] : id.Value;
                var url = $"/v1/customers/lookup?{id.Type.WireName()}={Uri.EscapeDataString(value)}";
                var response = await http.GetAsync(url, ct);
                // The node limits lookups per key (issue #15): wait as long as it asks, then again.
                while (response.StatusCode == HttpStatusCode.TooManyRequests)
                {
                    var wait = response.Headers.RetryAfter?.Delta ?? TimeSpan.FromSeconds(1);
                    response.Dispose();
                    await Task.Delay(wait, ct);
                    response = await http.GetAsync(url, ct);
                }
                using var answer = response;
                if (response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden)
                {
                    throw new InvalidOperationException($"the node refused the lookup ({(int)response.StatusCode}): pass --api-key with a key of role pos or admin (`siyu key new`)");
                }
                if (response.StatusCode == HttpStatusCode.NotFound)
                {
                    return (id, (JsonObject?)null);
                }
                if (!response.IsSuccessStatusCode)
                {
                    throw new InvalidOperationException($"GET lookup?{id.Type.WireName()}=... answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(ct)}");
                }
                return (id, JsonNode.Parse(await response.Content.ReadAsStringAsync(ct)) as JsonObject);
            }
            finally
            {
                gate.Release();
            }
        }));
        foreach (var (id, profile) in answers)
        {
            var customer = (string?)profile?["customer_id"];
            customerOf[id] = customer;
            if (customer is null || held.ContainsKey(customer))
            {
                continue;
            }
            var strong = new List<LinkedId>();
            foreach (var (type, values) in profile!["ids"]?.AsObject() ?? [])
            {
                if (IdTypeNames.TryParse(type, out var t) && !rules.IsWeak(t) && values is JsonArray list)
                {
                    strong.AddRange(list.Select(v => new LinkedId(t, (string)v!)));
                }
            }
            held[customer] = strong;
        }
    }

    private static string Ids(IEnumerable<LinkedId> ids) => string.Join(" ", ids.Select(i => $"{i.Type.WireName()}={i.Value}"));

    private static string Text(ReadResult read, IdentityAuditReport report, Topics topics)
    {
        var lines = new List<string>
        {
            $"read {read.Messages} messages of {string.Join(", ", topics.Inputs)} ({read.Messages - read.Valid} not valid events, skipped)",
            $"{report.People} people by the strong ids their events carry together; their ids lead to {report.Customers} customers",
        };
        foreach (var m in report.Mixed)
        {
            lines.Add($"MIXED {m.CustomerId} holds ids of {m.People.Count} people:");
            lines.AddRange(m.People.Select(p => $"  person {p.Number}: {Ids(p.Ids)}"));
        }
        foreach (var s in report.Split)
        {
            var where = s.Customers.Count > 0 ? $"customers {string.Join(", ", s.Customers)}" : "no customer";
            var unknown = s.Unknown.Count > 0 ? $"; unknown to the node: {Ids(s.Unknown)}" : "";
            lines.Add($"APART person {s.Person.Number} ({Ids(s.Person.Ids)}): {where}{unknown}");
        }
        lines.Add(report.Mixed.Count == 0
            ? "no customer holds ids of more than one person"
            : report.Mixed.Count == 1 ? "1 customer holds ids of more than one person" : $"{report.Mixed.Count} customers hold ids of more than one person");
        return string.Join('\n', lines);
    }

    private static JsonObject Json(ReadResult read, IdentityAuditReport report)
    {
        static JsonObject Ids(IEnumerable<LinkedId> ids)
        {
            var o = new JsonObject();
            foreach (var g in ids.GroupBy(i => i.Type))
            {
                o[g.Key.WireName()] = new JsonArray([.. g.Select(i => (JsonNode)i.Value)]);
            }
            return o;
        }
        return new JsonObject
        {
            ["messages"] = read.Messages,
            ["valid_events"] = read.Valid,
            ["people"] = report.People,
            ["customers"] = report.Customers,
            ["mixed"] = new JsonArray([.. report.Mixed.Select(m => (JsonNode)new JsonObject
            {
                ["customer_id"] = m.CustomerId,
                ["people"] = new JsonArray([.. m.People.Select(p => (JsonNode)new JsonObject { ["person"] = p.Number, ["ids"] = Ids(p.Ids) })]),
            })]),
            ["apart"] = new JsonArray([.. report.Split.Select(s => (JsonNode)new JsonObject
            {
                ["person"] = s.Person.Number,
                ["ids"] = Ids(s.Person.Ids),
                ["customers"] = new JsonArray([.. s.Customers.Select(c => (JsonNode)c)]),
                ["unknown"] = Ids(s.Unknown),
            })]),
        };
    }
}
