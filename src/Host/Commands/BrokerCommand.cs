using System.CommandLine;
using Siyu.Contracts;
using Siyu.Host.Configuration;
using Siyu.Kafka;

namespace Siyu.Host.Commands;

/// <summary>`siyu broker`: the embedded dev broker on its own, for a second process or kcat.</summary>
public static class BrokerCommand
{
    public static Command Create()
    {
        var config = CommandSupport.ConfigOption();
        var port = new Option<int>("--port") { Description = "Port to listen on (0 = any free port)", DefaultValueFactory = _ => 0 };
        var command = new Command("broker", "Run the embedded Kafka dev broker (librdkafka mock cluster; in memory, ~100k messages kept per partition) and print its address")
        {
            config, port,
        };
        command.SetAction((parse, ct) => CommandSupport.Guard(async () =>
        {
            var settings = SettingsLoader.Load(SettingsLoader.Build(parse.GetValue(config)?.FullName), embedded: true);
            using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions
            {
                Port = parse.GetValue(port),
                DefaultPartitions = settings.Kafka.EmbeddedPartitions,
            });
            var topics = new Topics(settings.Kafka.TopicPrefix);
            foreach (var topic in topics.All)
            {
                broker.CreateTopic(topic, settings.Kafka.EmbeddedPartitions);
            }
            Console.WriteLine($"bootstrap.servers={broker.BootstrapServers}");
            Console.WriteLine($"topics: {string.Join(", ", topics.All)} ({settings.Kafka.EmbeddedPartitions} partitions each)");
            Console.WriteLine("Press Ctrl+C to stop; all data is in memory and goes with the process.");
            await WaitForShutdown(ct);
            return 0;
        }));
        return command;
    }

    internal static async Task WaitForShutdown(CancellationToken ct)
    {
        var stop = new TaskCompletionSource();
        using var sigint = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGINT, c => { c.Cancel = true; stop.TrySetResult(); });
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(
            System.Runtime.InteropServices.PosixSignal.SIGTERM, c => { c.Cancel = true; stop.TrySetResult(); });
        await using var reg = ct.Register(() => stop.TrySetResult());
        await stop.Task;
    }
}
