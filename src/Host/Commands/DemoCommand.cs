using System.CommandLine;
using System.Diagnostics;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Host.Configuration;
using Siyu.Host.Demo;
using Siyu.Host.Node;
using Siyu.Ingest;
using Siyu.Ingest.Handlers;
using Siyu.Kafka;
using Spectre.Console;

namespace Siyu.Host.Commands;

/// <summary>
/// `siyu demo`: the embedded stack (in-process Kafka), a Siyu node on it, and generated traffic,
/// with a live board of what flows where. Stops on Ctrl+C or after --duration.
/// </summary>
public static class DemoCommand
{
    public static Command Create()
    {
        var config = CommandSupport.ConfigOption();
        var duration = new Option<int>("--duration") { Description = "Seconds to run (0 = until Ctrl+C)", DefaultValueFactory = _ => 0 };
        var rate = new Option<int>("--rate") { Description = "Generated events per second", DefaultValueFactory = _ => 500 };
        var seed = new Option<int>("--seed") { Description = "Seed of the generated traffic", DefaultValueFactory = _ => 42 };
        var command = new Command("demo", "Run Siyu on the embedded stack with generated traffic and a live board")
        {
            config, duration, rate, seed,
        };
        command.SetAction((parse, _) => CommandSupport.Guard(() =>
            Run(parse.GetValue(config)?.FullName, parse.GetValue(duration), parse.GetValue(rate), parse.GetValue(seed))));
        return command;
    }

    private static async Task<int> Run(string? configFile, int durationSeconds, int rate, int seed)
    {
        if (rate is < 1 or > 200_000)
        {
            throw new SettingsException([$"--rate must be between 1 and 200000 (got {rate})"]);
        }
        // The embedded broker forgets everything on exit, so the journal starts empty too.
        var workDir = Directory.CreateTempSubdirectory("siyu-demo-");
        var configuration = SettingsLoader.Build(configFile, new Dictionary<string, string?>
        {
            ["Journal:Provider"] = "sqlite",
            ["ClickHouse:Engine"] = "embedded",
            ["ClickHouse:DataPath"] = Path.Combine(workDir.FullName, "chdb"),
            ["Journal:ConnectionString"] = $"Data Source={Path.Combine(workDir.FullName, "journal.db")}",
            // The embedded broker waits a session timeout on every rejoin: keep it short here.
            ["Kafka:SessionTimeoutMs"] = "6000",
            // The board is the demo's output; only warnings and errors are logged over it.
            ["Logging:LogLevel:Default"] = "Warning",
        });
        var settings = SettingsLoader.Load(configuration, embedded: true);
        var topics = new Topics(settings.Kafka.TopicPrefix);

        AnsiConsole.MarkupLine("[bold]Siyu demo[/]: starting the embedded stack...");
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = settings.Kafka.EmbeddedPartitions });
        foreach (var topic in topics.All)
        {
            broker.CreateTopic(topic, settings.Kafka.EmbeddedPartitions);
        }
        await using var app = SiyuNode.Build(settings, configuration, new SiyuNode.Options(broker.BootstrapServers, JsonLogs: false, MinimumLogLevel: LogLevel.Warning));
        await app.StartAsync();
        var recorder = app.Services.GetRequiredService<TallyingEventHandler>();
        var stopping = app.Lifetime.ApplicationStopping;

        AnsiConsole.MarkupLine($"  Kafka (embedded)  [cyan]{broker.BootstrapServers}[/]  topics {string.Join(", ", topics.Inputs)} -> {topics.DeadLetter}");
        AnsiConsole.MarkupLine($"  HTTP              [cyan]{settings.Api.Urls}[/]  (/health, /metrics)");
        AnsiConsole.MarkupLine($"  Traffic           {rate} events/s, seed {seed}, ~2% malformed on purpose");
        AnsiConsole.MarkupLine(durationSeconds > 0 ? $"  Running for {durationSeconds}s; Ctrl+C stops earlier." : "  Ctrl+C stops.");

        using var deadLetters = new DeadLetterWatcher(broker.BootstrapServers, topics.DeadLetter);
        using var producer = KafkaClients.Producer(settings.Kafka, broker.BootstrapServers);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (durationSeconds > 0)
        {
            stop.CancelAfter(TimeSpan.FromSeconds(durationSeconds));
        }
        var produced = 0L;
        var traffic = new DemoTraffic(seed);
        var generator = Task.Run(async () =>
        {
            var clock = Stopwatch.StartNew();
            while (!stop.IsCancellationRequested)
            {
                var due = (long)(clock.Elapsed.TotalSeconds * rate);
                for (; produced < due && !stop.IsCancellationRequested; produced++)
                {
                    var m = traffic.Next(DateTimeOffset.UtcNow);
                    producer.Produce(topics.Input(m.Channel), new Message<byte[]?, byte[]> { Key = m.Key, Value = m.Value });
                }
                await Task.Delay(20, CancellationToken.None);
            }
            producer.Flush(TimeSpan.FromSeconds(10));
        });

        var started = Stopwatch.StartNew();
        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            await AnsiConsole.Live(Board(recorder, deadLetters, Interlocked.Read(ref produced), started.Elapsed)).StartAsync(async ctx =>
            {
                while (!generator.IsCompleted)
                {
                    ctx.UpdateTarget(Board(recorder, deadLetters, Interlocked.Read(ref produced), started.Elapsed));
                    await Task.WhenAny(generator, Task.Delay(500));
                }
            });
        }
        else
        {
            while (!generator.IsCompleted)
            {
                await Task.WhenAny(generator, Task.Delay(2000));
                Console.WriteLine($"[{started.Elapsed:mm\\:ss}] produced {Interlocked.Read(ref produced)}, accepted {recorder.Accepted}, dead-lettered {deadLetters.Total}");
            }
        }
        await generator;

        // Let the last events through before stopping so the summary adds up.
        var settle = Stopwatch.StartNew();
        while (recorder.Accepted + deadLetters.Total < produced && settle.Elapsed < TimeSpan.FromSeconds(15))
        {
            await Task.Delay(100);
        }
        await app.StopAsync();
        AnsiConsole.Write(Board(recorder, deadLetters, produced, started.Elapsed));
        try
        {
            workDir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        var accounted = recorder.Accepted + deadLetters.Total;
        AnsiConsole.MarkupLine(accounted == produced
            ? $"[green]All {produced} events accounted for[/]: {recorder.Accepted} accepted + {deadLetters.Total} dead-lettered."
            : $"[yellow]{produced} produced, {accounted} accounted for[/] (the rest were still in flight at stop; they are redelivered on restart).");
        return ProcessExit.After(0);
    }

    private static Table Board(TallyingEventHandler recorder, DeadLetterWatcher deadLetters, long produced, TimeSpan elapsed)
    {
        var rate = elapsed.TotalSeconds > 0 ? recorder.Accepted / elapsed.TotalSeconds : 0;
        var table = new Table().Border(TableBorder.Rounded)
            .Title($"Siyu demo  {elapsed:mm\\:ss}  produced {produced:N0}  accepted {recorder.Accepted:N0} ({rate:N0}/s)  dead-lettered {deadLetters.Total:N0}")
            .AddColumn("accepted: channel/type").AddColumn(new TableColumn("events").RightAligned())
            .AddColumn("dead letters: reason").AddColumn(new TableColumn("count").RightAligned());
        var types = recorder.ByType.OrderByDescending(kv => kv.Value).ToList();
        var reasons = deadLetters.ByReason.OrderByDescending(kv => kv.Value).ToList();
        for (var i = 0; i < Math.Max(types.Count, reasons.Count); i++)
        {
            table.AddRow(
                i < types.Count ? Markup.Escape(types[i].Key) : "", i < types.Count ? types[i].Value.ToString("N0") : "",
                i < reasons.Count ? Markup.Escape(reasons[i].Key) : "", i < reasons.Count ? reasons[i].Value.ToString("N0") : "");
        }
        if (deadLetters.Last is { } last)
        {
            table.Caption($"last dead letter: {Markup.Escape(last.Reason)}: {Markup.Escape(last.Error)}");
        }
        return table;
    }
}
