using System.CommandLine;
using Siyu.Host.Bench;
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
        return new Command("bench", "Benchmarks that print figures with the hardware") { parse, ActorBenchCommand.Create() };
    }
}
