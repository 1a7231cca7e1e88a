using Siyu.Host.Configuration;
using Siyu.Tests.Shared;

namespace Siyu.Host.Tests;

public sealed class SettingsTests
{
    private static SettingsException Fails(Dictionary<string, string?> overrides, bool embedded = false) =>
        Assert.Throws<SettingsException>(() => SettingsLoader.Load(SettingsLoader.Build(null, overrides), embedded));

    private static readonly Dictionary<string, string?> Valid = new()
    {
        ["Kafka:BootstrapServers"] = "kafka:9092",
        ["Privacy:PhoneHashKey"] = "a-secret-of-at-least-16-bytes",
        ["Api:Keys:ops:Role"] = "admin",
        ["Api:Keys:ops:Hash"] = "sha256:" + new string('a', 64),
    };

    private static Dictionary<string, string?> With(string key, string? value) => new(Valid) { [key] = value };

    [Fact]
    public void The_shipped_defaults_are_valid_for_the_embedded_stack()
    {
        var settings = SettingsLoader.Load(SettingsLoader.Build(null), embedded: true);
        Assert.Equal("siyu.", settings.Kafka.TopicPrefix);
        Assert.Equal("embedded", settings.ClickHouse.Engine);
    }

    [Fact]
    public void Production_settings_load()
    {
        var settings = SettingsLoader.Load(SettingsLoader.Build(null, Valid), embedded: false);
        Assert.Equal("kafka:9092", settings.Kafka.BootstrapServers);
    }

    [Theory]
    [InlineData("Customers:FlushIntervalMs", "one transaction per flush cycle")]
    [InlineData("Operations:WakeBuckets", "scans the store")]
    public void A_removed_setting_stops_start_up_saying_what_replaced_it(string key, string replacement)
    {
        var problem = Assert.Single(Fails(With(key, "50")).Problems);
        Assert.StartsWith($"{key} was removed", problem);
        Assert.Contains(replacement, problem);
    }

    [Theory]
    [InlineData("Kafka:BootstrapServers", "", "Kafka:BootstrapServers")]
    [InlineData("Kafka:BootstrapServers", "kafka", "Kafka:BootstrapServers")]
    [InlineData("Kafka:MaxInFlight", "0", "Kafka:MaxInFlight")]
    [InlineData("Kafka:MaxInFlight", "lots", "Kafka:MaxInFlight")]
    [InlineData("Kafka:SessionTimeoutMs", "10", "Kafka:SessionTimeoutMs")]
    [InlineData("Kafka:TopicPrefix", "siyu/", "Kafka:TopicPrefix")]
    [InlineData("Kafka:BootstrapServer", "kafka:9092", "BootstrapServer")]
    [InlineData("ClickHouse:Engine", "mysql", "ClickHouse:Engine")]
    [InlineData("Journal:Provider", "oracle", "Journal:Provider")]
    [InlineData("Api:Urls", "not a url", "Api:Urls")]
    [InlineData("Privacy:PhoneHashKey", "short", "Privacy:PhoneHashKey")]
    [InlineData("Api:Keys:ops:Role", "root", "Api:Keys:ops:Role")]
    [InlineData("Api:Keys:ops:Hash", "sk_the-key-itself", "Api:Keys:ops:Hash")]
    [InlineData("Api:Jwt:Authority", "https://login.example.cn", "Api:Jwt:Audience")]
    [InlineData("Api:RatePerSecond", "0", "Api:RatePerSecond")]
    [InlineData("Identity:PhoneRegion", "XX", "Identity:PhoneRegion")]
    [InlineData("Ingest:MaxPayloadBytes", "10", "Ingest:MaxPayloadBytes")]
    [InlineData("Cluster:DownUnreachableAfterSeconds", "0", "Cluster:DownUnreachableAfterSeconds")]
    [InlineData("Kafak:GroupId", "x", "Kafak")]
    [InlineData("Operations:ServiceTasks", "comfort_check=3", "Operations:ServiceTasks")]
    [InlineData("Operations:ServiceTasks", "=3d", "Operations:ServiceTasks")]
    [InlineData("Operations:ServiceMissedAfter", "1h", "MissedAfter")]
    [InlineData("Operations:ChurnFloor", "soon", "Operations:ChurnFloor")]
    [InlineData("Operations:ContactCap", "0", "Operations:ContactCap")]
    [InlineData("Operations:Cap", "3", "Cap")]
    [InlineData("Audiences:winback", "in_private_domain or state=at_risk", "Audiences:winback")]
    [InlineData("Audiences:winback", "frequency=sometimes", "Audiences:winback")]
    [InlineData("Audiences:bad name", "has_guide", "Audiences:bad name")]
    [InlineData("Identity:WeakIdTypes", "device", "Identity:WeakIdTypes")]
    [InlineData("Identity:WeakIdTypes", " , ", "Identity:WeakIdTypes")]
    [InlineData("Identity:WeakIdTypes", "member_id,phone,unionid,openid,external_userid,app_user_id,device_id", "Identity:WeakIdTypes")]
    public void A_bad_setting_stops_start_up_with_a_message_naming_it(string key, string value, string named)
    {
        var ex = Fails(With(key, value));
        Assert.Contains(named, ex.Message);
    }

    [Theory]
    [InlineData(null, new[] { "device_id" })]
    [InlineData("none", new string[0])]
    [InlineData("device_id, openid", new[] { "device_id", "openid" })]
    public void Weak_id_types_become_the_identity_rules(string? value, string[] weak)
    {
        var overrides = new Dictionary<string, string?>(Valid);
        if (value is not null)
        {
            overrides["Identity:WeakIdTypes"] = value;
        }
        var rules = SettingsLoader.Load(SettingsLoader.Build(null, overrides), embedded: false).Rules();
        Assert.Equal(weak, rules.WeakIdTypes.Select(t => Siyu.Contracts.Events.IdTypeNames.WireName(t)));
        Assert.Empty(rules.Problems());
    }

    [Fact]
    public void Operations_settings_become_the_customer_rules()
    {
        var settings = SettingsLoader.Load(SettingsLoader.Build(null, new Dictionary<string, string?>(Valid)
        {
            ["Operations:ServiceTasks"] = "comfort_check=2min, cleaning=5min",
            ["Operations:ContactCap"] = "2",
            ["Audiences:winback"] = "in_private_domain and frequency=low and state=at_risk",
        }), embedded: false);
        var rules = settings.Operations.ToRules(settings.Audiences);
        Assert.Equal([("comfort_check", TimeSpan.FromMinutes(2)), ("cleaning", TimeSpan.FromMinutes(5))],
            rules.Operations.ServiceTasks.Select(t => (t.Name, t.Offset)));
        Assert.Equal(2, rules.Operations.ContactCap);
        Assert.Equal(3, Assert.Single(rules.Operations.Audiences).Terms.Count);
        Assert.Empty(rules.Problems());
    }

    [Fact]
    public void Server_clickhouse_needs_a_connection_string()
    {
        var ex = Fails(With("ClickHouse:Engine", "server"));
        Assert.Contains("ClickHouse:ConnectionString", ex.Message);
    }

    [Fact]
    public async Task The_executable_reports_a_bad_environment_variable_and_exits_2()
    {
        var (exit, _, stderr) = await SiyuProcess.RunAsync(["run"], new Dictionary<string, string>
        {
            ["SIYU_Kafka__BootstrapServers"] = "kafka:9092",
            ["SIYU_Privacy__PhoneHashKey"] = "a-secret-of-at-least-16-bytes",
            ["SIYU_Kafka__MaxInFlight"] = "-5",
        });
        Assert.Equal(2, exit);
        Assert.Contains("Kafka:MaxInFlight must be between 1 and 1000000 (got -5)", stderr);
    }

    [Fact]
    public async Task A_missing_config_file_is_named()
    {
        var (exit, _, stderr) = await SiyuProcess.RunAsync(["run", "--config", "/nonexistent/siyu.json"]);
        Assert.Equal(2, exit);
        Assert.Contains("/nonexistent/siyu.json", stderr);
    }
}
