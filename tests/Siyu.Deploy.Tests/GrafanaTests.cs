using System.Globalization;
using Siyu.Deploy.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Siyu.Deploy.Tests;

/// <summary>Grafana's plugin, provisioning mounts, the ClickHouse datasource and the dashboards provider.</summary>
public sealed class GrafanaTests
{
    private const string DatasourceFile = "dashboards/provisioning/datasources/clickhouse.yaml";
    private const string ProviderFile = "dashboards/provisioning/dashboards/siyu.yaml";
    private const string PluginId = "grafana-clickhouse-datasource";

    /// <summary>Dashboards reference the datasource by this uid.</summary>
    private const string DatasourceUid = "siyu-clickhouse";

    private readonly Compose _compose = Compose.Load();

    private Service Grafana => _compose["grafana"];

    [Fact]
    public void Grafana_installs_the_clickhouse_plugin()
    {
        var plugins = Grafana.Env("GF_INSTALL_PLUGINS").Split(',', StringSplitOptions.TrimEntries);
        Assert.Contains(plugins, p => p == PluginId || p.StartsWith(PluginId + " ", StringComparison.Ordinal));
    }

    [Fact]
    public void Provisioning_folder_is_mounted_where_grafana_reads_it()
    {
        var mount = Assert.Single(Grafana.Volumes, v => v.Target == "/etc/grafana/provisioning");
        Assert.True(mount.IsBind);
        Assert.Equal("dashboards/provisioning", Repo.Normalize(mount.Source));

        // Both provisioning files sit in the folders Grafana scans under that mount.
        Assert.True(File.Exists(Repo.PathOf(DatasourceFile)));
        Assert.True(File.Exists(Repo.PathOf(ProviderFile)));
    }

    [Fact]
    public void Datasource_points_at_the_clickhouse_service()
    {
        var datasource = Datasource();
        Assert.Equal(PluginId, datasource.Str("type"));

        var clickhouse = _compose["clickhouse"];
        var json = datasource.Map("jsonData");
        Assert.NotNull(json);
        Assert.True(_compose.IsServiceHost(json!.Str("host") ?? string.Empty, clickhouse), $"jsonData.host '{json.Str("host")}' is not the clickhouse service");

        var protocol = json.Str("protocol");
        var port = int.Parse(json.Str("port") ?? "0", CultureInfo.InvariantCulture);
        Assert.Equal("http", protocol);
        Assert.Equal(8123, port); // the HTTP port; the plugin's default (native) would be 9000
        Assert.Contains(port, clickhouse.Expose);
        Assert.NotEqual("true", json.Str("secure"));

        Assert.Equal(clickhouse.Env("CLICKHOUSE_USER"), json.Str("username"));
        Assert.Equal(clickhouse.Env("CLICKHOUSE_DB"), json.Str("defaultDatabase"));
    }

    [Fact]
    public void Datasource_password_comes_from_the_environment()
    {
        var password = Datasource().Map("secureJsonData")?.Str("password");
        Assert.NotNull(password);
        Assert.True(Interpolation.IsOnlyReference(password!, out var reference), $"datasource password is the literal '{password}'");

        // Grafana expands ${NAME} from its own environment, which compose fills from the same secret ClickHouse uses.
        var grafanaValue = Grafana.Env(reference.Name);
        Assert.True(Interpolation.IsOnlyReference(grafanaValue, out var grafanaRef));
        Assert.True(Interpolation.IsOnlyReference(_compose["clickhouse"].Env("CLICKHOUSE_PASSWORD"), out var clickhouseRef));
        Assert.Equal(clickhouseRef.Name, grafanaRef.Name);
    }

    [Fact]
    public void Dashboards_provider_reads_the_mounted_dashboards_folder()
    {
        var root = YamlExtensions.LoadMapping(ProviderFile);
        Assert.Equal("1", root.Str("apiVersion"));
        var provider = Assert.Single(root.Seq("providers")!.Children.OfType<YamlMappingNode>());
        Assert.Equal("file", provider.Str("type"));
        var path = provider.Map("options")?.Str("path");
        Assert.False(string.IsNullOrEmpty(path), "dashboards provider has no options.path");

        var mount = Assert.Single(Grafana.Volumes, v => v.Target == path);
        Assert.True(mount.IsBind, $"{path} should be a bind mount of the repo's dashboards folder");
        Assert.Equal("dashboards", Repo.Normalize(mount.Source));
    }

    [Fact]
    public void Grafana_waits_for_clickhouse()
    {
        Assert.Equal("service_healthy", Grafana.DependsOn.GetValueOrDefault("clickhouse"));
    }

    private static YamlMappingNode Datasource()
    {
        var root = YamlExtensions.LoadMapping(DatasourceFile);
        Assert.Equal("1", root.Str("apiVersion"));
        var all = root.Seq("datasources")?.Children.OfType<YamlMappingNode>().ToList() ?? [];
        return Assert.Single(all, d => d.Str("uid") == DatasourceUid);
    }
}
