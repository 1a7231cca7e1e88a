using System.Runtime;
using Spectre.Console;

namespace Siyu.Host.Bench;

/// <summary>Prints `siyu bench`'s results: one table, the machine, the load, and the checks.</summary>
public static class PipelineBenchReport
{
    public static void Print(PipelineBenchResults r)
    {
        var o = r.Options;
        var a = r.Baseline;
        AnsiConsole.MarkupLine($"[bold]siyu bench[/]  {Markup.Escape(r.Machine)}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC");
        AnsiConsole.MarkupLine(Markup.Escape(
            $"embedded stack: Kafka mock broker ({r.Partitions} partitions per topic), SQLite journal (WAL), chDB; {o.Customers:N0} customers, "
            + $"backlog {o.Events:N0} events, steady {o.SteadyRate:N0}/s for {o.SteadySeconds} s, lookups {o.LookupRate:N0}/s, Kafka:MaxInFlight {r.MaxInFlight:N0}, seed {o.Seed}"));
        foreach (var n in r.Nodes)
        {
            AnsiConsole.MarkupLine(Markup.Escape($"[{n.Label}] load average {n.LoadBefore} before, {n.LoadAfter} after" + (n.Hocon is { } h ? $"; HOCON over the product's: {h.ReplaceLineEndings(" ")}" : "")));
        }
        var table = new Table().Border(TableBorder.Rounded).AddColumn("measure");
        foreach (var n in r.Nodes)
        {
            table.AddColumn(new TableColumn(Markup.Escape(n.Label)).RightAligned());
            table.AddColumn(new TableColumn("vs (a)").RightAligned());
        }
        table.AddColumn("target (2 cores)");

        void Row(string measure, Func<NodeResult, string> value, Func<NodeResult, string>? ratio = null, string target = "")
        {
            var cells = new List<string> { Markup.Escape(measure) };
            foreach (var n in r.Nodes)
            {
                cells.Add(Markup.Escape(value(n)));
                cells.Add(Markup.Escape(ratio?.Invoke(n) ?? ""));
            }
            cells.Add(target);
            table.AddRow(cells.ToArray());
        }

        Row("(a) baseline: Confluent.Kafka consume + JsonDocument.Parse, msg/s", _ => $"{a.PerSecond:N0}", _ => "1.00");
        Row("reference: consume + EventParser.Parse (validate, typed), msg/s", _ => $"{r.ParseReference.PerSecond:N0}", _ => Ratio(r.ParseReference.PerSecond, a.PerSecond));
        var first = r.Nodes[0];
        Row($"(b) pipeline, backlog of {o.Events:N0} until every ack, events/s", n => $"{n.IngestPerSecond:N0}", n => Ratio(n.IngestPerSecond, a.PerSecond),
            Verdict(first.IngestPerSecond >= 20_000, ">= 20,000") + ", " + Verdict(first.IngestPerSecond >= 0.3 * a.PerSecond, ">= 0.30"));
        Row("    CPU per event (share of all cores)", n => $"{n.CpuPerEventMicros:N0} µs ({n.CpuShare:P0})", null, Verdict(first.CpuPerEventMicros <= 100, "<= 100 µs"));
        Row("    allocated per event; GC paused", n => $"{Bytes(n.AllocatedPerEvent)}; {n.GcPaused.TotalSeconds:N1} s", null, Verdict(first.AllocatedPerEvent <= 8 * 1024, "<= 8 KiB"));
        Row("    sink rows/s during (b)", n => $"{n.SinkRowsPerSecondBacklog:N0}");
        Row($"(c) freshness at {o.SteadyRate:N0}/s, produced -> in ClickHouse, p50 / p99", n => $"{Fresh(n, 0.5)} / {Fresh(n, 0.99)}", null,
            Verdict(Freshness(first, 0.99) < 2_000, "p99 < 2 s"));
        Row("    orders seen / produced; max messages behind", n => $"{n.FreshnessMs.Length:N0} / {n.FreshnessTracked:N0}; {n.MaxBehind:N0}");
        Row("    events/s processed; sink rows/s", n => $"{n.SteadyPerSecond:N0}; {n.SinkRowsPerSecond:N0}");
        Row($"(d) lookup at {o.LookupRate:N0}/s, idle, p50 / p99", n => Latency(n.LookupIdle), null, Verdict(first.LookupIdle.P(0.99) < 5 && first.LookupIdle.Failed == 0, "p99 < 5 ms"));
        Row("    p99.9 / max; found / failed (shed)", n => $"{n.LookupIdle.P(0.999):N2} / {n.LookupIdle.Ms.DefaultIfEmpty().Max():N1} ms; {n.LookupIdle.Found:N0} / {n.LookupIdle.Failed:N0} ({n.LookupIdle.Shed:N0})");
        Row($"(d) lookup at {o.LookupRate:N0}/s during (c), p50 / p99", n => Latency(n.LookupDuringIngest), null,
            Verdict(first.LookupDuringIngest.P(0.99) < 5 && first.LookupDuringIngest.Failed == 0, "p99 < 5 ms"));
        Row("    requests; found / failed (shed: 2,000 unanswered)", n => $"{n.LookupDuringIngest.Requests:N0}; {n.LookupDuringIngest.Found:N0} / {n.LookupDuringIngest.Failed:N0} ({n.LookupDuringIngest.Shed:N0})");
        Row("(e) heap per resident profile (all customers resident)", n => Bytes(n.HeapPerProfile), null, Verdict(first.HeapPerProfile < 3_000, "< 3 KB"));
        Row("(f) restart: stop / start until Up", n => $"{n.Stop.TotalSeconds:N1} s / {n.Start.TotalSeconds:N1} s");
        Row("    recover every customer (GetCustomer)", n => $"{n.Recovery.TotalSeconds:N1} s, {n.RecoveredCustomers / n.Recovery.TotalSeconds:N0}/s", null,
            Verdict(first.RecoveredCustomers / first.Recovery.TotalSeconds >= 10_000, ">= 10,000/s"));
        AnsiConsole.Write(table);

        foreach (var n in r.Nodes.Where(n => n.Growth.Count > 0))
        {
            AnsiConsole.MarkupLine(Markup.Escape($"[{n.Label}] (b) as the population grows (heap without a forced collection):"));
            var growth = new Table().Border(TableBorder.Rounded).AddColumn(new TableColumn("s").RightAligned()).AddColumn(new TableColumn("events handled").RightAligned())
                .AddColumn(new TableColumn("events/s since last").RightAligned()).AddColumn(new TableColumn("heap").RightAligned())
                .AddColumn(new TableColumn("resident customers").RightAligned()).AddColumn(new TableColumn("index keys in memory").RightAligned());
            foreach (var g in n.Growth)
            {
                growth.AddRow($"{g.Seconds:N0}", $"{g.Processed:N0}", $"{g.EventsPerSecond:N0}", Bytes(g.HeapBytes), $"{g.ResidentCustomers:N0}", $"{g.IndexKeys:N0}");
            }
            AnsiConsole.Write(growth);
        }

        foreach (var n in r.Nodes)
        {
            var same = n.TotalsBefore == n.TotalsAfter && n.RecoveryFailed == 0;
            AnsiConsole.MarkupLine(Markup.Escape(
                $"[{n.Label}] check: {n.RecoveredCustomers:N0} customers hold {n.TotalsBefore.Orders:N0} orders, {n.TotalsBefore.Revenue:N2} revenue "
                + $"(produced {n.OrdersProduced:N0} valid orders; {n.DeadLettered:N0} malformed messages dead-lettered); after the restart "
                + (same ? "identical" : $"DIFFERENT: {n.TotalsAfter.Orders:N0}, {n.TotalsAfter.Revenue:N2}, {n.RecoveryFailed} reads failed")
                + ((n.LookupIdle.FirstError ?? n.LookupDuringIngest.FirstError) is { } e ? $"; first lookup error: {e}" : "")));
        }
    }

    /// <summary>Every figure under a stable name: change a name only with a new <c>format</c>.</summary>
    public static string Json(PipelineBenchResults r)
    {
        var o = r.Options;
        var doc = new System.Text.Json.Nodes.JsonObject
        {
            ["format"] = 1,
            ["machine"] = r.Machine,
            ["gc"] = GCSettings.IsServerGC ? "server" : "workstation",
            ["options"] = new System.Text.Json.Nodes.JsonObject
            {
                ["customers"] = o.Customers, ["events"] = o.Events, ["steady_rate"] = o.SteadyRate, ["steady_seconds"] = o.SteadySeconds,
                ["lookup_rate"] = o.LookupRate, ["lookup_seconds"] = o.LookupSeconds, ["seed"] = o.Seed, ["partitions"] = r.Partitions, ["max_in_flight"] = r.MaxInFlight,
            },
            ["a_baseline_msgs_per_s"] = r.Baseline.PerSecond,
            ["a_parse_reference_msgs_per_s"] = r.ParseReference.PerSecond,
            ["nodes"] = new System.Text.Json.Nodes.JsonArray([.. r.Nodes.Select(n => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
            {
                ["label"] = n.Label,
                ["hocon"] = n.Hocon,
                ["load_before"] = n.LoadBefore,
                ["load_after"] = n.LoadAfter,
                ["b_events_per_s"] = n.IngestPerSecond,
                ["b_ratio_to_a"] = n.IngestPerSecond / r.Baseline.PerSecond,
                ["b_cpu_us_per_event"] = n.CpuPerEventMicros,
                ["b_cpu_share"] = n.CpuShare,
                ["b_alloc_bytes_per_event"] = n.AllocatedPerEvent,
                ["b_gc_paused_s"] = n.GcPaused.TotalSeconds,
                ["b_sink_rows_per_s"] = n.SinkRowsPerSecondBacklog,
                ["c_freshness_p50_ms"] = Finite(Freshness(n, 0.5)),
                ["c_freshness_p99_ms"] = Finite(Freshness(n, 0.99)),
                ["c_orders_seen"] = n.FreshnessMs.Length,
                ["c_orders_tracked"] = n.FreshnessTracked,
                ["c_max_behind"] = n.MaxBehind,
                ["c_events_per_s"] = n.SteadyPerSecond,
                ["c_sink_rows_per_s"] = n.SinkRowsPerSecond,
                ["d_idle_p50_ms"] = Finite(n.LookupIdle.P(0.5)),
                ["d_idle_p99_ms"] = Finite(n.LookupIdle.P(0.99)),
                ["d_idle_failed"] = n.LookupIdle.Failed,
                ["d_busy_p50_ms"] = Finite(n.LookupDuringIngest.P(0.5)),
                ["d_busy_p99_ms"] = Finite(n.LookupDuringIngest.P(0.99)),
                ["d_busy_failed"] = n.LookupDuringIngest.Failed,
                ["d_busy_shed"] = n.LookupDuringIngest.Shed,
                ["e_heap_bytes_per_profile"] = n.HeapPerProfile,
                ["e_resident_customers"] = n.ResidentCustomers,
                ["f_stop_s"] = n.Stop.TotalSeconds,
                ["f_start_s"] = n.Start.TotalSeconds,
                ["f_recovery_s"] = n.Recovery.TotalSeconds,
                ["f_recovered"] = n.RecoveredCustomers,
                ["f_recovered_per_s"] = n.RecoveredCustomers / n.Recovery.TotalSeconds,
                ["f_totals_identical"] = n.TotalsBefore == n.TotalsAfter && n.RecoveryFailed == 0,
                ["orders"] = n.TotalsBefore.Orders,
                ["revenue"] = n.TotalsBefore.Revenue,
                ["orders_produced"] = n.OrdersProduced,
                ["dead_lettered"] = n.DeadLettered,
                ["growth"] = new System.Text.Json.Nodes.JsonArray([.. n.Growth.Select(g => (System.Text.Json.Nodes.JsonNode)new System.Text.Json.Nodes.JsonObject
                {
                    ["s"] = g.Seconds, ["processed"] = g.Processed, ["events_per_s"] = g.EventsPerSecond, ["heap_bytes"] = g.HeapBytes,
                    ["resident_customers"] = g.ResidentCustomers, ["index_keys"] = g.IndexKeys,
                })]),
            })]),
        };
        return doc.ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
    }

    private static double? Finite(double v) => double.IsFinite(v) ? v : null;

    private static string Latency(LatencyRun run) => $"{run.P(0.5):N2} / {run.P(0.99):N2} ms";

    /// <summary>Orders never seen within the wait count as later than it.</summary>
    private static double Freshness(NodeResult n, double p) =>
        Measure.Percentile([.. n.FreshnessMs, .. Enumerable.Repeat(double.PositiveInfinity, n.FreshnessTracked - n.FreshnessMs.Length)], p);

    private static string Fresh(NodeResult n, double p) => Freshness(n, p) is var v && double.IsPositiveInfinity(v)
        ? $"> {PipelineBenchmark.FreshnessWait.TotalSeconds:N0} s"
        : $"{v:N0} ms";

    private static string Ratio(double value, double baseline) => baseline > 0 ? $"{value / baseline:0.00}" : "-";

    private static string Verdict(bool met, string target) => met ? $"{target}: [green]met[/]" : $"{target}: [red]missed[/]";

    private static string Bytes(double bytes) => bytes >= 10 * 1024 * 1024
        ? $"{bytes / (1024 * 1024):N0} MiB"
        : bytes >= 10 * 1024 ? $"{bytes / 1024:N1} KiB" : $"{bytes:N0} B";
}
