using System.CommandLine;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Host.Configuration;
using Siyu.Host.Node;
using Siyu.Kafka;
using Spectre.Console;

namespace Siyu.Host.Commands;

/// <summary>
/// `siyu produce FILE.jsonl --topic T [--key FIELD]`: ships each line of a file as one message,
/// byte for byte (a broken line stays broken, so it tests the dead-letter path too). Blank lines
/// are skipped. The file is streamed, so its size is not bounded by memory; on a terminal a
/// progress bar (on stderr) shows how far it is, and the last line on stdout says what was sent.
/// </summary>
public static class ProduceCommand
{
    public static Command Create()
    {
        var config = CommandSupport.ConfigOption();
        var file = new Argument<FileInfo>("file") { Description = "JSON Lines file, one event per line" };
        var topic = new Option<string>("--topic", "-t")
        {
            Description = "Topic to write to: a full name (siyu.pos) or a channel (pos, miniprogram, app, group)",
            Required = true,
        };
        var key = new Option<string?>("--key", "-k")
        {
            Description = "JSON field of each line whose value is the message key (a dotted path for a nested one: ids.member_id). "
                + "Default: campaign_id for siyu.campaigns, the first id in ids for the input topics, as the contract keys them",
        };
        var bootstrap = new Option<string?>("--bootstrap", "-b") { Description = "host:port of a broker (default: Kafka:BootstrapServers)" };
        var command = new Command("produce", "Ship events from a JSON Lines file to a topic") { file, topic, key, bootstrap, config };
        command.SetAction((parse, ct) => CommandSupport.Guard(async () =>
        {
            var overrides = new Dictionary<string, string?>();
            if (parse.GetValue(bootstrap) is { } b)
            {
                overrides["Kafka:BootstrapServers"] = b;
            }
            var settings = SettingsLoader.Load(SettingsLoader.Build(parse.GetValue(config)?.FullName, overrides), embedded: false, processesEvents: false);
            var path = parse.GetValue(file)!;
            if (!path.Exists)
            {
                await Console.Error.WriteLineAsync($"siyu: file '{path.FullName}' does not exist");
                return 1;
            }
            var topics = new Topics(settings.Kafka.TopicPrefix);
            var target = parse.GetValue(topic)!;
            if (ChannelNames.TryParse(target, out var channel))
            {
                target = topics.Input(channel);
            }
            var keys = parse.GetValue(key) is { } field ? MessageKeys.Field(field)
                : target == topics.Campaigns ? MessageKeys.Field("campaign_id")
                : MessageKeys.FirstId;
            var result = await ProduceFile(settings.Kafka, path.FullName, target, keys, ct);
            Console.WriteLine(result.Describe(target, keys));
            return result.Failed > 0 ? 1 : 0;
        }));
        return command;
    }

    /// <summary>What a run sent: lines read, acknowledged, failed, and how many went without a key.</summary>
    public sealed record Result(long Lines, long Sent, long Failed, long Unkeyed, TimeSpan Took)
    {
        public string Describe(string topic, MessageKeys keys) =>
            $"produced {Sent} messages to {topic} in {Took.TotalSeconds:0.0} s, keyed by {keys.Description}"
            + (Unkeyed > 0 ? $"; {Unkeyed} without one went unkeyed" : "")
            + (Failed > 0 ? $"; {Failed} FAILED" : "");
    }

    public static async Task<Result> ProduceFile(KafkaSettings kafka, string path, string topic, MessageKeys keys, CancellationToken ct)
    {
        using var loggers = CommandSupport.StderrLoggers();
        var health = new KafkaHealth(kafka.BootstrapServers, loggers.CreateLogger<KafkaHealth>());
        using var producer = KafkaClients.Producer(kafka, kafka.BootstrapServers, health, "produce");
        await using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16);
        long lines = 0, unkeyed = 0, acked = 0, failed = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        void Delivered(DeliveryReport<byte[]?, byte[]> report)
        {
            if (report.Error.IsError)
            {
                Interlocked.CompareExchange(ref firstError, report.Error.Reason, null);
                Interlocked.Increment(ref failed);
            }
            else
            {
                Interlocked.Increment(ref acked);
            }
        }
        void Send(Action<long>? progress)
        {
            foreach (var line in Lines(stream))
            {
                ct.ThrowIfCancellationRequested();
                var k = keys.Of(line);
                if (k is null)
                {
                    unkeyed++;
                }
                var message = new Message<byte[]?, byte[]> { Key = k, Value = line };
                while (true)
                {
                    try
                    {
                        producer.Produce(topic, message, Delivered);
                        break;
                    }
                    catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
                    {
                        Thread.Sleep(20); // the broker is behind: the background poll frees the queue as acknowledgements come
                    }
                }
                lines++;
                progress?.Invoke(stream.Position);
            }
            // Undelivered messages fail by themselves after librdkafka's message.timeout.ms (5 min);
            // meanwhile an unreachable broker is said every 30 s, not every second.
            TimeSpan? said = null;
            while (producer.Flush(TimeSpan.FromSeconds(1)) > 0)
            {
                ct.ThrowIfCancellationRequested();
                if (health.Problem is { } problem && (said is null || clock.Elapsed - said >= TimeSpan.FromSeconds(30)))
                {
                    said = clock.Elapsed;
                    Console.Error.WriteLine($"siyu: waiting for acknowledgements: {problem}");
                }
            }
        }

        var console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(Console.Error) });
        if (console.Profile.Capabilities.Interactive)
        {
            await console.Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new TransferSpeedColumn(), new RemainingTimeColumn())
                .StartAsync(async context =>
                {
                    var task = context.AddTask(Markup.Escape(Path.GetFileName(path)), maxValue: Math.Max(1, stream.Length));
                    await Task.Run(() => Send(position => task.Value = position), ct);
                    task.Value = task.MaxValue;
                });
        }
        else
        {
            await Task.Run(() => Send(null), ct);
        }
        if (firstError is not null)
        {
            await Console.Error.WriteLineAsync($"siyu: {failed} deliveries failed, the first: {firstError}");
        }
        return new Result(lines, Interlocked.Read(ref acked), Interlocked.Read(ref failed), unkeyed, clock.Elapsed);
    }

    /// <summary>Splits on '\n' without decoding, so invalid UTF-8 reaches the broker unchanged.</summary>
    public static IEnumerable<byte[]> Lines(byte[] content) => Lines(new MemoryStream(content, writable: false));

    /// <summary>As <see cref="Lines(byte[])"/>, reading <paramref name="stream"/> as it goes (a trailing '\r' is dropped, blank lines skipped).</summary>
    public static IEnumerable<byte[]> Lines(Stream stream)
    {
        var buffer = new byte[1 << 16];
        using var line = new MemoryStream();
        int read;
        while ((read = stream.Read(buffer, 0, buffer.Length)) > 0)
        {
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] != (byte)'\n')
                {
                    continue;
                }
                line.Write(buffer, start, i - start);
                if (Complete(line) is { } done)
                {
                    yield return done;
                }
                line.SetLength(0);
                start = i + 1;
            }
            line.Write(buffer, start, read - start);
        }
        if (Complete(line) is { } last)
        {
            yield return last;
        }
    }

    private static byte[]? Complete(MemoryStream line)
    {
        var span = line.GetBuffer().AsSpan(0, (int)line.Length);
        if (span.Length > 0 && span[^1] == (byte)'\r')
        {
            span = span[..^1];
        }
        return span.Trim(" \t"u8).IsEmpty ? null : span.ToArray();
    }
}

/// <summary>How `siyu produce` keys a line: by a JSON field, or by the first id in <c>ids</c>. Unreadable lines go unkeyed.</summary>
public sealed class MessageKeys
{
    private readonly Func<JsonElement, string?> _pick;

    private MessageKeys(string description, Func<JsonElement, string?> pick)
    {
        Description = description;
        _pick = pick;
    }

    public string Description { get; }

    /// <summary>The contract's key for the input topics: any id of the customer; the first one keeps one customer's events in one partition.</summary>
    public static MessageKeys FirstId { get; } = new("the first id in ids", root =>
    {
        if (root.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Object)
        {
            foreach (var id in ids.EnumerateObject())
            {
                if (id.Value.ValueKind == JsonValueKind.String && id.Value.GetString() is { Length: > 0 } value)
                {
                    return value;
                }
            }
        }
        return null;
    });

    /// <summary>The value of a field (a dotted path for a nested one); a string as is, a number as written.</summary>
    public static MessageKeys Field(string path)
    {
        var parts = path.Split('.');
        return new MessageKeys(path, root =>
        {
            var at = root;
            foreach (var part in parts)
            {
                if (at.ValueKind != JsonValueKind.Object || !at.TryGetProperty(part, out at))
                {
                    return null;
                }
            }
            return at.ValueKind switch
            {
                JsonValueKind.String => at.GetString() is { Length: > 0 } s ? s : null,
                JsonValueKind.Number => at.GetRawText(),
                _ => null,
            };
        });
    }

    public byte[]? Of(byte[] line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            return doc.RootElement.ValueKind == JsonValueKind.Object && _pick(doc.RootElement) is { } key ? Encoding.UTF8.GetBytes(key) : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a value escaping half a UTF-16 surrogate pair ("\ud800").
            return null;
        }
    }
}
