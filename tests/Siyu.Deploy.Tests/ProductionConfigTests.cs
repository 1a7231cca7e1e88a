using System.Globalization;
using Siyu.Deploy.Tests.Support;

namespace Siyu.Deploy.Tests;

/// <summary>deploy/siyu.production.json, the file mounted as /etc/siyu/siyu.json.</summary>
public sealed class ProductionConfigTests
{
    private readonly IReadOnlyDictionary<string, string?> _config = SiyuSettings.LoadProductionConfig();

    public static TheoryData<string> RequiredKeys => new(SiyuSettings.RequiredKeys);

    [Theory]
    [MemberData(nameof(RequiredKeys))]
    public void Has_every_required_key(string key)
    {
        Assert.True(_config.ContainsKey(key), $"{SiyuSettings.ProductionConfig} has no {key}");
        // Keys must match the documented casing exactly, so a search for them finds this file.
        Assert.Contains(key, _config.Keys, StringComparer.Ordinal);
    }

    [Fact]
    public void Values_are_valid_for_a_server_deployment()
    {
        var what = SiyuSettings.ProductionConfig;
        Assert.Contains(_config.Require(SiyuSettings.ClickHouseEngine, what), SiyuSettings.ClickHouseEngines);
        Assert.Contains(_config.Require(SiyuSettings.JournalProvider, what), SiyuSettings.JournalProviders);
        Assert.Equal("server", _config[SiyuSettings.ClickHouseEngine]);
        Assert.Equal("postgresql", _config[SiyuSettings.JournalProvider]);

        // Empty means "embedded in-process dev broker", which must never run in the container.
        _config.Require(SiyuSettings.KafkaBootstrapServers, what);
        Assert.Equal("siyu.", _config.Require(SiyuSettings.KafkaTopicPrefix, what));
        Assert.Equal("siyu-ingest", _config.Require(SiyuSettings.KafkaGroupId, what));
        var timeout = int.Parse(_config.Require(SiyuSettings.KafkaSessionTimeoutMs, what), NumberStyles.None, CultureInfo.InvariantCulture);
        Assert.InRange(timeout, 6_000, 300_000); // the broker's group.min/max.session.timeout.ms defaults

        Assert.True(Uri.TryCreate(_config.Require(SiyuSettings.ApiUrls, what), UriKind.Absolute, out var url));
        Assert.Equal("http://0.0.0.0:8080/", url!.ToString());
    }

    [Fact]
    public void Carries_no_secrets()
    {
        Assert.Equal(string.Empty, _config[SiyuSettings.PrivacyPhoneHashKey]);
        foreach (var key in new[] { SiyuSettings.ClickHouseConnectionString, SiyuSettings.JournalConnectionString })
        {
            var parts = ConnectionString.Parse(_config.Require(key, SiyuSettings.ProductionConfig));
            Assert.False(parts.ContainsKey("Password"), $"{key} in {SiyuSettings.ProductionConfig} contains a password");
        }
    }
}
