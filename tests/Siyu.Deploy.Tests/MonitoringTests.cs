using System.Diagnostics;
using System.Text.RegularExpressions;
using Siyu.Deploy.Tests.Support;
using YamlDotNet.RepresentationModel;

namespace Siyu.Deploy.Tests;

/// <summary>
/// Monitoring that pages someone: Prometheus scrapes every node of docker-compose.yml and its
/// alert rules pass Prometheus's own checker and unit tests (promtool, from Debian's prometheus
/// package), Alertmanager's configuration passes amtool once its webhook is filled in, and
/// Grafana's campaign alerts are well-formed and reach the same webhook. (The campaign alerts'
/// SQL runs on ClickHouse in tests/Siyu.Sinks.Tests/Sink/CampaignAlertTests.)
/// </summary>
public sealed partial class MonitoringTests
{
    private const string PrometheusDir = "deploy/prometheus";
    private const string CampaignAlerts = "dashboards/provisioning/alerting/campaign-alerts.yaml";
    private const string ContactPoints = "dashboards/provisioning/alerting/contact-points.yaml";

    private static readonly string[] RequiredAlerts =
        ["SiyuNodeDown", "SiyuConsumerLagGrowing", "SiyuDeadLettersHigh", "SiyuSinkFailing", "SiyuJournalFailing", "SiyuFreshnessOverTarget"];

    private readonly Compose _compose = Compose.Load();

    [GeneratedRegex(@"\bsiyu_[a-z_]+")]
    private static partial Regex MetricName();

    [GeneratedRegex(@"""(siyu_[a-z_]+)""")]
    private static partial Regex MetricDeclaration();

    [GeneratedRegex(@"^\s*grafana-clickhouse-datasource \d+\.\d+\.\d+$")]
    private static partial Regex PinnedPlugin();

    /// <summary>The siyu nodes of the compose file: services that run the siyu executable.</summary>
    private IEnumerable<Service> Nodes => _compose.Services.Values.Where(s => s.Command.FirstOrDefault() == "run");

    [Fact]
    public void Prometheus_scrapes_every_siyu_node_of_the_compose_file()
    {
        Assert.True(_compose.Services.ContainsKey("prometheus") && _compose.Services.ContainsKey("alertmanager"));
        var config = YamlExtensions.LoadMapping($"{PrometheusDir}/prometheus.yml");
        var job = config.Seq("scrape_configs")!.Children.Cast<YamlMappingNode>().Single(j => j.Str("job_name") == "siyu");
        Assert.Equal("/metrics", job.Str("metrics_path"));
        var targets = job.Seq("static_configs")!.Children.Cast<YamlMappingNode>().SelectMany(c => c.Seq("targets").Strings()).ToHashSet();
        var nodes = Nodes.Select(n => $"{n.Name}:{new Uri(n.Env("SIYU_Api__Urls").Replace("0.0.0.0", "localhost", StringComparison.Ordinal)).Port}").ToHashSet();
        Assert.True(nodes.Count >= 2, string.Join(", ", nodes));
        Assert.Equal(nodes.Order(StringComparer.Ordinal), targets.Order(StringComparer.Ordinal));

        // It loads the rules it is given and sends alerts to the alertmanager service.
        var mounts = _compose["prometheus"].Volumes.Where(v => v.IsBind).ToDictionary(v => v.Target, v => Repo.Normalize(v.Source));
        Assert.Equal($"{PrometheusDir}/prometheus.yml", mounts[_compose["prometheus"].Command.Single(c => c.StartsWith("--config.file=", StringComparison.Ordinal))["--config.file=".Length..]]);
        foreach (var rules in config.Seq("rule_files").Strings())
        {
            Assert.True(mounts.ContainsKey(rules), $"{rules} is not mounted into the prometheus service");
        }
        var alertmanagers = config.Map("alerting")!.Seq("alertmanagers")!.Children.Cast<YamlMappingNode>()
            .SelectMany(a => a.Seq("static_configs")!.Children.Cast<YamlMappingNode>()).SelectMany(c => c.Seq("targets").Strings());
        Assert.Contains("alertmanager:9093", alertmanagers);
    }

    [Fact]
    public void Prometheus_config_and_alert_rules_pass_promtool_and_their_unit_tests()
    {
        // The config names rule files where the container mounts them; check it against the repository's.
        var dir = Directory.CreateTempSubdirectory("siyu-prom-").FullName;
        try
        {
            var config = Repo.Read($"{PrometheusDir}/prometheus.yml").Replace("/etc/prometheus/alerts.yml", Repo.PathOf($"{PrometheusDir}/alerts.yml"), StringComparison.Ordinal);
            File.WriteAllText(Path.Combine(dir, "prometheus.yml"), config);
            Run("promtool", ["check", "config", Path.Combine(dir, "prometheus.yml")], dir, "SUCCESS");
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        Run("promtool", ["check", "rules", "alerts.yml"], Repo.PathOf(PrometheusDir), "SUCCESS: 6 rules found");
        // Each alert fires on the series that should page and not on healthy ones (alerts.test.yml).
        Run("promtool", ["test", "rules", "alerts.test.yml"], Repo.PathOf(PrometheusDir), "SUCCESS");
    }

    [Fact]
    public void Every_alert_is_there_with_a_severity_and_a_summary_and_watches_metrics_the_nodes_export()
    {
        var rules = YamlExtensions.LoadMapping($"{PrometheusDir}/alerts.yml").Seq("groups")!.Children.Cast<YamlMappingNode>()
            .SelectMany(g => g.Seq("rules")!.Children.Cast<YamlMappingNode>()).ToList();
        Assert.Equal(RequiredAlerts.Order(StringComparer.Ordinal), rules.Select(r => r.Str("alert")!).Order(StringComparer.Ordinal));
        var exported = Directory.EnumerateFiles(Repo.PathOf("src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .SelectMany(f => MetricDeclaration().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value)).ToHashSet();
        Assert.Contains("siyu_journal_failing", exported);
        var tested = Repo.Read($"{PrometheusDir}/alerts.test.yml");
        foreach (var rule in rules)
        {
            var name = rule.Str("alert")!;
            Assert.Contains(rule.Map("labels")!.Str("severity"), new[] { "page", "warning" });
            Assert.False(string.IsNullOrWhiteSpace(rule.Map("annotations")!.Str("summary")), name);
            Assert.False(string.IsNullOrWhiteSpace(rule.Map("annotations")!.Str("description")), name);
            Assert.Contains($"alertname: {name}", tested, StringComparison.Ordinal);
            foreach (Match m in MetricName().Matches(rule.Str("expr")!))
            {
                var metric = Regex.Replace(m.Value, "_(bucket|sum|count)$", "");
                Assert.True(exported.Contains(metric), $"{name} watches {m.Value}, which no node exports (src/**/*.cs declares {string.Join(", ", exported.Order(StringComparer.Ordinal))})");
            }
        }
    }

    [Fact]
    public void Alertmanager_gets_its_webhook_from_the_environment_and_its_config_passes_amtool()
    {
        var alertmanager = _compose["alertmanager"];
        Assert.True(Interpolation.IsOnlyReference(alertmanager.Env("ALERT_WEBHOOK_URL"), out var reference) && reference.IsRequired);
        Assert.Equal(["/bin/sh", "/etc/alertmanager/start.sh"], alertmanager.Entrypoint.Take(2));
        var dir = Directory.CreateTempSubdirectory("siyu-am-").FullName;
        try
        {
            // A real webhook address has & and | and ? in it: they must arrive as they are.
            const string url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=a1|b2&debug=1";
            var output = Path.Combine(dir, "alertmanager.yml");
            Run("sh", [Repo.PathOf($"{PrometheusDir}/alertmanager-start.sh")], dir, null, new()
            {
                ["ALERT_WEBHOOK_URL"] = url,
                ["ALERTMANAGER_TEMPLATE"] = Repo.PathOf($"{PrometheusDir}/alertmanager.yml"),
                ["ALERTMANAGER_CONFIG"] = output,
            });
            var written = new YamlStream();
            written.Load(new StringReader(File.ReadAllText(output)));
            var receiver = ((YamlMappingNode)written.Documents[0].RootNode).Seq("receivers")!.Children.Cast<YamlMappingNode>().Single();
            Assert.Equal(url, receiver.Seq("webhook_configs")!.Children.Cast<YamlMappingNode>().Single().Str("url"));
            Run("amtool", ["check-config", output], dir, "SUCCESS");

            // Without the variable it stops with a message naming it.
            var failed = Run("sh", [Repo.PathOf($"{PrometheusDir}/alertmanager-start.sh")], dir, null, new() { ["ALERT_WEBHOOK_URL"] = null }, expectExit: false);
            Assert.Contains("ALERT_WEBHOOK_URL", failed, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Grafana_campaign_alerts_are_well_formed_and_go_to_the_webhook()
    {
        var text = Repo.Read(CampaignAlerts);
        // Grafana expands environment variables in provisioning files: a $labels would vanish.
        Assert.DoesNotContain("$", text, StringComparison.Ordinal);
        var file = YamlExtensions.LoadMapping(CampaignAlerts);
        var rules = file.Seq("groups")!.Children.Cast<YamlMappingNode>().SelectMany(g => g.Seq("rules")!.Children.Cast<YamlMappingNode>()).ToList();
        Assert.Equal(["Flash sale sold out", "Campaign revenue stalled"], rules.Select(r => r.Str("title")));
        Assert.Equal(rules.Count, rules.Select(r => r.Str("uid")).Distinct().Count());
        var datasource = YamlExtensions.LoadMapping("dashboards/provisioning/datasources/clickhouse.yaml").Seq("datasources")!.Children.Cast<YamlMappingNode>().Single().Str("uid");
        foreach (var rule in rules)
        {
            var data = rule.Seq("data")!.Children.Cast<YamlMappingNode>().ToList();
            var refIds = data.Select(d => d.Str("refId")!).ToList();
            Assert.Contains(rule.Str("condition"), refIds);
            foreach (var d in data)
            {
                var model = d.Map("model")!;
                Assert.Equal(d.Str("refId"), model.Str("refId"));
                if (d.Str("datasourceUid") == "__expr__")
                {
                    Assert.Contains(model.Str("expression"), refIds);
                    Assert.Equal("threshold", model.Str("type"));
                }
                else
                {
                    Assert.Equal(datasource, d.Str("datasourceUid"));
                    Assert.Equal("sql", model.Str("editorType"));
                    Assert.False(string.IsNullOrWhiteSpace(model.Str("rawSql")));
                }
            }
            Assert.False(string.IsNullOrWhiteSpace(rule.Map("annotations")!.Str("summary")));
            Assert.Contains(rule.Map("labels")!.Str("severity"), new[] { "page", "warning" });
        }

        var contacts = YamlExtensions.LoadMapping(ContactPoints);
        var point = contacts.Seq("contactPoints")!.Children.Cast<YamlMappingNode>().Single();
        Assert.Equal(point.Str("name"), contacts.Seq("policies")!.Children.Cast<YamlMappingNode>().Single().Str("receiver"));
        var url = point.Seq("receivers")!.Children.Cast<YamlMappingNode>().Single().Map("settings")!.Str("url")!;
        Assert.True(Interpolation.IsOnlyReference(url, out var inFile));
        Assert.True(Interpolation.IsOnlyReference(_compose["grafana"].Env(inFile.Name), out var inCompose) && inCompose.IsRequired);
        Assert.Equal(inCompose.Name, _compose["alertmanager"].Env("ALERT_WEBHOOK_URL") is { } am && Interpolation.IsOnlyReference(am, out var amRef) ? amRef.Name : null);
    }

    [Fact]
    public void The_grafana_clickhouse_plugin_version_is_pinned()
    {
        var plugins = _compose["grafana"].Env("GF_INSTALL_PLUGINS").Split(',', StringSplitOptions.TrimEntries);
        Assert.Contains(plugins, p => PinnedPlugin().IsMatch(p));
    }

    /// <summary>Runs a tool and returns its output; a missing tool fails with how to get it (.ci/run installs it).</summary>
    private static string Run(string tool, string[] args, string workingDirectory, string? expect, Dictionary<string, string?>? env = null, bool expectExit = true)
    {
        var start = new ProcessStartInfo(tool) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (k, v) in env ?? [])
        {
            if (v is null)
            {
                start.Environment.Remove(k);
            }
            else
            {
                start.Environment[k] = v;
            }
        }
        Process process;
        try
        {
            process = Process.Start(start)!;
        }
        catch (System.ComponentModel.Win32Exception)
        {
            Assert.Fail($"{tool} is not installed: apt-get install prometheus prometheus-alertmanager (.ci/run does)");
            throw;
        }
        using (process)
        {
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEnd();
            process.WaitForExit();
            var output = stdout.Result + stderr;
            Assert.True(expectExit == (process.ExitCode == 0), $"{tool} {string.Join(' ', args)} exited {process.ExitCode}:\n{output}");
            if (expect is not null)
            {
                Assert.Contains(expect, output, StringComparison.Ordinal);
            }
            return output;
        }
    }
}
