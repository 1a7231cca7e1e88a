using System.CommandLine;
using System.Diagnostics;
using System.Text.Json;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Validation;
using Siyu.Host.Api.Security;
using Siyu.Host.Configuration;
using Siyu.Host.Demo;
using Siyu.Host.Node;
using Siyu.Ingest;
using Siyu.Ingest.Handlers;
using Siyu.Kafka;
using Siyu.Simulator;
using Siyu.Sinks.ClickHouse.Embedded;
using Spectre.Console;

namespace Siyu.Host.Commands;

/// <summary>
/// `siyu demo`: the embedded stack (in-process Kafka and ClickHouse), a Siyu node on it, and a
/// simulated Tuesday coupon day of a fruit chain (src/Simulator) played in a few minutes, with a
/// live board. Stops on Ctrl+C or after --duration, then checks every produced message is
/// accounted for (accepted by a customer or dead-lettered for the reason it was broken for).
/// </summary>
public static class DemoCommand
{
    private const int CustomersPerStore = 150;

    /// <summary>Messages per customer for a single simulated day, the initial WeCom sync included (measured: ~1.5 in a week's first day).</summary>
    private const double MessagesPerCustomerFirstDay = 1.9;

    public static Command Create()
    {
        var config = CommandSupport.ConfigOption();
        var duration = new Option<int>("--duration") { Description = "Seconds to run (0 = until Ctrl+C; the day then plays in about 2 minutes)", DefaultValueFactory = _ => 0 };
        var rate = new Option<int>("--rate") { Description = "Simulated messages per second", DefaultValueFactory = _ => 100 };
        var seed = new Option<int>("--seed") { Description = "Seed of the simulated traffic", DefaultValueFactory = _ => 42 };
        var stores = new Option<int>("--stores") { Description = "Stores to simulate (0 = as many as fit the duration at the rate)", DefaultValueFactory = _ => 0 };
        var port = new Option<int?>("--port") { Description = "Port of the HTTP API on 127.0.0.1 (default: Api:Urls, 8080; a free one when 8080 is taken)" };
        var command = new Command("demo", "Run Siyu on the embedded stack with a simulated campaign day and a live board")
        {
            config, duration, rate, seed, stores, port,
        };
        command.SetAction((parse, _) => CommandSupport.Guard(() =>
            Run(parse.GetValue(config)?.FullName, parse.GetValue(duration), parse.GetValue(rate), parse.GetValue(seed), parse.GetValue(stores), parse.GetValue(port))));
        return command;
    }

    private static async Task<int> Run(string? configFile, int durationSeconds, int rate, int seed, int storeCount, int? port)
    {
        var problems = new List<string>();
        if (port is < 1 or > 65535)
        {
            problems.Add($"--port must be between 1 and 65535 (got {port})");
        }
        if (rate is < 1 or > 200_000)
        {
            problems.Add($"--rate must be between 1 and 200000 (got {rate})");
        }
        if (durationSeconds < 0)
        {
            problems.Add($"--duration must be 0 (until Ctrl+C) or more (got {durationSeconds})");
        }
        if (storeCount is < 0 or > 10_000)
        {
            problems.Add($"--stores must be between 0 (automatic) and 10000 (got {storeCount})");
        }
        if (problems.Count > 0)
        {
            throw new SettingsException(problems);
        }
        // The day: the latest coupon day (Tuesday) in China before today. Not today itself: the
        // day's tail (late refunds, after-sale calls) runs past midnight, and an event more than
        // Ingest:MaxFutureSkewHours (24) ahead of now is dead-lettered as occurred_at_out_of_range.
        var yesterday = DateOnly.FromDateTime(DateTimeOffset.UtcNow.ToOffset(TimeSpan.FromHours(8)).DateTime).AddDays(-1);
        var day = yesterday.AddDays(-(((int)yesterday.DayOfWeek - (int)DayOfWeek.Tuesday + 7) % 7));
        // The 3-3-3 service's first task comes due for the played day's orders by the time they are
        // processed (the day is `lag` days ago): service_due events happen while the board runs.
        var lag = yesterday.DayNumber - day.DayNumber;
        var first = lag > 0 ? $"{lag}d" : "1min";
        // The embedded broker forgets everything on exit, so the journal starts empty too.
        var workDir = Directory.CreateTempSubdirectory("siyu-demo-");
        // The API asks for a key in the demo too (docs/security.md): one made for this run, printed in the curl lines.
        var apiKey = ApiKeys.Generate();
        var configuration = SettingsLoader.Build(configFile, new Dictionary<string, string?>
        {
            ["Api:Keys:demo:Role"] = ApiRoles.Admin,
            ["Api:Keys:demo:Hash"] = ApiKeys.Hash(apiKey),
            ["Journal:Provider"] = "sqlite",
            ["ClickHouse:Engine"] = "embedded",
            ["ClickHouse:DataPath"] = Path.Combine(workDir.FullName, "chdb"),
            ["Journal:ConnectionString"] = $"Data Source={Path.Combine(workDir.FullName, "journal.db")}",
            // The embedded broker waits a session timeout on every rejoin: keep it short here.
            ["Kafka:SessionTimeoutMs"] = "6000",
            // Enough for the demo's rate (rate x flush interval is what ingest needs); a deeper queue
            // on a busy machine only makes asks wait past their timeout and be retried.
            ["Kafka:MaxInFlight"] = "1000",
            // A refund whose order never comes is dead-lettered within the demo's minute.
            ["Customers:RefundGraceSeconds"] = "5",
            ["Operations:ServiceTasks"] = $"comfort_check={first},cleaning={lag + 21}d,trade_in={lag + 90}d",
            // The board is the demo's output; only warnings and errors are logged over it.
            ["Logging:LogLevel:Default"] = "Warning",
        });
        var settings = SettingsLoader.Load(configuration, embedded: true);
        string? portNote = null;
        if (port is { } p)
        {
            settings.Api.Urls = $"http://127.0.0.1:{p}";
        }
        else if (settings.Api.Urls == new ApiSettings().Urls && StartupChecks.PortProblem(settings.Api.Urls) is not null)
        {
            // The default port is taken (often by another demo or dev server): a first run still
            // works with one command. A port asked for explicitly is never replaced.
            settings.Api.Urls = $"http://127.0.0.1:{FreeLoopbackPort()}";
            portNote = $"port {new Uri(new ApiSettings().Urls).Port} is taken; the API listens on {settings.Api.Urls} instead (choose one with --port)";
        }
        StartupChecks.Verify(settings);
        var topics = new Topics(settings.Kafka.TopicPrefix);

        var playSeconds = durationSeconds > 0 ? Math.Max(10, durationSeconds * 0.75) : 120;
        var stores = storeCount > 0 ? storeCount : (int)Math.Clamp(Math.Ceiling(rate * playSeconds / MessagesPerCustomerFirstDay / CustomersPerStore), 1, 400);
        var sim = new TrafficSimulator(new SimulationOptions
        {
            Seed = seed, Stores = stores, CustomersPerStore = CustomersPerStore, Start = day, Days = 1, TopicPrefix = topics.Prefix,
        });
        // Before the day is generated: someone synced at the start as a group member with the member id.
        var member = sim.Population.People.FirstOrDefault(p => p.ContactLinkedToMember && p.Group is not null && p.Tier == Tier.High) ?? sim.Population.People[0];
        var messages = sim.Messages().ToList();
        var examples = Examples(sim, member, messages, settings.Api.Urls, day, apiKey);
        var campaigns = sim.Campaigns.ToDictionary(c => c.CampaignId);
        var inputs = messages.Count(m => m.Kind != MessageKind.Campaign);
        var title = $"Siyu live demo: a fruit chain's {day:dddd yyyy-MM-dd} group coupon day (国民水果节), {stores} stores, {sim.Population.People.Count:N0} customers, {inputs:N0} events and {messages.Count - inputs} campaigns at {rate}/s";

        if (portNote is not null)
        {
            AnsiConsole.MarkupLine($"[yellow]{Markup.Escape(portNote)}[/]");
        }
        AnsiConsole.MarkupLine("[bold]Siyu demo[/]: starting the embedded stack (Kafka, ClickHouse, SQLite journal)...");
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = settings.Kafka.EmbeddedPartitions });
        foreach (var topic in topics.All)
        {
            broker.CreateTopic(topic, settings.Kafka.EmbeddedPartitions);
        }
        await using var app = SiyuNode.Build(settings, configuration, new SiyuNode.Options(broker.BootstrapServers, JsonLogs: false, MinimumLogLevel: LogLevel.Warning));
        if (!await CommandSupport.StartAsync(app))
        {
            return ProcessExit.Now(CommandSupport.ConfigError);
        }
        var recorder = app.Services.GetRequiredService<TallyingEventHandler>();
        await app.Services.GetRequiredService<SinkService>().Ready; // ClickHouse is open from here on
        var queries = new DemoQueries(ChDbEngine.Current ?? throw new InvalidOperationException("the demo runs on embedded ClickHouse"));
        var stopping = app.Lifetime.ApplicationStopping;

        AnsiConsole.MarkupLine($"  Kafka (embedded)  [cyan]{broker.BootstrapServers}[/]  topics {string.Join(", ", topics.All)}");
        AnsiConsole.MarkupLine($"  HTTP API          [cyan]{Markup.Escape(settings.Api.Urls)}[/]  (/v1/customers/lookup, /v1/campaigns/{{id}}/live, /health, /metrics)");
        AnsiConsole.MarkupLine($"  Traffic           {Markup.Escape(title)}; seed {seed}");
        foreach (var line in examples)
        {
            AnsiConsole.MarkupLine($"  [grey]{Markup.Escape(line)}[/]");
        }
        AnsiConsole.MarkupLine(durationSeconds > 0 ? $"  Running for {durationSeconds}s; Ctrl+C stops earlier." : "  Ctrl+C stops (the API stays up after the day is played).");

        using var deadLetters = new TopicTally(broker.BootstrapServers, topics.DeadLetter, v => DeadLetterPublisher.Read(v).Reason);
        using var changes = new TopicTally(broker.BootstrapServers, topics.ProfileChanges, ChangeKind);
        using var producer = KafkaClients.Producer(settings.Kafka, broker.BootstrapServers);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        if (durationSeconds > 0)
        {
            stop.CancelAfter(TimeSpan.FromSeconds(durationSeconds));
        }

        var produced = 0L;
        var lastAt = default(DateTimeOffset?);
        var traffic = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        var intended = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        var generator = Task.Run(async () =>
        {
            try
            {
                await foreach (var m in messages.PacedAsync(rate, stop.Token))
                {
                    producer.Produce(m.Topic, new Message<byte[]?, byte[]> { Key = m.Key, Value = m.Value });
                    lastAt = m.At;
                    traffic.AddOrUpdate(KindOf(m), 1, (_, n) => n + 1);
                    if (m.ExpectedReason is { } reason)
                    {
                        intended.AddOrUpdate(reason, 1, (_, n) => n + 1);
                    }
                    if (m.Kind != MessageKind.Campaign)
                    {
                        // Input messages only: campaign definitions go to the campaign feed, not to ingest.
                        Interlocked.Increment(ref produced);
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            producer.Flush(TimeSpan.FromSeconds(10));
        });

        // ClickHouse is read every 2 s in the background; the board shows the latest read.
        var sales = SalesSnapshot.Empty;
        string? salesError = null;
        using var boardStop = new CancellationTokenSource();
        var reader = Task.Run(async () =>
        {
            while (!boardStop.IsCancellationRequested)
            {
                try
                {
                    sales = await queries.ReadAsync(boardStop.Token);
                    salesError = null;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    salesError = "ClickHouse read failed: " + e.Message;
                }
                try
                {
                    await Task.Delay(2000, boardStop.Token);
                }
                catch (OperationCanceledException)
                {
                }
            }
        });

        var started = Stopwatch.StartNew();
        var rates = new RateMeter();
        BoardState State(string? note = null)
        {
            var (p, a) = (Interlocked.Read(ref produced), recorder.Accepted);
            var (pRate, aRate) = rates.Sample(started.Elapsed, p, a);
            return new BoardState(title, lastAt, p, inputs, pRate, a, aRate, ConsumerLag(), started.Elapsed,
                traffic, deadLetters.ByLabel, changes.ByLabel, sales, campaigns, examples, note ?? salesError);
        }

        // Runs until --duration or Ctrl+C; without --duration the API stays up after the day.
        var interactive = AnsiConsole.Profile.Capabilities.Interactive;
        if (!interactive)
        {
            AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 160);
        }
        var running = Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
        if (interactive)
        {
            await AnsiConsole.Live(DemoBoard.Render(State())).StartAsync(async ctx =>
            {
                while (!running.IsCompleted && !(durationSeconds == 0 && generator.IsCompleted && Settled()))
                {
                    ctx.UpdateTarget(DemoBoard.Render(State()));
                    await Task.WhenAny(running, Task.Delay(500));
                }
                ctx.UpdateTarget(DemoBoard.Render(State()));
            });
            if (!running.IsCompleted)
            {
                AnsiConsole.MarkupLine("[green]The day is played.[/] The API keeps answering; Ctrl+C stops.");
                await running;
            }
        }
        else
        {
            var next = TimeSpan.FromSeconds(10);
            while (!running.IsCompleted)
            {
                await Task.WhenAny(running, Task.Delay(1000));
                if (started.Elapsed >= next)
                {
                    next += TimeSpan.FromSeconds(10);
                    AnsiConsole.Write(DemoBoard.Render(State()));
                    AnsiConsole.WriteLine();
                }
            }
        }
        await generator;

        bool Settled() => recorder.Accepted + deadLetters.Total >= Interlocked.Read(ref produced);
        // Let the last events through (refunds wait 5 s for their orders) so the check adds up.
        var settle = Stopwatch.StartNew();
        while (!Settled() && settle.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(200);
        }
        await Task.Delay(2500); // one more ClickHouse read for the final board
        await boardStop.CancelAsync();
        await reader;
        await app.StopAsync();
        AnsiConsole.Write(DemoBoard.Render(State("final")));
        AnsiConsole.WriteLine();
        try
        {
            workDir.Delete(recursive: true);
        }
        catch (IOException)
        {
        }
        return ProcessExit.After(Account(Interlocked.Read(ref produced), recorder.Accepted, deadLetters, intended));
    }

    private static int FreeLoopbackPort()
    {
        var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var free = ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return free;
    }

    /// <summary>Every produced message must be accepted or dead-lettered, and each broken one for the reason it was broken for; exit 3 otherwise.</summary>
    private static int Account(long produced, long accepted, TopicTally deadLetters, IReadOnlyDictionary<string, long> intended)
    {
        var accounted = accepted + deadLetters.Total;
        var reasonsMatch = intended.Count == deadLetters.ByLabel.Count
            && intended.All(kv => deadLetters.ByLabel.GetValueOrDefault(kv.Key) == kv.Value);
        if (accounted == produced && reasonsMatch)
        {
            AnsiConsole.MarkupLine($"[green]All {produced:N0} messages accounted for[/]: {accepted:N0} accepted by customers (duplicates included, counted once in the totals) + {deadLetters.Total:N0} dead-lettered, each for the reason it was broken for.");
            return 0;
        }
        AnsiConsole.MarkupLine(accounted == produced
            ? $"[red]All {produced:N0} messages accounted for, but not every dead letter has the reason its message was broken for:[/]"
            : $"[yellow]{produced:N0} produced, {accounted:N0} accounted for[/] ({accepted:N0} accepted + {deadLetters.Total:N0} dead-lettered); the rest were still in flight at stop and are redelivered on restart.");
        foreach (var reason in intended.Keys.Union(deadLetters.ByLabel.Keys).Order(StringComparer.Ordinal))
        {
            AnsiConsole.MarkupLine($"  {Markup.Escape(reason)}: broken on purpose {intended.GetValueOrDefault(reason)}, dead-lettered {deadLetters.ByLabel.GetValueOrDefault(reason)}");
        }
        return 3;
    }

    private static string KindOf(SimulatedMessage m) => m.Kind switch
    {
        MessageKind.Invalid when m.ExpectedReason is RejectReason.RefundUnmatched => "broken: refused by the customer",
        MessageKind.Invalid => "broken: refused by the parser",
        MessageKind.Duplicate => "duplicate (same event_id)",
        MessageKind.Campaign => "campaign definition",
        _ when m.Sync => "event: WeCom contact/group synced at start",
        _ when m.Late => "event, delivered late",
        _ => "event",
    };

    private static string? ChangeKind(byte[] value)
    {
        using var doc = JsonDocument.Parse(value);
        return doc.RootElement.TryGetProperty("change", out var c) ? c.GetString() : null;
    }

    private static long ConsumerLag()
    {
        long lag = 0;
        foreach (var labels in IngestMetrics.ConsumerLag.GetAllLabelValues())
        {
            lag += Math.Max(0, (long)IngestMetrics.ConsumerLag.WithLabels(labels).Value);
        }
        return lag;
    }

    /// <summary>curl lines with ids the simulation really uses: a member already in a group, one who is not yet, a flash sale, and the day's sales by group.</summary>
    private static List<string> Examples(TrafficSimulator sim, Person member, IReadOnlyList<SimulatedMessage> messages, string urls, DateOnly day, string apiKey)
    {
        var key = $"-H '{ApiKeys.Header}: {apiKey}'";
        var api = urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[0].Replace("0.0.0.0", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        var people = sim.Population.People;
        // The first store customer who is in no group all day (POS messages are keyed by member id).
        var byMember = people.ToDictionary(p => p.MemberId);
        var outsider = messages
            .Where(m => m.Kind == MessageKind.Event && m.Channel == Contracts.Events.Channel.Pos && m.Key is not null)
            .Select(m => byMember.GetValueOrDefault(System.Text.Encoding.UTF8.GetString(m.Key!)))
            .FirstOrDefault(p => p is { InPrivateDomain: false }) ?? people[^1];
        var from = new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.FromHours(8)).UtcDateTime;
        // The played day is in the past: without this range the summary's default window (the last 24 h) is empty.
        var playedDay = $"from={from:yyyy-MM-ddTHH:mm:ssZ}&to={from.AddDays(1):yyyy-MM-ddTHH:mm:ssZ}";
        var flash = $"FLASH-{day:yyyyMMdd}-{sim.Population.Stores[0].StoreId}";
        return
        [
            $"curl {key} '{api}/v1/customers/lookup?member_id={member.MemberId}'     # in group {member.Group}, a contact of guide {member.Guide}",
            $"curl {key} '{api}/v1/customers/lookup?member_id={outsider.MemberId}'     # in no group: the POS prompt says invite",
            $"curl {key} '{api}/v1/customers/lookup?phone={outsider.Phone}'        # the same customer by phone (hashed on arrival)",
            $"curl {key} '{api}/v1/campaigns/{flash}/live?{playedDay}'",
            $"curl {key} '{api}/v1/sales/summary?by=group&{playedDay}'     # net, orders and buyers per WeCom group",
        ];
    }

    /// <summary>Rates over the last few seconds rather than since start, so the board shows the current pace.</summary>
    private sealed class RateMeter
    {
        private readonly Queue<(TimeSpan At, long Produced, long Accepted)> _samples = new();

        public (double Produced, double Accepted) Sample(TimeSpan at, long produced, long accepted)
        {
            _samples.Enqueue((at, produced, accepted));
            while (_samples.Count > 2 && at - _samples.Peek().At > TimeSpan.FromSeconds(3))
            {
                _samples.Dequeue();
            }
            var first = _samples.Peek();
            var seconds = (at - first.At).TotalSeconds;
            return seconds <= 0 ? (0, 0) : ((produced - first.Produced) / seconds, (accepted - first.Accepted) / seconds);
        }
    }
}
