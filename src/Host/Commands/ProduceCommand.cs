using System.CommandLine;
using System.Text.Json;
using Confluent.Kafka;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Host.Configuration;
using Siyu.Host.Node;

namespace Siyu.Host.Commands;

/// <summary>
/// `siyu produce FILE.jsonl --topic T`: ships each line of a file as one message, byte for byte
/// (a broken line stays broken, so it tests the dead-letter path too). Blank lines are skipped.
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
        var bootstrap = new Option<string?>("--bootstrap", "-b") { Description = "host:port of a broker (default: Kafka:BootstrapServers)" };
        var command = new Command("produce", "Ship events from a JSON Lines file to a topic") { file, topic, bootstrap, config };
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
            var (sent, failed) = await ProduceFile(settings.Kafka, path.FullName, target, ct);
            Console.WriteLine($"produced {sent} messages to {target}" + (failed > 0 ? $"; {failed} FAILED" : ""));
            return failed > 0 ? 1 : 0;
        }));
        return command;
    }

    public static async Task<(int Sent, int Failed)> ProduceFile(KafkaSettings kafka, string path, string topic, CancellationToken ct)
    {
        using var producer = KafkaClients.Producer(kafka, kafka.BootstrapServers);
        var pending = new List<Task<DeliveryResult<byte[]?, byte[]>>>();
        foreach (var line in Lines(await File.ReadAllBytesAsync(path, ct)))
        {
            pending.Add(producer.ProduceAsync(topic, new Message<byte[]?, byte[]> { Key = KeyOf(line), Value = line }, ct));
        }
        var failed = 0;
        foreach (var p in pending)
        {
            try
            {
                await p;
            }
            catch (ProduceException<byte[]?, byte[]> ex)
            {
                failed++;
                await Console.Error.WriteLineAsync($"siyu: delivery failed: {ex.Error.Reason}");
            }
        }
        return (pending.Count - failed, failed);
    }

    /// <summary>Splits on '\n' without decoding, so invalid UTF-8 reaches the broker unchanged.</summary>
    public static IEnumerable<byte[]> Lines(byte[] content)
    {
        var start = 0;
        for (var i = 0; i <= content.Length; i++)
        {
            if (i < content.Length && content[i] != (byte)'\n')
            {
                continue;
            }
            var end = i > start && content[i - 1] == (byte)'\r' ? i - 1 : i;
            var line = content.AsSpan(start, end - start);
            if (!line.Trim(" \t"u8).IsEmpty)
            {
                yield return line.ToArray();
            }
            start = i + 1;
        }
    }

    // The contract keys input topics by any id of the customer; the first one found keeps one
    // customer's events in one partition. Unreadable lines go unkeyed.
    private static byte[]? KeyOf(byte[] line)
    {
        try
        {
            using var doc = JsonDocument.Parse(line);
            if (doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("ids", out var ids) && ids.ValueKind == JsonValueKind.Object)
            {
                foreach (var id in ids.EnumerateObject())
                {
                    if (id.Value.ValueKind == JsonValueKind.String && id.Value.GetString() is { Length: > 0 } value)
                    {
                        return System.Text.Encoding.UTF8.GetBytes(value);
                    }
                }
            }
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a key escaping half a UTF-16 surrogate pair ("\ud800").
        }
        return null;
    }
}
