using System.Buffers;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Siyu.Contracts.Json;

/// <summary>
/// The event exactly as it travels on the input topics: every field optional, so that
/// parsing never fails on a missing field and validation can say which one is missing.
/// Unknown fields are ignored (the contract lets producers add fields freely), but they are
/// read into <c>Unknown</c> so that a key given twice is refused there too: two readers that
/// keep different copies of a duplicated key read one message differently.
/// </summary>
public sealed class WireEvent
{
    public string? EventId { get; set; }
    public string? Type { get; set; }
    public string? OccurredAt { get; set; }
    public string? StoreId { get; set; }
    public WireIds? Ids { get; set; }

    public string? OrderId { get; set; }
    public WireNumber? Amount { get; set; }
    public List<WireItem>? Items { get; set; }
    public string? GuideId { get; set; }
    public string? Payment { get; set; }
    public string? CampaignId { get; set; }
    public string? ShareGroupId { get; set; }
    public string? Page { get; set; }
    public string? CouponId { get; set; }
    public string? GroupId { get; set; }
    public string? Sku { get; set; }
    public Dictionary<string, JsonElement>? Tags { get; set; }
    public string? Birthday { get; set; }
    public string? Name { get; set; }
    public string? Task { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
}

public sealed class WireIds
{
    [JsonPropertyName("member_id")] public string? MemberId { get; set; }
    [JsonPropertyName("phone")] public string? Phone { get; set; }
    [JsonPropertyName("unionid")] public string? UnionId { get; set; }
    [JsonPropertyName("openid")] public string? OpenId { get; set; }
    [JsonPropertyName("external_userid")] public string? ExternalUserId { get; set; }
    [JsonPropertyName("app_user_id")] public string? AppUserId { get; set; }
    [JsonPropertyName("device_id")] public string? DeviceId { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
}

public sealed class WireItem
{
    public string? Sku { get; set; }
    public int? Qty { get; set; }
    public WireNumber? Price { get; set; }

    [JsonExtensionData] public Dictionary<string, JsonElement>? Unknown { get; set; }
}

/// <summary>
/// A JSON number for money. One that does not fit a decimal (1e30) is kept as its text, so
/// validation can call it an invalid amount rather than the reader failing on a type.
/// </summary>
[JsonConverter(typeof(WireNumberConverter))]
public readonly record struct WireNumber(decimal Value, string? OutOfRange = null)
{
    public static implicit operator WireNumber(decimal value) => new(value);
}

public sealed class WireNumberConverter : JsonConverter<WireNumber>
{
    public override WireNumber Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType != JsonTokenType.Number)
        {
            throw new JsonException(); // the parser says which field, and what it should be
        }
        if (reader.TryGetDecimal(out var value))
        {
            return new WireNumber(value);
        }
        var text = System.Text.Encoding.UTF8.GetString(reader.HasValueSequence ? reader.ValueSequence.ToArray() : reader.ValueSpan);
        return new WireNumber(0, text.Length <= 40 ? text : text[..40] + "…");
    }

    public override void Write(Utf8JsonWriter writer, WireNumber value, JsonSerializerOptions options) =>
        writer.WriteNumberValue(value.Value);
}

/// <summary>A dead-letter record (contract: siyu.deadletter value).</summary>
public sealed record DeadLetterRecord(
    string Topic,
    int Partition,
    long Offset,
    string Reason,
    string Error,
    string Raw,
    // Extensions to the contract (additive): how to read `raw` back into bytes, and whether it
    // was cut to fit a Kafka message (a 5 MB payload cannot be forwarded whole).
    string RawEncoding,
    int RawSize,
    bool RawTruncated);

/// <summary>Source-generated serialization: no reflection on the hot path.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict,
    AllowDuplicateProperties = false)]
[JsonSerializable(typeof(WireEvent))]
[JsonSerializable(typeof(DeadLetterRecord))]
[JsonSerializable(typeof(string))]
public sealed partial class SiyuJsonContext : JsonSerializerContext;
