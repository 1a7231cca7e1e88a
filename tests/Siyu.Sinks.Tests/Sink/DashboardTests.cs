using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Prometheus;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Pipeline;
using Siyu.Sinks.Rows;
using Siyu.Sinks.Sink;
using Siyu.Sinks.Tests.ClickHouse;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Sinks.Tests.Sink;

/// <summary>
/// Every panel and variable query of dashboards/*.json, expanded as Grafana would, runs on chDB
/// against the scenario's data (written through the sinks) and returns rows.
/// </summary>
/// <remarks>
/// Sales, touches and operations keep their calendar dates (nothing in ClickHouse ages them), but
/// pipeline_metrics has a 30-day TTL on chDB's clock: its samples are written in the last hour,
/// so they are never expired whatever the date of the run.
/// </remarks>
[Collection(ChDbCollection.Name)]
[Trait("Clock", "sensitive")]
public sealed class DashboardTests(ChDbFixture fixture, ITestOutputHelper output)
{
    public const string DatasourceUid = DashboardFiles.DatasourceUid;
    private static readonly string[] Expected = DashboardFiles.Names;
    private static readonly DateTimeOffset From = new(2026, 11, 1, 0, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset To = new(2026, 12, 31, 0, 0, 0, TimeSpan.Zero);

    // The first pipeline sample: a whole minute, half an hour before the run (see remarks).
    private static readonly DateTimeOffset MetricsStart = StartOfMinute(TimeProvider.System.GetUtcNow().AddMinutes(-30));
    private static Task<string>? s_database;

    public static string DashboardsDirectory() => DashboardFiles.Directory();

    public static IEnumerable<object[]> Dashboards() => Expected.Select(d => new object[] { d });

    [Fact]
    public void The_four_dashboards_exist_with_unique_uids()
    {
        var files = Directory.GetFiles(DashboardsDirectory(), "*.json").Select(Path.GetFileName).ToHashSet();
        Assert.All(Expected, e => Assert.Contains(e, files));
        var uids = Expected.Select(f => Load(f)["uid"]!.GetValue<string>()).ToList();
        Assert.Equal(uids.Count, uids.Distinct().Count());
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public void Every_panel_queries_the_provisioned_ClickHouse_datasource(string file)
    {
        var dashboard = Load(file);
        Assert.False(string.IsNullOrWhiteSpace(dashboard["title"]?.GetValue<string>()));
        var panels = Panels(dashboard).ToList();
        Assert.NotEmpty(panels);
        Assert.Equal(panels.Count, panels.Select(p => p["id"]!.GetValue<int>()).Distinct().Count());
        foreach (var panel in panels)
        {
            var title = panel["title"]!.GetValue<string>();
            Assert.Equal(DatasourceUid, panel["datasource"]?["uid"]?.GetValue<string>());
            Assert.NotNull(panel["gridPos"]);
            var target = Assert.Single(panel["targets"]!.AsArray());
            Assert.Equal(DatasourceUid, target!["datasource"]?["uid"]?.GetValue<string>());
            Assert.Equal("grafana-clickhouse-datasource", target["datasource"]?["type"]?.GetValue<string>());
            Assert.Equal("sql", target["editorType"]?.GetValue<string>());
            Assert.False(string.IsNullOrWhiteSpace(target["rawSql"]?.GetValue<string>()), title);
        }

        foreach (var variable in dashboard["templating"]!["list"]!.AsArray())
        {
            Assert.Equal(DatasourceUid, variable!["datasource"]?["uid"]?.GetValue<string>());
        }
    }

    [Theory]
    [MemberData(nameof(Dashboards))]
    public async Task Every_query_runs_on_chDB_and_returns_rows(string file)
    {
        var db = await PopulatedDatabase();
        var dashboard = Load(file);
        var variables = new Dictionary<string, string[]>
        {
            ["campaign"] = ["C-FLASH"],
            ["store"] = GrafanaMacros.All,
            ["instance"] = GrafanaMacros.All,
        };

        foreach (var selection in new[] { GrafanaMacros.All, new[] { "S001", "S003" } })
        {
            variables["store"] = selection;
            variables["instance"] = selection == GrafanaMacros.All ? selection : ["node-a"];
            var macros = file == "pipeline.json"
                ? new GrafanaMacros { From = MetricsStart.AddHours(-1), To = MetricsStart.AddHours(1), Variables = variables, Database = db }
                : new GrafanaMacros { From = From, To = To, Variables = variables, Database = db };
            foreach (var (title, sql) in Queries(dashboard))
            {
                var expanded = macros.Expand(sql);
                string result;
                try
                {
                    result = await fixture.Engine.QueryAsync(expanded);
                }
                catch (ClickHouseException e)
                {
                    Assert.Fail($"{file} · {title} failed: {e.Message}\n{expanded}");
                    throw;
                }

                var rows = result.Split('\n', StringSplitOptions.RemoveEmptyEntries);
                Assert.True(rows.Length > 0, $"{file} · {title} returned no rows (store={string.Join(',', selection)}):\n{expanded}");
                Assert.True(HasData(rows[0]), $"{file} · {title} returned only nulls or zeros: {rows[0]}\n{expanded}");
                output.WriteLine($"{file} · {title} [store={string.Join(',', selection)}]: {rows.Length} rows, first {Truncate(rows[0])}");
            }
        }
    }

    [Fact]
    public async Task Pipeline_rates_and_freshness_quantiles_come_out_right()
    {
        var db = await PopulatedDatabase();
        var macros = new GrafanaMacros
        {
            From = MetricsStart.AddMinutes(-1),
            To = MetricsStart.AddMinutes(3),
            Variables = new Dictionary<string, string[]> { ["instance"] = GrafanaMacros.All },
            Database = db,
        };
        var pipeline = Queries(Load("pipeline.json")).ToDictionary(q => q.Title, q => q.Sql);

        // siyu_ingest_messages_total{topic="siyu.pos",outcome="accepted"} grows by 150 every 15 s on each of two nodes.
        var events = await fixture.Engine.QueryRowsAsync<RateRow>(macros.Expand(pipeline["Events per second by topic and outcome"]));
        Assert.Equal(2, events.Count(r => r.Label == "siyu.pos accepted"));
        Assert.All(events.Where(r => r.Label == "siyu.pos accepted"), r => Assert.Equal(2 * 10.0, r.PerSecond!.Value, 6));

        // malformed_json: first sampled at 3, then +3 six more times on each node; then node-a restarts and
        // shows 12: a counter reset, which counts as 12 (not as a drop of 9).
        var deadLetters = await fixture.Engine.QueryRowsAsync<Dictionary<string, JsonElement>>(macros.Expand(pipeline["Dead letters in range by reason"]));
        Assert.Equal((2 * 6 * 3) + 12, deadLetters.Single(r => r["reason"].GetString() == "malformed_json")["dead_letters"].GetDouble());
        Assert.Equal(2 * 6, deadLetters.Single(r => r["reason"].GetString() == "unknown_type")["dead_letters"].GetDouble());

        // Lag: partitions 0 and 1 of siyu.pos summed over both nodes, the latest sample per interval (k = 3, 45 s into the first minute).
        var lag = await fixture.Engine.QueryRowsAsync<Dictionary<string, JsonElement>>(macros.Expand(pipeline["Consumer lag by topic"]));
        Assert.Equal(2 * ((100 - (3 * 10)) + 50), lag.Single(r => r["time"].GetString() == MetricsStart.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture))["value"].GetDouble());

        // 98 rows seen at 0.3 s and 2 at 20 s per interval: p50 in the 0.5 s bucket, p99 in the 30 s one.
        var freshness = await fixture.Engine.QueryRowsAsync<Dictionary<string, JsonElement>>(macros.Expand(pipeline["Freshness p50 / p99 by table"]));
        Assert.NotEmpty(freshness);
        Assert.All(freshness, r =>
        {
            Assert.Equal(0.5, r["p50"].GetDouble());
            Assert.Equal(30, r["p99"].GetDouble());
        });
    }

    [Fact]
    public async Task Service_compliance_and_over_contacted_customers_come_out_right()
    {
        var db = await PopulatedDatabase();
        var macros = new GrafanaMacros { From = From, To = To, Variables = new Dictionary<string, string[]> { ["store"] = GrafanaMacros.All }, Database = db };
        var health = Queries(Load("private-domain-health.json")).ToDictionary(q => q.Title, q => q.Sql);
        var scenario = new OperationsScenario();

        var byTask = await fixture.Engine.QueryRowsAsync<Dictionary<string, JsonElement>>(macros.Expand(health["3-3-3 service compliance by task"]));
        foreach (var task in OperationsScenario.Tasks)
        {
            var closed = scenario.Unique.Where(r => r.Kind == "service_outcome" && r.Task == task).ToList();
            var row = byTask.Single(r => r["task"].GetString() == task);
            Assert.Equal(closed.Count(r => r.Outcome == "on_time"), (int)Num(row["on_time"]));
            Assert.Equal(closed.Count(r => r.Outcome == "late"), (int)Num(row["late"]));
            Assert.Equal(closed.Count(r => r.Outcome == "missed"), (int)Num(row["missed"]));
        }

        var over = await fixture.Engine.QueryRowsAsync<Dictionary<string, JsonElement>>(macros.Expand(health["Over-contacted customers"]));
        var only = Assert.Single(over);
        Assert.Equal(("c0001", 5.0, 3.0), (only["customer_id"].GetString(), Num(only["most_touches_in_7_days"]), Num(only["cap"])));
    }

    // ClickHouse may quote 64-bit integers in JSON.
    private static double Num(JsonElement e) =>
        e.ValueKind == JsonValueKind.String ? double.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : e.GetDouble();

    private sealed record RateRow(DateTimeOffset Time, string Label, double? PerSecond);

    private static DateTimeOffset StartOfMinute(DateTimeOffset t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerMinute), TimeSpan.Zero);

    private static string Truncate(string s) => s.Length <= 160 ? s : s[..160] + "…";

    private static JsonNode Load(string file) => DashboardFiles.Load(file);

    private static IEnumerable<JsonNode> Panels(JsonNode dashboard) => DashboardFiles.Panels(dashboard);

    private static IEnumerable<(string Title, string Sql)> Queries(JsonNode dashboard) => DashboardFiles.Queries(dashboard);

    private static bool HasData(string jsonRow) => DashboardFiles.HasData(jsonRow);

    // One database with the scenario, written through the sinks, shared by the tests of this class.
    private Task<string> PopulatedDatabase() => LazyInitializer.EnsureInitialized(ref s_database, () => Populate(fixture));

    private static async Task<string> Populate(ChDbFixture fixture)
    {
        var db = fixture.NewDatabase("dashboards");
        var options = new SiyuSinksOptions
        {
            Database = db,
            Sink = new ClickHouseSinkOptions { BatchDelay = TimeSpan.FromMilliseconds(20) },
            PipelineMetrics = null,
        };
        var scenario = new SalesScenario();
        await using (var sinks = await SiyuSinks.StartAsync(fixture.Engine, options))
        {
            await sinks.Campaigns.WriteAllAsync(scenario.Campaigns);
            await sinks.Sales.WriteAllAsync(scenario.Sales);
            await sinks.Touches.WriteAllAsync(scenario.Touches);
            await sinks.Profiles.WriteAllAsync(scenario.Profiles);
            // Written one by one: the republished notices reach the table as separate inserts, as after a crash.
            foreach (var row in new OperationsScenario().Rows)
            {
                await sinks.Operations.WriteAsync(row);
            }
        }

        await RecordPipelineMetrics(fixture.Engine, db);
        return db;
    }

    // What two nodes' registries would hold over a minute, sampled every 15 s.
    private static async Task RecordPipelineMetrics(IClickHouse engine, string db)
    {
        foreach (var node in new[] { "node-a", "node-b" })
        {
            var registry = Metrics.NewCustomRegistry();
            var factory = Metrics.WithCustomRegistry(registry);
            var lag = factory.CreateGauge("siyu_consumer_lag", "lag", "topic", "partition");
            var messages = factory.CreateCounter("siyu_ingest_messages_total", "messages", "topic", "outcome");
            var deadLetters = factory.CreateCounter("siyu_deadletters_total", "dead letters", "reason");
            var inFlight = factory.CreateGauge("siyu_ingest_in_flight", "in flight");
            var freshness = factory.CreateHistogram("siyu_sink_freshness_seconds", "freshness",
                new HistogramConfiguration { LabelNames = ["table"], Buckets = SinkMetrics.FreshnessBuckets });
            var rows = factory.CreateCounter("siyu_sink_rows_total", "rows", "table");
            var queued = factory.CreateGauge("siyu_sink_queued_rows", "queued", "table");
            var retries = factory.CreateCounter("siyu_sink_retries_total", "retries", "table");
            factory.CreateCounter("siyu_sink_failed_rows_total", "failed", "table").WithLabels("attributed_sales").Inc(0);
            factory.CreateCounter("dotnet_other_total", "not ours").Inc(5);

            var recorder = new PipelineMetricsRecorder(engine, db, new PipelineMetricsOptions { Instance = node }, registry);
            for (var k = 0; k < 8; k++)
            {
                if (k > 0)
                {
                    messages.WithLabels("siyu.pos", "accepted").Inc(150);
                    messages.WithLabels("siyu.group", "dead_lettered").Inc(3);
                    deadLetters.WithLabels("malformed_json").Inc(3);
                    deadLetters.WithLabels("unknown_type").Inc(1);
                    for (var i = 0; i < 98; i++)
                    {
                        freshness.WithLabels("attributed_sales").Observe(0.3);
                    }

                    freshness.WithLabels("attributed_sales").Observe(20);
                    freshness.WithLabels("attributed_sales").Observe(20);
                    rows.WithLabels("attributed_sales").Inc(1000);
                    retries.WithLabels("attributed_sales").Inc(k % 2);
                }

                lag.WithLabels("siyu.pos", "0").Set(100 - k * 10);
                lag.WithLabels("siyu.pos", "1").Set(50);
                inFlight.Set(k * 7);
                queued.WithLabels("attributed_sales").Set(k * 100);
                var written = await recorder.RecordAsync(at: MetricsStart.AddSeconds(15 * k));
                Assert.True(written > (k == 0 ? 0 : 20), $"only {written} samples recorded");
            }
        }

        // node-a after a restart: a fresh registry whose malformed_json counter is 12 (reset + 12).
        var restarted = Metrics.NewCustomRegistry();
        Metrics.WithCustomRegistry(restarted).CreateCounter("siyu_deadletters_total", "dead letters", "reason").WithLabels("malformed_json").Inc(12);
        await new PipelineMetricsRecorder(engine, db, new PipelineMetricsOptions { Instance = "node-a" }, restarted)
            .RecordAsync(at: MetricsStart.AddSeconds(15 * 8));
    }
}
