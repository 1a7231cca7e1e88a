using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Actors.Operations;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;
using Siyu.Contracts.Validation;
using Siyu.Simulator;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Host.Tests.Schemas;

/// <summary>
/// schemas/ against the contract records (the C# types that read and write each topic) and
/// against sample messages: the event corpus, samples/, the simulator's output. What a node
/// really publishes is checked by <see cref="PublishedMessageSchemaTests"/>.
/// </summary>
public sealed class TopicSchemaTests(ITestOutputHelper output)
{
    private static readonly TopicSchemas Schemas = TopicSchemas.Load();

    /// <summary>
    /// Reasons no JSON Schema can express: they depend on bytes before JSON, on a key given twice
    /// (JSON parsers keep one), on the clock, on id values being placeholders, or on the
    /// customer's history. A schema accepts such messages; Siyu refuses them.
    /// </summary>
    private static readonly HashSet<string> BeyondSchema =
    [
        RejectReason.EmptyPayload, RejectReason.PayloadTooLarge, RejectReason.InvalidUtf8, RejectReason.MalformedJson,
        RejectReason.DuplicateKey, RejectReason.OccurredAtOutOfRange, RejectReason.NoUsableIds, RejectReason.RefundUnmatched,
        RejectReason.OrderRejected, RejectReason.UnknownTopic,
    ];

    /// <summary>Corpus cases refused for a value a schema cannot judge (a placeholder phone leaves bind_phone without one).</summary>
    private static readonly HashSet<string> BeyondSchemaCases = ["bind_phone with a placeholder phone"];

    private static readonly JsonSerializerOptions SnakeCase = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
    };

    [Fact]
    public void Every_channel_topic_schema_takes_exactly_the_channels_event_types()
    {
        foreach (var (channel, types) in EventParser.TypesByChannel)
        {
            var topic = Schemas.Json(TopicSchemas.TopicFile(TopicSchemas.InputTopic(channel)));
            var refs = topic["oneOf"]!.AsArray().Select(r => r!["$ref"]!.GetValue<string>()).ToList();
            Assert.Equal(types.Order(StringComparer.Ordinal), refs.Select(r => Path.GetFileName(r).Replace(".schema.json", "", StringComparison.Ordinal)).Order(StringComparer.Ordinal));
            foreach (var type in types)
            {
                var schema = Schemas.Json($"events/{type}.schema.json");
                Assert.Equal(type, schema["properties"]!["type"]!["const"]!.GetValue<string>());
            }
        }
        var all = EventParser.TypesByChannel.Values.SelectMany(t => t).ToHashSet();
        Assert.Equal(all.Order(StringComparer.Ordinal), Schemas.Files.Where(f => f.StartsWith("events/", StringComparison.Ordinal))
            .Select(f => f["events/".Length..^".schema.json".Length]).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_event_schemas_name_every_field_the_parser_reads_and_no_other()
    {
        var envelope = Schemas.Json("common.schema.json")["$defs"]!["envelope"]!["properties"]!.AsObject().Select(p => p.Key);
        var byType = Schemas.Files.Where(f => f.StartsWith("events/", StringComparison.Ordinal))
            .SelectMany(f => Schemas.Json(f)["properties"]!.AsObject().Select(p => p.Key));
        var inSchemas = envelope.Concat(byType).ToHashSet();
        var read = SiyuJsonContext.Default.WireEvent.Properties.Where(p => !p.IsExtensionData).Select(p => p.Name).ToHashSet();
        Assert.Equal(read.Order(StringComparer.Ordinal), inSchemas.Order(StringComparer.Ordinal));

        var ids = Schemas.Json("common.schema.json")["$defs"]!["ids"]!["properties"]!.AsObject().Select(p => p.Key);
        Assert.Equal(Enum.GetValues<IdType>().Select(t => t.WireName()).Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        Assert.Equal(SiyuJsonContext.Default.WireIds.Properties.Where(p => !p.IsExtensionData).Select(p => p.Name).Order(StringComparer.Ordinal), ids.Order(StringComparer.Ordinal));
        var payments = Schemas.Json("events/order.schema.json")["properties"]!["payment"]!["enum"]!.AsArray().Select(p => p!.GetValue<string>());
        Assert.Equal(["cash", "card", "wechat_pay", "wecom_collect"], payments);
    }

    [Fact]
    public void The_corpus_agrees_with_the_parser_wherever_a_schema_can_tell()
    {
        var checkedBad = 0;
        foreach (var c in EventCorpus.Good)
        {
            Assert.True(Schemas.Problems(TopicFile(c.Channel), c.Payload) is null, $"{c.Name}: {Schemas.Problems(TopicFile(c.Channel), c.Payload)}");
        }
        foreach (var c in EventCorpus.Bad.Where(c => !BeyondSchema.Contains(c.ExpectedReason!) && !BeyondSchemaCases.Contains(c.Name)))
        {
            Assert.True(Schemas.Problems(TopicFile(c.Channel), c.Payload) is not null, $"{c.Name} ({c.ExpectedReason}) passes the schema");
            checkedBad++;
        }
        output.WriteLine($"{EventCorpus.Good.Count} good events accepted, {checkedBad} of {EventCorpus.Bad.Count} bad ones refused (the rest only Siyu can refuse)");
        Assert.True(checkedBad > 30);
    }

    [Fact]
    public void The_samples_file_agrees_with_the_parser()
    {
        var parser = Parser(new DateTimeOffset(2026, 11, 24, 0, 0, 0, TimeSpan.Zero));
        var path = Path.Combine(Schemas.Root, "..", "samples", "mixed.jsonl");
        var lines = File.ReadAllLines(path).Where(l => l.Trim().Length > 0).ToList();
        Assert.NotEmpty(lines);
        foreach (var line in lines)
        {
            var verdict = parser.Parse(Encoding.UTF8.GetBytes(line), Channel.Pos);
            AssertAgrees(Channel.Pos, Encoding.UTF8.GetBytes(line), verdict.IsValid ? null : verdict.Reason, line);
        }
    }

    [Fact]
    public void The_simulators_output_passes_its_topics_schemas_and_its_broken_messages_fail_them()
    {
        var options = new SimulationOptions { Seed = 7, Stores = 3, CustomersPerStore = 60, Days = 3, MalformedRatio = 0.03 };
        var counts = new Dictionary<MessageKind, int>();
        foreach (var m in TrafficSimulator.Generate(options))
        {
            counts[m.Kind] = counts.GetValueOrDefault(m.Kind) + 1;
            var file = TopicSchemas.TopicFile(m.Topic);
            switch (m.Kind)
            {
                case MessageKind.Campaign:
                    Assert.True(Schemas.Problems(file, m.Value) is null, $"{Encoding.UTF8.GetString(m.Value)}: {Schemas.Problems(file, m.Value)}");
                    break;
                default:
                    AssertAgrees(m.Channel!.Value, m.Value, m.ExpectedReason, Encoding.UTF8.GetString(m.Value));
                    break;
            }
        }
        output.WriteLine(string.Join(", ", counts.Select(c => $"{c.Key}: {c.Value}")));
        Assert.True(counts[MessageKind.Event] > 500 && counts[MessageKind.Invalid] > 10 && counts[MessageKind.Campaign] > 3);
    }

    [Fact]
    public void The_profile_schema_names_every_field_of_the_profile_record_and_requires_those_always_written()
    {
        AssertMatches(typeof(CustomerProfile), Schemas.Json(TopicSchemas.TopicFile("siyu.profiles")), "profile");
    }

    [Fact]
    public void The_change_audience_and_dead_letter_schemas_match_their_records()
    {
        var changes = Schemas.Json(TopicSchemas.TopicFile("siyu.profile-changes"));
        AssertMatches(typeof(ProfileChange), changes, "change");
        var kinds = changes["properties"]!["change"]!["enum"]!.AsArray().Select(k => k!.GetValue<string>()).ToHashSet();
        var emitted = Constants(typeof(ProfileChanges)).Concat(Constants(typeof(NoticeKinds)).Where(NoticeKinds.IsProfileChange));
        Assert.Equal(emitted.ToHashSet().Order(StringComparer.Ordinal), kinds.Order(StringComparer.Ordinal));

        AssertMatches(typeof(AudienceMessage), Schemas.Json(TopicSchemas.TopicFile("siyu.audiences")), "audience");

        var deadLetter = Schemas.Json(TopicSchemas.TopicFile("siyu.deadletter"));
        var written = SiyuJsonContext.Default.DeadLetterRecord.Properties.Select(p => p.Name);
        Assert.Equal(written.Order(StringComparer.Ordinal), deadLetter["properties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(written.Order(StringComparer.Ordinal), deadLetter["required"]!.AsArray().Select(p => p!.GetValue<string>()).Order(StringComparer.Ordinal));
        var reasons = deadLetter["properties"]!["reason"]!["enum"]!.AsArray().Select(r => r!.GetValue<string>());
        Assert.Equal(Constants(typeof(RejectReason)).Order(StringComparer.Ordinal), reasons.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_campaign_schema_takes_what_the_campaign_record_writes()
    {
        var file = TopicSchemas.TopicFile("siyu.campaigns");
        var schema = Schemas.Json(file);
        var campaign = new Campaign
        {
            CampaignId = "FLASH-1", Type = CampaignType.FlashSale, Name = "秒杀 车厘子", StoreId = "S001",
            GroupIds = EquatableArray.Create(["GR1"]), Skus = EquatableArray.Create(["CHERRY-5J"]), Stock = 30,
            StartsAt = new DateTimeOffset(2026, 11, 24, 15, 0, 0, TimeSpan.FromHours(8)), EndsAt = new DateTimeOffset(2026, 11, 24, 15, 20, 0, TimeSpan.FromHours(8)),
            AttributionWindow = TimeSpan.FromHours(12),
        };
        var json = campaign.ToJson();
        Assert.Null(Schemas.Problems(file, json));
        Assert.Equal(JsonNode.Parse(json)!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal), schema["properties"]!.AsObject().Select(p => p.Key).Order(StringComparer.Ordinal));
        Assert.Equal(Enum.GetValues<CampaignType>().Select(t => t.WireName()), schema["properties"]!["type"]!["enum"]!.AsArray().Select(t => t!.GetValue<string>()));
        // What Campaign.Parse refuses, the schema refuses too, where a schema can tell.
        foreach (var bad in new[]
        {
            """{"campaign_id":"C1","type":"flash_sale","name":"x","starts_at":"2026-11-24T15:00:00+08:00"}""",
            """{"campaign_id":"C1","type":"lottery","name":"x","starts_at":"2026-11-24T15:00:00+08:00","ends_at":"2026-11-24T16:00:00+08:00"}""",
            """{"campaign_id":"C1","type":"flash_sale","name":"x","stock":-1,"starts_at":"2026-11-24T15:00:00+08:00","ends_at":"2026-11-24T16:00:00+08:00"}""",
            """{"campaign_id":"C1","type":"flash_sale","name":"x","starts_at":"2026-11-24 15:00","ends_at":"2026-11-24T16:00:00+08:00"}""",
            """{"campaign_id":"C1","type":"flash_sale","name":"x","skus":[""],"starts_at":"2026-11-24T15:00:00+08:00","ends_at":"2026-11-24T16:00:00+08:00"}""",
        })
        {
            Assert.False(Campaign.TryParse(Encoding.UTF8.GetBytes(bad), out _, out _), bad);
            Assert.NotNull(Schemas.Problems(file, bad));
        }
    }

    // Parser valid => schema valid; refused for a reason a schema can express => schema refuses.
    private static void AssertAgrees(Channel channel, byte[] payload, string? reason, string what)
    {
        var problems = Schemas.Problems(TopicFile(channel), payload);
        if (reason is null)
        {
            Assert.True(problems is null, $"valid for Siyu but not for the schema: {Cut(what)}\n{problems}");
        }
        else if (!BeyondSchema.Contains(reason))
        {
            Assert.True(problems is not null, $"refused by Siyu ({reason}) but valid for the schema: {Cut(what)}");
        }
    }

    private static string TopicFile(Channel channel) => TopicSchemas.TopicFile(TopicSchemas.InputTopic(channel));

    private static EventParser Parser(DateTimeOffset now) => new(clock: new FixedClock(now));

    private static string Cut(string s) => s.Length <= 300 ? s : s[..300] + "…";

    private static IEnumerable<string> Constants(Type type) =>
        type.GetFields(BindingFlags.Public | BindingFlags.Static).Where(f => f.IsLiteral && f.FieldType == typeof(string)).Select(f => (string)f.GetRawConstantValue()!);

    /// <summary>
    /// The record's JSON properties (snake_case, as its serializer writes them) are the schema's,
    /// recursively into nested records; those written even when empty are the required ones.
    /// </summary>
    private static void AssertMatches(Type record, JsonNode schema, string path)
    {
        var info = SnakeCase.GetTypeInfo(record);
        var properties = info.Properties.Where(p => !p.IsExtensionData).ToList();
        var schemaProperties = schema["properties"]!.AsObject();
        Assert.True(properties.Select(p => p.Name).Order(StringComparer.Ordinal).SequenceEqual(schemaProperties.Select(p => p.Key).Order(StringComparer.Ordinal)),
            $"{path}: the record writes {string.Join(", ", properties.Select(p => p.Name).Order(StringComparer.Ordinal))}; the schema names {string.Join(", ", schemaProperties.Select(p => p.Key).Order(StringComparer.Ordinal))}");
        var required = schema["required"]?.AsArray().Select(r => r!.GetValue<string>()).ToHashSet() ?? [];
        var nullability = new NullabilityInfoContext();
        foreach (var p in properties)
        {
            var member = (MemberInfo)p.AttributeProvider!;
            var alwaysWritten = member.GetCustomAttribute<JsonIgnoreAttribute>()?.Condition == JsonIgnoreCondition.Never
                || member switch
                {
                    PropertyInfo pi => nullability.Create(pi).WriteState == NullabilityState.NotNull,
                    FieldInfo fi => nullability.Create(fi).WriteState == NullabilityState.NotNull,
                    _ => false,
                };
            Assert.True(alwaysWritten == required.Contains(p.Name), $"{path}.{p.Name}: {(alwaysWritten ? "always written but not required" : "omitted when empty but required")} by the schema");
            var nested = Nullable.GetUnderlyingType(p.PropertyType) ?? p.PropertyType;
            if (nested.IsClass && nested != typeof(string) && !typeof(System.Collections.IEnumerable).IsAssignableFrom(nested)
                && schemaProperties[p.Name]?["properties"] is not null)
            {
                AssertMatches(nested, schemaProperties[p.Name]!, $"{path}.{p.Name}");
            }
        }
    }
}

/// <summary>A clock that stays where it is put: samples with fixed dates are judged against it, never the real clock.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
