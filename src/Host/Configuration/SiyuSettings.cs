using System.Text.RegularExpressions;
using Siyu.Actors.Customers;
using Siyu.Actors.Operations;

namespace Siyu.Host.Configuration;

// The configuration file's shape (appsettings.json, --config FILE, then SIYU_* environment
// variables with "__" between levels, e.g. SIYU_Kafka__BootstrapServers). Every setting is
// checked at start-up; a bad one stops the process with a message that names it.

public sealed class SiyuSettings
{
    public KafkaSettings Kafka { get; set; } = new();
    public IngestSettings Ingest { get; set; } = new();
    public ClickHouseSettings ClickHouse { get; set; } = new();
    public JournalSettings Journal { get; set; } = new();
    public ApiSettings Api { get; set; } = new();
    public PrivacySettings Privacy { get; set; } = new();
    public IdentitySettings Identity { get; set; } = new();
    public ClusterSettings Cluster { get; set; } = new();
    public CustomerSettings Customers { get; set; } = new();
    public OperationsSettings Operations { get; set; } = new();

    /// <summary>Audience name -> rule (see <see cref="AudienceRule"/>), e.g. Audiences:winback.</summary>
    public Dictionary<string, string> Audiences { get; set; } = new();

    /// <summary>The customer and identity rules these settings describe (valid settings only).</summary>
    public CustomerRules Rules() => Operations.ToRules(Audiences) with { WeakIdTypes = Identity.WeakIdTypeList() };

    /// <summary>Every problem found, each naming its setting; empty when the settings are usable.</summary>
    /// <param name="servesApi">False for tools that only call a node's API (`siyu check-identity`): they need no credential of their own settings.</param>
    public IReadOnlyList<string> Validate(bool embedded, bool processesEvents = true, bool servesApi = true)
    {
        var errors = new List<string>();
        Kafka.Validate(errors, embedded);
        Ingest.Validate(errors);
        ClickHouse.Validate(errors);
        Journal.Validate(errors);
        Api.Validate(errors, embedded || !processesEvents || !servesApi);
        // Tools such as `siyu produce` never see a phone, so they need no key.
        Privacy.Validate(errors, embedded || !processesEvents);
        Identity.Validate(errors);
        Cluster.Validate(errors);
        Customers.Validate(errors);
        Operations.Validate(errors, Audiences);
        return errors;
    }

    internal static void Range(List<string> errors, string name, long value, long min, long max)
    {
        if (value < min || value > max)
        {
            errors.Add($"{name} must be between {min} and {max} (got {value})");
        }
    }
}

public sealed partial class KafkaSettings
{
    /// <summary>Empty means the embedded dev broker (demo only); `siyu run` needs a real cluster.</summary>
    public string BootstrapServers { get; set; } = "";
    public string TopicPrefix { get; set; } = "siyu.";
    public string GroupId { get; set; } = "siyu-ingest";
    public int SessionTimeoutMs { get; set; } = 45_000;
    public int MaxInFlight { get; set; } = 50_000;
    public int AutoCommitIntervalMs { get; set; } = 1_000;
    /// <summary>Partitions per topic of the embedded broker (it keeps ~100k messages per partition).</summary>
    public int EmbeddedPartitions { get; set; } = 16;
    /// <summary>Extra librdkafka properties for both consumer and producer (security.protocol, sasl.*...).</summary>
    public Dictionary<string, string> Client { get; set; } = new();

    [GeneratedRegex("^[A-Za-z0-9._-]*$")]
    private static partial Regex TopicChars();

    internal void Validate(List<string> errors, bool embedded)
    {
        if (!embedded && string.IsNullOrWhiteSpace(BootstrapServers))
        {
            errors.Add("Kafka:BootstrapServers is required (host:port[,host:port]); `siyu demo` runs an embedded broker instead");
        }
        if (!string.IsNullOrWhiteSpace(BootstrapServers))
        {
            foreach (var server in BootstrapServers.Split(',', StringSplitOptions.TrimEntries))
            {
                var colon = server.LastIndexOf(':');
                if (colon <= 0 || !int.TryParse(server[(colon + 1)..], out var port) || port is < 1 or > 65535)
                {
                    errors.Add($"Kafka:BootstrapServers entry '{server}' is not host:port");
                }
            }
        }
        if (!TopicChars().IsMatch(TopicPrefix))
        {
            errors.Add($"Kafka:TopicPrefix '{TopicPrefix}' may only hold letters, digits, '.', '_' and '-'");
        }
        if (string.IsNullOrWhiteSpace(GroupId))
        {
            errors.Add("Kafka:GroupId must not be empty");
        }
        SiyuSettings.Range(errors, "Kafka:SessionTimeoutMs", SessionTimeoutMs, 1_000, 300_000);
        SiyuSettings.Range(errors, "Kafka:MaxInFlight", MaxInFlight, 1, 1_000_000);
        SiyuSettings.Range(errors, "Kafka:AutoCommitIntervalMs", AutoCommitIntervalMs, 10, 60_000);
        SiyuSettings.Range(errors, "Kafka:EmbeddedPartitions", EmbeddedPartitions, 1, 256);
    }
}

public sealed class IngestSettings
{
    public int MaxPayloadBytes { get; set; } = 256 * 1024;
    public int MaxFutureSkewHours { get; set; } = 24;

    internal void Validate(List<string> errors)
    {
        SiyuSettings.Range(errors, "Ingest:MaxPayloadBytes", MaxPayloadBytes, 1024, 64 * 1024 * 1024);
        SiyuSettings.Range(errors, "Ingest:MaxFutureSkewHours", MaxFutureSkewHours, 0, 24 * 365);
    }
}

public sealed class ClickHouseSettings
{
    /// <summary>"embedded" (chDB in-process) or "server" (ClickHouse over HTTP).</summary>
    public string Engine { get; set; } = "embedded";
    public string ConnectionString { get; set; } = "";
    public string DataPath { get; set; } = "data/chdb";

    internal void Validate(List<string> errors)
    {
        if (Engine is not ("embedded" or "server"))
        {
            errors.Add($"ClickHouse:Engine must be 'embedded' or 'server' (got '{Engine}')");
        }
        if (Engine == "server" && string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("ClickHouse:ConnectionString is required when ClickHouse:Engine is 'server'");
        }
        if (Engine == "embedded" && string.IsNullOrWhiteSpace(DataPath))
        {
            errors.Add("ClickHouse:DataPath is required when ClickHouse:Engine is 'embedded'");
        }
    }
}

public sealed class JournalSettings
{
    /// <summary>"sqlite" (embedded file) or "postgresql".</summary>
    public string Provider { get; set; } = "sqlite";
    public string ConnectionString { get; set; } = "Data Source=data/journal.db";

    internal void Validate(List<string> errors)
    {
        if (Provider is not ("sqlite" or "postgresql"))
        {
            errors.Add($"Journal:Provider must be 'sqlite' or 'postgresql' (got '{Provider}')");
        }
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            errors.Add("Journal:ConnectionString must not be empty");
        }
    }
}

public sealed class ApiSettings
{
    public string Urls { get; set; } = "http://127.0.0.1:8080";

    /// <summary>Key name -> role and SHA-256 of the key (`siyu key new` makes both); never the key itself.</summary>
    public Dictionary<string, ApiKeySettings> Keys { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Bearer tokens from the brand's identity provider, when Authority is set.</summary>
    public JwtSettings Jwt { get; set; } = new();

    /// <summary>Runs the API with no credential at all (a closed network, a trial). Must be said explicitly.</summary>
    public bool AllowAnonymous { get; set; }

    /// <summary>/metrics without a credential (Prometheus on the internal network); false asks for an admin credential.</summary>
    public bool OpenMetrics { get; set; } = true;

    /// <summary>Per key (or per client address without one): sustained requests per second and the burst above it.</summary>
    public int RatePerSecond { get; set; } = 50;
    public int RateBurst { get; set; } = 100;

    /// <param name="noCredentialNeeded">The embedded demo (it makes its own key) and tools that serve no API.</param>
    internal void Validate(List<string> errors, bool noCredentialNeeded)
    {
        foreach (var (name, key) in Keys)
        {
            if (!ApiRoles.All.Contains(key.Role))
            {
                errors.Add($"Api:Keys:{name}:Role must be one of {string.Join(", ", ApiRoles.All)} (got '{key.Role}')");
            }
            if (!Siyu.Host.Api.Security.ApiKeys.IsHash(key.Hash))
            {
                errors.Add($"Api:Keys:{name}:Hash must be 'sha256:' and 64 lowercase hex digits (`siyu key new --name {name} --role pos` prints it); never put the key itself in settings");
            }
        }
        Jwt.Validate(errors);
        // A node that answers erasures and lookups to anyone must have been asked to.
        if (!noCredentialNeeded && !AllowAnonymous && Keys.Count == 0 && string.IsNullOrWhiteSpace(Jwt.Authority))
        {
            errors.Add("Api:Keys must name at least one key (make one with `siyu key new --name NAME --role admin|pos`), or set Api:Jwt:Authority, "
                + "or set Api:AllowAnonymous=true to run the API with no authentication");
        }
        SiyuSettings.Range(errors, "Api:RatePerSecond", RatePerSecond, 1, 1_000_000);
        SiyuSettings.Range(errors, "Api:RateBurst", RateBurst, 1, 1_000_000);
        foreach (var url in Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(url.Replace("*", "localhost").Replace("+", "localhost"), UriKind.Absolute, out var uri)
                || uri.Scheme is not ("http" or "https"))
            {
                errors.Add($"Api:Urls entry '{url}' is not an http(s) URL");
            }
        }
        if (string.IsNullOrWhiteSpace(Urls))
        {
            errors.Add("Api:Urls must name at least one URL, e.g. http://127.0.0.1:8080");
        }
    }
}

/// <summary>The API's roles: pos reads (lookup, profile, campaign live); admin also erases and sees the cluster.</summary>
public static class ApiRoles
{
    public const string Pos = "pos";
    public const string Admin = "admin";
    public static readonly IReadOnlyList<string> All = [Pos, Admin];
}

public sealed class ApiKeySettings
{
    public string Role { get; set; } = "";
    public string Hash { get; set; } = "";
}

public sealed class JwtSettings
{
    /// <summary>The identity provider (OpenID Connect discovery at {Authority}/.well-known/openid-configuration); empty: no tokens.</summary>
    public string Authority { get; set; } = "";
    public string Audience { get; set; } = "";
    /// <summary>The claim holding the role (pos or admin).</summary>
    public string RoleClaim { get; set; } = "roles";
    /// <summary>The claim naming who it is, for the audit.</summary>
    public string NameClaim { get; set; } = "sub";
    /// <summary>False only for an identity provider on loopback in tests.</summary>
    public bool RequireHttpsMetadata { get; set; } = true;

    public bool Enabled => !string.IsNullOrWhiteSpace(Authority);

    internal void Validate(List<string> errors)
    {
        if (!Enabled)
        {
            return;
        }
        if (!Uri.TryCreate(Authority, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            errors.Add($"Api:Jwt:Authority '{Authority}' is not an http(s) URL");
        }
        if (string.IsNullOrWhiteSpace(Audience))
        {
            errors.Add("Api:Jwt:Audience is required with Api:Jwt:Authority (the audience this API's tokens are issued for)");
        }
    }
}

public sealed class PrivacySettings
{
    /// <summary>HMAC key for phone numbers. Keep it secret and stable: changing it orphans every stored hash.</summary>
    public string PhoneHashKey { get; set; } = "";

    /// <summary>Used only by the embedded demo when no key is set; never for real data.</summary>
    public const string DemoKey = "siyu-demo-key-not-for-production";

    internal void Validate(List<string> errors, bool embedded)
    {
        if (!embedded && System.Text.Encoding.UTF8.GetByteCount(PhoneHashKey) < 16)
        {
            errors.Add("Privacy:PhoneHashKey must be set to a secret of at least 16 bytes (e.g. SIYU_Privacy__PhoneHashKey)");
        }
    }

    public string EffectiveKey => string.IsNullOrEmpty(PhoneHashKey) ? DemoKey : PhoneHashKey;
}

/// <summary>Which id values may link anyone (src/Contracts/Identity/IdValues.cs).</summary>
public sealed class IdentitySettings
{
    /// <summary>ISO 3166 region of phone numbers written without a country code.</summary>
    public string PhoneRegion { get; set; } = "CN";

    /// <summary>Placeholders refused beyond the built-in list (what this brand's tills send for "no value").</summary>
    public List<string> BlockedValues { get; set; } = [];

    /// <summary>
    /// Id types that name something several people may share (comma-separated wire names, or
    /// "none"): recorded on the customer, never linking or merging (docs/architecture.md).
    /// </summary>
    public string WeakIdTypes { get; set; } = "device_id";

    internal void Validate(List<string> errors)
    {
        if (!Siyu.Contracts.Identity.IdValues.IsKnownRegion(PhoneRegion))
        {
            errors.Add($"Identity:PhoneRegion '{PhoneRegion}' is not a region code libphonenumber knows (ISO 3166, e.g. CN)");
        }
        if (TryWeakIdTypes(out var weak, out var problem))
        {
            if (weak.Count >= Enum.GetValues<Siyu.Contracts.Events.IdType>().Length)
            {
                errors.Add("Identity:WeakIdTypes must leave at least one id type strong");
            }
        }
        else
        {
            errors.Add(problem);
        }
    }

    /// <summary>The weak id types these settings name (validated at start-up).</summary>
    public IReadOnlyList<Siyu.Contracts.Events.IdType> WeakIdTypeList() =>
        TryWeakIdTypes(out var weak, out var problem) ? weak : throw new InvalidOperationException(problem);

    private bool TryWeakIdTypes(out List<Siyu.Contracts.Events.IdType> weak, out string problem)
    {
        weak = [];
        problem = "";
        var text = (WeakIdTypes ?? "").Trim();
        if (text.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        foreach (var name in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Siyu.Contracts.Events.IdTypeNames.TryParse(name, out var type))
            {
                problem = $"Identity:WeakIdTypes '{WeakIdTypes}': '{name}' is not an id type (member_id, phone, unionid, openid, external_userid, app_user_id, device_id; or none)";
                return false;
            }
            if (!weak.Contains(type))
            {
                weak.Add(type);
            }
        }
        if (weak.Count == 0)
        {
            problem = $"Identity:WeakIdTypes is empty: name the shared id types (default device_id), or none";
            return false;
        }
        return true;
    }

    public Siyu.Contracts.Identity.IdValues ToIdValues() => new(PhoneRegion, BlockedValues);
}

public sealed class ClusterSettings
{
    /// <summary>Address other nodes reach this one at (Akka remoting).</summary>
    public string Hostname { get; set; } = "127.0.0.1";
    /// <summary>0 picks a free port (single node); a cluster needs fixed ports.</summary>
    public int Port { get; set; }
    /// <summary>akka.tcp://siyu@host:port of the seed nodes; empty: this node forms a cluster of its own.</summary>
    public List<string> SeedNodes { get; set; } = [];
    /// <summary>The split-brain resolver's stable-after: how long a member stays unreachable before it is downed and its shards move.</summary>
    public int DownUnreachableAfterSeconds { get; set; } = 20;

    internal void Validate(List<string> errors)
    {
        SiyuSettings.Range(errors, "Cluster:Port", Port, 0, 65535);
        SiyuSettings.Range(errors, "Cluster:DownUnreachableAfterSeconds", DownUnreachableAfterSeconds, 1, 600);
        if (string.IsNullOrWhiteSpace(Hostname))
        {
            errors.Add("Cluster:Hostname must not be empty");
        }
        foreach (var seed in SeedNodes)
        {
            if (!seed.StartsWith("akka.tcp://siyu@", StringComparison.Ordinal))
            {
                errors.Add($"Cluster:SeedNodes entry '{seed}' must look like akka.tcp://siyu@host:port");
            }
        }
    }
}

public sealed class CustomerSettings
{
    /// <summary>Idle customers leave memory after this many seconds.</summary>
    public int PassivateIdleSeconds { get; set; } = 120;
    /// <summary>How long a refund may wait for its order before it is dead-lettered.</summary>
    public int RefundGraceSeconds { get; set; } = 30;
    public int MaxShards { get; set; } = 100;

    internal void Validate(List<string> errors)
    {
        SiyuSettings.Range(errors, "Customers:PassivateIdleSeconds", PassivateIdleSeconds, 5, 86_400);
        SiyuSettings.Range(errors, "Customers:RefundGraceSeconds", RefundGraceSeconds, 0, 3_600);
        SiyuSettings.Range(errors, "Customers:MaxShards", MaxShards, 1, 10_000);
    }
}

/// <summary>
/// Private-domain operations (README "Operations"): the after-sale service plan, churn, reminders,
/// the contact cap. Durations are a number and a unit: s, min, h, d, w ("3d", "2min").
/// </summary>
public sealed class OperationsSettings
{
    /// <summary>name=offset pairs every order starts, e.g. "comfort_check=3d,cleaning=21d,trade_in=90d".</summary>
    public string ServiceTasks { get; set; } = "comfort_check=3d,cleaning=21d,trade_in=90d";
    /// <summary>A task done by due + this is on time.</summary>
    public string ServiceOnTimeWithin { get; set; } = "2d";
    /// <summary>A task not done by due + this is missed.</summary>
    public string ServiceMissedAfter { get; set; } = "14d";
    /// <summary>at_risk after ChurnFactor x the customer's usual interval between orders, and at least ChurnFloor.</summary>
    public double ChurnFactor { get; set; } = 2.0;
    public string ChurnFloor { get; set; } = "60d";
    public double LapsedFactor { get; set; } = 4.0;
    public string LapsedFloor { get; set; } = "180d";
    public int BirthdayLeadDays { get; set; } = 7;
    public int AnniversaryLeadDays { get; set; } = 7;
    /// <summary>The tag holding an anniversary (yyyy-MM-dd).</summary>
    public string AnniversaryTag { get; set; } = "anniversary";
    /// <summary>Guide-initiated touches per customer per ContactWindow; due reminders beyond it wait.</summary>
    public int ContactCap { get; set; } = 3;
    public string ContactWindow { get; set; } = "7d";
    /// <summary>The brand's local time zone as an offset (dates of birthdays, "this week").</summary>
    public int UtcOffsetHours { get; set; } = 8;

    internal void Validate(List<string> errors, IReadOnlyDictionary<string, string> audiences)
    {
        try
        {
            var rules = ToRules(audiences);
            errors.AddRange(rules.Problems().Select(p => "Operations: " + p));
        }
        catch (SettingProblem p)
        {
            errors.Add(p.Message);
        }
        SiyuSettings.Range(errors, "Operations:BirthdayLeadDays", BirthdayLeadDays, 0, 60);
        SiyuSettings.Range(errors, "Operations:AnniversaryLeadDays", AnniversaryLeadDays, 0, 60);
        SiyuSettings.Range(errors, "Operations:ContactCap", ContactCap, 1, 1000);
        SiyuSettings.Range(errors, "Operations:UtcOffsetHours", UtcOffsetHours, -12, 14);
    }

    /// <summary>The customer rules these settings describe; throws a problem naming the setting.</summary>
    public CustomerRules ToRules(IReadOnlyDictionary<string, string> audiences)
    {
        var operations = OperationsRules.Default with
        {
            ServiceTasks = ParseTasks(ServiceTasks),
            OnTimeWithin = Duration("Operations:ServiceOnTimeWithin", ServiceOnTimeWithin),
            MissedAfter = Duration("Operations:ServiceMissedAfter", ServiceMissedAfter),
            BirthdayLeadDays = BirthdayLeadDays,
            AnniversaryLeadDays = AnniversaryLeadDays,
            AnniversaryTag = string.IsNullOrWhiteSpace(AnniversaryTag) ? throw new SettingProblem("Operations:AnniversaryTag must not be empty") : AnniversaryTag,
            ContactCap = ContactCap,
            ContactWindow = Duration("Operations:ContactWindow", ContactWindow),
            LocalOffset = TimeSpan.FromHours(UtcOffsetHours),
            Audiences = audiences.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a =>
            {
                try
                {
                    return AudienceRule.Parse(a.Key, a.Value);
                }
                catch (FormatException e)
                {
                    throw new SettingProblem($"Audiences:{a.Key}: {e.Message}");
                }
            }).ToList(),
        };
        return CustomerRules.Default with
        {
            ChurnFactor = ChurnFactor,
            LapsedFactor = LapsedFactor,
            AtRiskAfter = Duration("Operations:ChurnFloor", ChurnFloor),
            LapsedAfter = Duration("Operations:LapsedFloor", LapsedFloor),
            Operations = operations,
        };
    }

    private static TimeSpan Duration(string name, string value) =>
        Durations.TryParse(value, out var d) && d >= TimeSpan.Zero
            ? d
            : throw new SettingProblem($"{name} '{value}' is not a duration (a number and s, min, h, d or w, e.g. 3d or 2min)");

    private static List<ServiceTaskRule> ParseTasks(string text)
    {
        var tasks = new List<ServiceTaskRule>();
        foreach (var entry in text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var eq = entry.IndexOf('=');
            var name = eq > 0 ? entry[..eq].Trim() : "";
            if (name.Length == 0 || !name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-'))
            {
                throw new SettingProblem($"Operations:ServiceTasks entry '{entry}' is not name=duration (e.g. comfort_check=3d)");
            }
            tasks.Add(new ServiceTaskRule(name, Duration($"Operations:ServiceTasks '{name}'", entry[(eq + 1)..])));
        }
        return tasks;
    }

    private sealed class SettingProblem(string message) : Exception(message);
}
