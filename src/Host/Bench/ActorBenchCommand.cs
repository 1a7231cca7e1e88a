using System.CommandLine;
using Spectre.Console;

namespace Siyu.Host.Bench;

/// <summary>`siyu bench actors`: options and output of <see cref="ActorBenchmark"/>.</summary>
public static class ActorBenchCommand
{
    public static Command Create()
    {
        var customers = new Option<int>("--customers") { Description = "Customers the events are spread over", DefaultValueFactory = _ => 20_000 };
        var events = new Option<int>("--events") { Description = "Events through the real path", DefaultValueFactory = _ => 200_000 };
        var flushMs = new Option<int>("--flush-ms") { Description = "Customer FlushInterval (group commit) in ms", DefaultValueFactory = _ => 200 };
        var journal = new Option<string>("--journal") { Description = "Journal provider (sqlite: the embedded stack)", DefaultValueFactory = _ => "sqlite" };
        var seconds = new Option<int>("--seconds") { Description = "Seconds of the lookup latency run (the journal baseline stops issuing after 3x this)", DefaultValueFactory = _ => 10 };
        var hocon = new Option<string?>("--hocon") { Description = "What-if runs: HOCON over the product's Akka settings (printed with the results)" };
        var actors = new Command("actors", "Customer entities on the embedded stack: events/s until durable, bytes per profile, recovery, lookup latency")
        {
            customers, events, flushMs, journal, seconds, hocon,
        };
        actors.SetAction(async (result, ct) =>
        {
            var options = new ActorBenchOptions
            {
                Customers = result.GetValue(customers),
                Events = result.GetValue(events),
                FlushMs = result.GetValue(flushMs),
                Journal = result.GetValue(journal)!,
                Seconds = result.GetValue(seconds),
                ExtraHocon = result.GetValue(hocon),
            };
            if (options.Customers < 1 || options.Events < 1 || options.FlushMs < 1 || options.Seconds < 1 || options.Journal != "sqlite")
            {
                await Console.Error.WriteLineAsync("siyu: --customers, --events, --flush-ms and --seconds must be positive; --journal supports sqlite only");
                return 2;
            }
            if (Console.IsOutputRedirected)
            {
                AnsiConsole.Profile.Width = 120; // tables for a log or a document, not an 80-column guess
            }
            var results = await ActorBenchmark.RunAsync(options, line => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(line)}[/]"), ct);
            ActorBenchmark.Print(results);
            return 0;
        });
        return actors;
    }
}
