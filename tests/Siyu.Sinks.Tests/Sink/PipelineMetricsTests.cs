using System.Globalization;
using Prometheus;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Pipeline;
using Siyu.Sinks.Rows;
using Siyu.Sinks.Sink;
using Siyu.Sinks.Tests.ClickHouse;

namespace Siyu.Sinks.Tests.Sink;

[Collection(ChDbCollection.Name)]
public sealed class PipelineMetricsTests(ChDbFixture fixture)
{
    [Fact]
    public void Parses_the_text_format_with_escapes_infinities_and_timestamps()
    {
        const string text = """
            # HELP siyu_deadletters_total Messages sent to the dead-letter topic.
            # TYPE siyu_deadletters_total counter
            siyu_deadletters_total{reason="malformed_json"} 12
            siyu_deadletters_total{reason="quote\"back\\slash\nnewline",other="x"} 3 1700000000000
            siyu_sink_freshness_seconds_bucket{table="attributed_sales",le="+Inf"} 1.5e3
            siyu_ingest_in_flight 0
            siyu_nan NaN
            broken{reason="unterminated} 1
            """;
        var samples = PrometheusText.Parse(text).ToList();

        Assert.Equal(["siyu_deadletters_total", "siyu_deadletters_total", "siyu_sink_freshness_seconds_bucket", "siyu_ingest_in_flight", "siyu_nan"],
            samples.Select(s => s.Name));
        Assert.Equal(12, samples[0].Value);
        Assert.Equal("quote\"back\\slash\nnewline", samples[1].Labels[0].Value);
        Assert.Equal("other=\"x\",reason=\"quote\\\"back\\\\slash\\nnewline\"", samples[1].Series);
        Assert.Equal(1500, samples[2].Value);
        Assert.Equal("+Inf", samples[2].Labels.Single(l => l.Key == "le").Value);
        Assert.Empty(samples[3].Labels);

        var rows = PipelineMetricsRecorder.Samples(text, SalesScenario.Day, "node-a", "siyu_");
        Assert.DoesNotContain(rows, r => r.Metric == "siyu_nan"); // not finite: not stored
        Assert.Equal(4, rows.Count);
    }

    [Fact]
    public async Task Records_the_process_registry_including_the_sink_metrics()
    {
        var db = fixture.NewDatabase("pmetrics");
        await new SchemaMigrator(fixture.Engine, db).MigrateAsync();
        var table = new SinkTable<SaleRow>($"{db}.attributed_sales", "pm_" + db) { OccurredAt = r => r.OccurredAt, Key = r => r.EventId };
        await using (var sink = new ClickHouseSink<SaleRow>(fixture.Engine, table))
        {
            await sink.WriteAllAsync(new SalesScenario(orders: 50).Sales);
        }

        await using var recorder = new PipelineMetricsRecorder(fixture.Engine, db, new PipelineMetricsOptions
        {
            Interval = TimeSpan.FromMilliseconds(100),
            Instance = "test-node",
        });
        var p = new Dictionary<string, string> { ["label"] = ClickHouseParam.Of("pm_" + db) };
        async Task<int> Snapshots() => int.Parse((await fixture.Engine.QueryAsync(
            $"SELECT uniqExact(ts) FROM `{db}`.pipeline_metrics WHERE metric = 'siyu_sink_rows_total' AND labels['table'] = {{label:String}}",
            p, "TabSeparated")).Trim(), CultureInfo.InvariantCulture);
        var running = System.Diagnostics.Stopwatch.StartNew();
        recorder.Start();
        // Until three samples are stored (no fixed sleep: a loaded machine is slower, not wrong).
        while (await Snapshots() < 3 && running.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(50);
        }
        await recorder.DisposeAsync(); // takes a last sample

        var snapshots = await Snapshots();
        // One sample per interval (100 ms) while it ran, plus the first and the last.
        Assert.InRange(snapshots, 3, (int)(running.Elapsed.TotalMilliseconds / 100) + 2);
        Assert.Equal("55", (await fixture.Engine.QueryAsync(
            $"SELECT max(value) FROM `{db}`.pipeline_metrics WHERE metric = 'siyu_sink_rows_total' AND labels['table'] = {{label:String}}",
            p, "TabSeparated")).Trim());
        Assert.Equal("14", (await fixture.Engine.QueryAsync(
            $"SELECT uniqExact(labels['le']) FROM `{db}`.pipeline_metrics WHERE metric = 'siyu_sink_freshness_seconds_bucket' AND labels['table'] = {{label:String}}",
            p, "TabSeparated")).Trim());
        Assert.Equal("0", (await fixture.Engine.QueryAsync(
            $"SELECT count() FROM `{db}`.pipeline_metrics WHERE NOT startsWith(metric, 'siyu_') OR instance != 'test-node'", format: "TabSeparated")).Trim());
    }

    [Fact]
    public async Task A_failing_snapshot_is_logged_and_skipped_not_thrown()
    {
        var registry = Metrics.NewCustomRegistry();
        Metrics.WithCustomRegistry(registry).CreateCounter("siyu_x_total", "x").Inc();
        var recorder = new PipelineMetricsRecorder(fixture.Engine, "no_such_database_here", registry: registry);
        Assert.Equal(0, await recorder.RecordAsync());
    }
}
