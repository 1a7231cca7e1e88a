using System.Text.Json;

namespace Siyu.Deploy.Tests.Support;

/// <summary>
/// The settings contract of the siyu host (src/Host reads appsettings.json, then --config FILE, then
/// SIYU_* environment variables where "__" separates sections). Kept here as constants because this
/// project must not depend on src/Host's own appsettings.json.
/// </summary>
internal static class SiyuSettings
{
    public const string EnvPrefix = "SIYU_";
    public const string ProductionConfig = "deploy/siyu.production.json";
    public const string ConfigPathInContainer = "/etc/siyu/siyu.json";

    public const string KafkaBootstrapServers = "Kafka:BootstrapServers";
    public const string KafkaTopicPrefix = "Kafka:TopicPrefix";
    public const string KafkaGroupId = "Kafka:GroupId";
    public const string KafkaSessionTimeoutMs = "Kafka:SessionTimeoutMs";
    public const string ClickHouseEngine = "ClickHouse:Engine";
    public const string ClickHouseConnectionString = "ClickHouse:ConnectionString";
    public const string ClickHouseDataPath = "ClickHouse:DataPath";
    public const string JournalProvider = "Journal:Provider";
    public const string JournalConnectionString = "Journal:ConnectionString";
    public const string ApiUrls = "Api:Urls";
    public const string PrivacyPhoneHashKey = "Privacy:PhoneHashKey";

    /// <summary>Per-node settings the compose file sets in the environment only (two clustered nodes).</summary>
    public static readonly string[] ClusterKeys = ["Cluster:Hostname", "Cluster:Port", "Cluster:SeedNodes:0"];

    public static readonly string[] RequiredKeys =
    [
        KafkaBootstrapServers, KafkaTopicPrefix, KafkaGroupId, KafkaSessionTimeoutMs,
        ClickHouseEngine, ClickHouseConnectionString, ClickHouseDataPath,
        JournalProvider, JournalConnectionString,
        ApiUrls,
        PrivacyPhoneHashKey,
    ];

    public static readonly string[] ClickHouseEngines = ["embedded", "server"];
    public static readonly string[] JournalProviders = ["sqlite", "postgresql"];

    /// <summary>Topic names after the prefix, from contract.md "Kafka topics".</summary>
    public static readonly string[] ContractTopics =
        ["pos", "miniprogram", "app", "group", "campaigns", "profiles", "profile-changes", "audiences", "deadletter"];

    /// <summary>Contract topics that must be log-compacted (full profile per customer_id, tombstones after erasure).</summary>
    public static readonly string[] CompactedContractTopics = ["profiles"];

    /// <summary>deploy/siyu.production.json flattened to "Section:Key" → value (numbers and booleans as their JSON text).</summary>
    public static IReadOnlyDictionary<string, string?> LoadProductionConfig()
    {
        using var doc = JsonDocument.Parse(Repo.Read(ProductionConfig));
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        Flatten(doc.RootElement, prefix: null, result);
        return result;
    }

    /// <summary>Maps SIYU_Kafka__BootstrapServers to Kafka:BootstrapServers; null when not a siyu variable.</summary>
    public static string? EnvToKey(string variable) =>
        variable.StartsWith(EnvPrefix, StringComparison.OrdinalIgnoreCase)
            ? variable[EnvPrefix.Length..].Replace("__", ":", StringComparison.Ordinal)
            : null;

    /// <summary>What the siyu container sees: the mounted config file overridden by its SIYU_* environment.</summary>
    public static IReadOnlyDictionary<string, string?> Effective(
        IReadOnlyDictionary<string, string?> file, IReadOnlyDictionary<string, string> environment)
    {
        var result = new Dictionary<string, string?>(file, StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in environment)
        {
            if (EnvToKey(name) is { } key)
            {
                result[key] = value;
            }
        }

        return result;
    }

    public static string Require(this IReadOnlyDictionary<string, string?> config, string key, string what)
    {
        Assert.True(config.TryGetValue(key, out var value), $"{what}: {key} is missing");
        Assert.False(string.IsNullOrWhiteSpace(value), $"{what}: {key} is empty");
        return value!;
    }

    private static void Flatten(JsonElement element, string? prefix, Dictionary<string, string?> into)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    Flatten(property.Value, prefix is null ? property.Name : $"{prefix}:{property.Name}", into);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    Flatten(item, $"{prefix}:{i++}", into);
                }

                break;
            case JsonValueKind.String:
                into[prefix!] = element.GetString();
                break;
            case JsonValueKind.Null:
                into[prefix!] = null;
                break;
            default:
                into[prefix!] = element.GetRawText();
                break;
        }
    }
}
