using System.CommandLine;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Host.Configuration;
using Siyu.Host.DeadLetters;
using Siyu.Host.Node;
using Siyu.Kafka;

namespace Siyu.Host.Commands;

/// <summary>
/// `siyu deadletter stats|tail|replay`: what the pipeline refused, read back from siyu.deadletter,
/// and the refused messages produced again to their own topics once their cause is fixed. The
/// command only reads the dead-letter topic (its own consumer group, nothing committed) and, for
/// replay, produces to the input topics; it needs no node and no database.
/// </summary>
public static class DeadLetterCommand
{
    public static Command Create()
    {
        var command = new Command("deadletter", "Read siyu.deadletter (counts, recent records) and replay refused messages after a fix")
        {
            Stats(), Tail(), Replay(),
        };
        return command;
    }

    private sealed record Common(Option<FileInfo?> Config, Option<string?> Bootstrap, Option<string?> From, Option<string?> To);

    private static Common Add(Command command)
    {
        var common = new Common(
            CommandSupport.ConfigOption(),
            new Option<string?>("--bootstrap", "-b") { Description = "host:port of a broker (default: Kafka:BootstrapServers)" },
            new Option<string?>("--from") { Description = "Only dead letters written at or after this time: ISO 8601 with offset (2026-12-03T08:00:00Z) or a span back from now (30m, 2h, 7d)" },
            new Option<string?>("--to") { Description = "Only dead letters written at or before this time (same forms as --from)" });
        command.Options.Add(common.Config);
        command.Options.Add(common.Bootstrap);
        command.Options.Add(common.From);
        command.Options.Add(common.To);
        return common;
    }

    private static Command Stats()
    {
        var command = new Command("stats", "Dead letters by reason and original topic, with the first and last time each was seen");
        var common = Add(command);
        command.SetAction((parse, ct) => Run(parse, common, ct, (_, read, range) =>
        {
            Console.Write(DeadLetterText.Stats(read, range.Topic, range.From, range.To));
            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command Tail()
    {
        var count = new Option<int>("--count", "-n") { Description = "How many of the latest dead letters to show", DefaultValueFactory = _ => 10 };
        var reason = new Option<string?>("--reason", "-r") { Description = "Only this reason (e.g. malformed_json)" };
        var width = new Option<int>("--max-chars") { Description = "Show at most this many characters of each message", DefaultValueFactory = _ => 400 };
        var command = new Command("tail", "The latest dead letters, oldest first: reason, where from, the error and the refused bytes (control characters escaped)")
        {
            count, reason, width,
        };
        var common = Add(command);
        command.SetAction((parse, ct) => Run(parse, common, ct, (_, read, _) =>
        {
            var r = parse.GetValue(reason);
            var shown = read.Where(d => r is null || d.Record?.Reason == r).TakeLast(Math.Max(0, parse.GetValue(count))).ToList();
            foreach (var d in shown)
            {
                Console.Write(DeadLetterText.Describe(d, Math.Max(20, parse.GetValue(width))));
            }
            Console.WriteLine($"{shown.Count} of {read.Count(d => r is null || d.Record?.Reason == r)} dead letters shown");
            return Task.FromResult(0);
        }));
        return command;
    }

    private static Command Replay()
    {
        var reason = new Option<string>("--reason", "-r") { Description = "Replay the dead letters refused for this reason (see `siyu deadletter stats`)", Required = true };
        var dryRun = new Option<bool>("--dry-run") { Description = "Say what would be sent, send nothing" };
        var command = new Command("replay",
            "Produce the original bytes of dead letters again, with their original key, to their original topic; "
            + "events already applied are recognised by their ids and change nothing")
        {
            reason, dryRun,
        };
        var common = Add(command);
        command.SetAction((parse, ct) => Run(parse, common, ct, async (settings, read, range) =>
        {
            var plan = ReplayPlan.For(read, parse.GetValue(reason)!);
            var byTopic = string.Join(", ", plan.Messages.GroupBy(m => m.Topic).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"));
            var notes = (plan.Copies > 0 ? $"; {plan.Copies} identical copies sent once" : "")
                + (plan.Truncated.Count > 0 ? $"; {plan.Truncated.Count} NOT replayable (cut to fit the dead-letter topic: the original is gone, ask its producer)" : "");
            if (parse.GetValue(dryRun))
            {
                Console.WriteLine($"dry run: would send {plan.Messages.Count} of {plan.Matched} dead letters with reason {parse.GetValue(reason)}"
                    + (byTopic.Length > 0 ? $" ({byTopic})" : "") + notes);
                return 0;
            }
            if (plan.Messages.Count == 0)
            {
                Console.WriteLine($"sent 0 messages: {plan.Matched} dead letters with reason {parse.GetValue(reason)} in {range.Topic}" + notes);
                return 0;
            }
            using var producer = KafkaClients.Producer(settings.Kafka, settings.Kafka.BootstrapServers, range.Health, "replay");
            var failed = await plan.SendAsync(producer, range.Topic, ct);
            Console.WriteLine($"sent {plan.Messages.Count - failed} messages ({byTopic}) from {plan.Matched} dead letters with reason {parse.GetValue(reason)}"
                + notes + (failed > 0 ? $"; {failed} FAILED" : ""));
            return failed > 0 ? 1 : 0;
        }));
        return command;
    }

    private sealed record Range(string Topic, DateTimeOffset? From, DateTimeOffset? To, KafkaHealth Health);

    private static Task<int> Run(ParseResult parse, Common common, CancellationToken ct,
        Func<SiyuSettings, IReadOnlyList<DeadLetter>, Range, Task<int>> body) => CommandSupport.Guard(async () =>
    {
        var overrides = new Dictionary<string, string?>();
        if (parse.GetValue(common.Bootstrap) is { } b)
        {
            overrides["Kafka:BootstrapServers"] = b;
        }
        var settings = SettingsLoader.Load(SettingsLoader.Build(parse.GetValue(common.Config)?.FullName, overrides), embedded: false, processesEvents: false);
        var now = TimeProvider.System.GetUtcNow();
        DateTimeOffset? from = null, to = null;
        foreach (var (option, set) in new (Option<string?>, Action<DateTimeOffset>)[] { (common.From, t => from = t), (common.To, t => to = t) })
        {
            if (parse.GetValue(option) is not { } text)
            {
                continue;
            }
            if (!DeadLetterText.TryParseTime(text, now, out var at))
            {
                await Console.Error.WriteLineAsync($"siyu: {option.Name} '{text}' is neither an ISO 8601 time with an offset (2026-12-03T08:00:00Z) nor a span back from now (30m, 2h, 7d)");
                return CommandSupport.ConfigError;
            }
            set(at);
        }
        var topic = new Topics(settings.Kafka.TopicPrefix).DeadLetter;
        using var loggers = CommandSupport.StderrLoggers();
        var health = new KafkaHealth(settings.Kafka.BootstrapServers, loggers.CreateLogger<KafkaHealth>());
        List<DeadLetter> read;
        try
        {
            read = DeadLetterReader.Read(settings.Kafka.BootstrapServers, topic, settings.Kafka.Client, health, from, to, ct);
        }
        catch (Exception e) when (e is KafkaException or TimeoutException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"siyu: cannot read {topic} at {settings.Kafka.BootstrapServers} ({KafkaHealth.Setting}): "
                + (health.Problem ?? e.Message));
            return 1;
        }
        return await body(settings, read, new Range(topic, from, to, health));
    });
}
