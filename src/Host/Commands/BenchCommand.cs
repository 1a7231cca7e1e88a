using System.CommandLine;
using Siyu.Host.Bench;
using Siyu.Host.Configuration;
using Siyu.Host.Node;
using Spectre.Console;

namespace Siyu.Host.Commands;

/// <summary>`siyu bench`: measured figures with the machine they were measured on, and ratios to a baseline from the same run.</summary>
public static class BenchCommand
{
    public static Command Create()
    {
        var seconds = new Option<int>("--seconds") { Description = "Seconds per measurement", DefaultValueFactory = _ => 5 };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated messages", DefaultValueFactory = _ => 42 };
        var parse = new Command("parse", "Parse + validate rate on one thread vs a plain JSON parse of the same messages") { seconds, seed };
        parse.SetAction(result =>
        {
            var (baseline, siyu, valid, invalid) = ParseBenchmark.Run(TimeSpan.FromSeconds(result.GetValue(seconds)), result.GetValue(seed));
            AnsiConsole.MarkupLine($"[bold]siyu bench parse[/]  {Markup.Escape(MachineInfo.Describe())}");
            AnsiConsole.MarkupLine($"10,000 demo messages ({valid:N0} valid, {invalid:N0} malformed), one thread, {result.GetValue(seconds)} s each");
            var table = new Table().AddColumn("what").AddColumn(new TableColumn("messages/s").RightAligned()).AddColumn(new TableColumn("vs baseline").RightAligned());
            table.AddRow(Markup.Escape(baseline.Name), $"{baseline.PerSecond:N0}", "1.00");
            table.AddRow(Markup.Escape(siyu.Name), $"{siyu.PerSecond:N0}", $"{siyu.PerSecond / baseline.PerSecond:0.00}");
            AnsiConsole.Write(table);
            return 0;
        });

        var oldFile = new Argument<FileInfo>("old") { Description = "A `siyu bench --json` file (the baseline)" };
        var newFile = new Argument<FileInfo>("new") { Description = "A `siyu bench --json` file to compare with it" };
        var compareRuns = new Command("compare", "Two `siyu bench --json` files side by side, with the ratio new / old of every figure") { oldFile, newFile };
        compareRuns.SetAction(result => CommandSupport.Guard(async () =>
        {
            var (a, b) = (result.GetValue(oldFile)!, result.GetValue(newFile)!);
            foreach (var f in new[] { a, b })
            {
                if (!f.Exists)
                {
                    throw new SettingsException([$"{f.FullName} does not exist"]);
                }
            }
            IReadOnlyList<BenchComparison.Row> rows;
            try
            {
                rows = BenchComparison.Compare(await File.ReadAllTextAsync(a.FullName), await File.ReadAllTextAsync(b.FullName));
            }
            catch (FormatException ex)
            {
                throw new SettingsException([ex.Message]);
            }
            var table = new Table().AddColumn("figure").AddColumn(new TableColumn(Markup.Escape(a.Name)).RightAligned())
                .AddColumn(new TableColumn(Markup.Escape(b.Name)).RightAligned()).AddColumn(new TableColumn("new / old").RightAligned());
            foreach (var r in rows)
            {
                table.AddRow(Markup.Escape(r.Name), Figure(r.Old), Figure(r.New), r.Ratio is { } x ? $"{x:0.00}" : "-");
            }
            AnsiConsole.Write(table);
            return 0;
        }));

        var config = CommandSupport.ConfigOption();
        var customers = new Option<int>("--customers") { Description = "Customers the traffic is spread over", DefaultValueFactory = _ => 20_000 };
        var events = new Option<int>("--events") { Description = "Backlog of events for (b), the pipeline's rate", DefaultValueFactory = _ => 100_000 };
        var rate = new Option<int>("--rate") { Description = "Steady events/s of (c), the freshness run", DefaultValueFactory = _ => 5_000 };
        var steadySeconds = new Option<int>("--steady-seconds") { Description = "Length of (c) in seconds", DefaultValueFactory = _ => 20 };
        var lookupRate = new Option<int>("--lookup-rate") { Description = "Lookups/s of (d)", DefaultValueFactory = _ => 1_000 };
        var lookupSeconds = new Option<int>("--lookup-seconds") { Description = "Length of the idle lookup run in seconds", DefaultValueFactory = _ => 10 };
        var maxInFlight = new Option<int?>("--max-in-flight") { Description = "Kafka:MaxInFlight of the node (default: the product's setting)" };
        var compare = new Option<string?>("--compare-hocon")
        {
            Description = "What-if: HOCON over the product's Akka settings; the run is repeated with it, side by side (printed with the results)",
        };
        var json = new Option<FileInfo?>("--json") { Description = "Also write every figure to this file as JSON, under stable names (to compare runs with a script)" };
        var bench = new Command("bench", "The whole pipeline on the embedded stack against a raw consume + parse baseline: events/s, freshness, lookups, memory, recovery")
        {
            config, customers, events, rate, steadySeconds, lookupRate, lookupSeconds, maxInFlight, seed, compare, json, parse, compareRuns,
        };
        bench.SetAction((result, ct) => CommandSupport.Guard(async () =>
        {
            var options = new PipelineBenchOptions
            {
                ConfigFile = result.GetValue(config)?.FullName,
                Customers = result.GetValue(customers),
                Events = result.GetValue(events),
                SteadyRate = result.GetValue(rate),
                SteadySeconds = result.GetValue(steadySeconds),
                LookupRate = result.GetValue(lookupRate),
                LookupSeconds = result.GetValue(lookupSeconds),
                Seed = result.GetValue(seed),
                CompareHocon = result.GetValue(compare),
                MaxInFlight = result.GetValue(maxInFlight),
                JsonFile = result.GetValue(json)?.FullName,
            };
            if (options.Customers < 1 || options.Events < 1 || options.SteadyRate < 1 || options.SteadySeconds < 1 || options.LookupRate < 1 || options.LookupSeconds < 1 || options.MaxInFlight < 1)
            {
                throw new SettingsException(["--customers, --events, --rate, --steady-seconds, --lookup-rate, --lookup-seconds and --max-in-flight must be positive"]);
            }
            if (Console.IsOutputRedirected)
            {
                AnsiConsole.Profile.Width = 160; // tables for a log or a document, not an 80-column guess
            }
            AnsiConsole.MarkupLine($"[grey]{Markup.Escape(MachineInfo.Describe())}; load average {Markup.Escape(Measure.LoadAverage())}[/]");
            var results = await PipelineBenchmark.RunAsync(options, line => AnsiConsole.MarkupLine($"[grey]{DateTime.UtcNow:HH:mm:ss} {Markup.Escape(line)}[/]"), ct);
            PipelineBenchReport.Print(results);
            if (options.JsonFile is { } file)
            {
                await File.WriteAllTextAsync(file, PipelineBenchReport.Json(results), ct);
                AnsiConsole.MarkupLine($"[grey]figures written to {Markup.Escape(file)}[/]");
            }
            return ProcessExit.After(0);
        }));
        return bench;
    }

    private static string Figure(double? v) => v switch
    {
        null => "-",
        { } x when Math.Abs(x) >= 100 => x.ToString("N0", System.Globalization.CultureInfo.InvariantCulture),
        { } x => x.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture),
    };
}
