using Siyu.Deploy.Tests.Support;

namespace Siyu.Deploy.Tests;

/// <summary>
/// The siyu container's settings (mounted production config + SIYU_* environment) point at what the
/// other compose services actually serve. Checked twice: for the effective settings in compose, and
/// for the production config file alone (the default baked into the image).
/// </summary>
public sealed class SiyuServiceTests
{
    private readonly Compose _compose = Compose.Load();

    private Service Siyu => _compose["siyu"];

    public static TheoryData<string> Sources => new() { "compose", "file" };

    private IReadOnlyDictionary<string, string?> Settings(string source) => source == "compose"
        ? SiyuSettings.Effective(SiyuSettings.LoadProductionConfig(), Siyu.Environment)
        : SiyuSettings.LoadProductionConfig();

    [Fact]
    public void Siyu_runs_with_the_mounted_production_config()
    {
        Assert.Equal(["run", "--config", SiyuSettings.ConfigPathInContainer], Siyu.Command);
        var mount = Assert.Single(Siyu.Volumes, v => v.Target == SiyuSettings.ConfigPathInContainer);
        Assert.True(mount.IsBind);
        Assert.Equal(SiyuSettings.ProductionConfig, Repo.Normalize(mount.Source));
    }

    [Fact]
    public void Environment_overrides_only_known_settings()
    {
        var overrides = Siyu.Environment.Keys.Where(k => SiyuSettings.EnvToKey(k) is not null).ToList();
        Assert.NotEmpty(overrides);
        foreach (var name in overrides)
        {
            // SIYU_Kafka_BootstrapServers (one underscore) would silently be ignored by the host.
            var key = SiyuSettings.EnvToKey(name)!;
            Assert.True(SiyuSettings.RequiredKeys.Concat(SiyuSettings.ClusterKeys).Contains(key, StringComparer.Ordinal),
                $"{name} maps to '{key}', which is not a siyu setting ({string.Join(", ", SiyuSettings.RequiredKeys)})");
        }

        // Secrets only exist in the environment, so they must be overridden there.
        Assert.Contains("SIYU_Privacy__PhoneHashKey", overrides);
        Assert.Contains("SIYU_ClickHouse__ConnectionString", overrides);
        Assert.Contains("SIYU_Journal__ConnectionString", overrides);
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Kafka_bootstrap_is_the_brokers_internal_listener(string source)
    {
        var bootstrap = Settings(source).Require(SiyuSettings.KafkaBootstrapServers, source);
        var kafka = _compose["kafka"];
        var advertised = KafkaTests.Listeners(kafka.Env("KAFKA_ADVERTISED_LISTENERS"));
        foreach (var server in bootstrap.Split(',', StringSplitOptions.TrimEntries))
        {
            var (host, port) = KafkaTests.HostPort(server);
            Assert.True(_compose.IsServiceHost(host, kafka), $"{source}: bootstrap host {host} is not the kafka service");
            Assert.Contains(advertised.Values, a => a.Host == host && a.Port == port);
        }
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void ClickHouse_settings_match_the_clickhouse_service(string source)
    {
        var settings = Settings(source);
        Assert.Equal("server", settings.Require(SiyuSettings.ClickHouseEngine, source));

        var clickhouse = _compose["clickhouse"];
        var parts = ConnectionString.Parse(settings.Require(SiyuSettings.ClickHouseConnectionString, source));
        Assert.True(_compose.IsServiceHost(parts.Part("Host", source), clickhouse), $"{source}: ClickHouse Host is not the clickhouse service");
        var port = int.Parse(parts.Part("Port", source), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(8123, port); // ClickHouse.Driver speaks HTTP; 9000 is the native protocol
        Assert.Contains(port, clickhouse.Expose);
        Assert.Equal(clickhouse.Env("CLICKHOUSE_DB"), parts.Part("Database", source));
        Assert.Equal(clickhouse.Env("CLICKHOUSE_USER"), parts.Part("Username", source));
        if (source == "compose")
        {
            AssertSameVariable(parts.Part("Password", source), clickhouse.Env("CLICKHOUSE_PASSWORD"), "ClickHouse password");
        }
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Journal_settings_match_the_postgres_service(string source)
    {
        var settings = Settings(source);
        Assert.Equal("postgresql", settings.Require(SiyuSettings.JournalProvider, source));

        var postgres = _compose["postgres"];
        var parts = ConnectionString.Parse(settings.Require(SiyuSettings.JournalConnectionString, source));
        Assert.True(_compose.IsServiceHost(parts.Part("Host", source), postgres), $"{source}: journal Host is not the postgres service");
        var port = int.Parse(parts.Part("Port", source), System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(5432, port);
        Assert.Contains(port, postgres.Expose);
        Assert.Contains($"-p {port}", string.Join(' ', postgres.HealthcheckTest), StringComparison.Ordinal);
        Assert.Equal(postgres.Env("POSTGRES_DB"), parts.Part("Database", source));
        Assert.Equal(postgres.Env("POSTGRES_USER"), parts.Part("Username", source));
        if (source == "compose")
        {
            AssertSameVariable(parts.Part("Password", source), postgres.Env("POSTGRES_PASSWORD"), "Postgres password");
        }
    }

    [Theory]
    [MemberData(nameof(Sources))]
    public void Api_port_is_published_exposed_and_health_checked(string source)
    {
        var url = new Uri(Settings(source).Require(SiyuSettings.ApiUrls, source));
        Assert.Equal("http", url.Scheme);
        Assert.Equal("0.0.0.0", url.Host); // localhost would be unreachable from outside the container
        Assert.Contains(Siyu.Ports, p => p.ContainerPort == url.Port);

        var health = Siyu.HealthcheckTest.Single(a => a.StartsWith("http", StringComparison.Ordinal));
        var healthUrl = new Uri(health);
        Assert.Equal(url.Port, healthUrl.Port);
        Assert.Equal("/health", healthUrl.AbsolutePath);

        var dockerfile = DockerfileModel.Load();
        Assert.Contains(dockerfile.In(dockerfile.FinalStage, "EXPOSE"), e => e.Arguments.Split(' ').Contains(url.Port.ToString(System.Globalization.CultureInfo.InvariantCulture)));
    }

    [Fact]
    public void Phone_hash_key_comes_from_a_required_variable()
    {
        var value = Siyu.Env("SIYU_Privacy__PhoneHashKey");
        Assert.True(Interpolation.IsOnlyReference(value, out var reference), $"phone hash key is the literal '{value}'");
        Assert.True(reference.IsRequired);
    }

    [Fact]
    public void Siyu_starts_after_its_dependencies_are_ready()
    {
        var deps = Siyu.DependsOn;
        Assert.Equal("service_healthy", deps.GetValueOrDefault("kafka"));
        Assert.Equal("service_healthy", deps.GetValueOrDefault("clickhouse"));
        Assert.Equal("service_healthy", deps.GetValueOrDefault("postgres"));
        Assert.Equal("service_completed_successfully", deps.GetValueOrDefault("kafka-init"));
    }

    private static void AssertSameVariable(string siyuValue, string serviceValue, string what)
    {
        Assert.True(Interpolation.IsOnlyReference(siyuValue, out var a), $"{what} in siyu is not a variable reference");
        Assert.True(Interpolation.IsOnlyReference(serviceValue, out var b), $"{what} in the service is not a variable reference");
        Assert.Equal(b.Name, a.Name);
    }
}
