using System.CommandLine;
using Siyu.Host.Configuration;
using Siyu.Host.Node;

namespace Siyu.Host.Commands;

/// <summary>`siyu run`: production mode against real Kafka, ClickHouse and PostgreSQL.</summary>
public static class RunCommand
{
    public static Command Create()
    {
        var config = CommandSupport.ConfigOption();
        var command = new Command("run", "Run a Siyu node against the services named in the configuration") { config };
        command.SetAction((parse, _) => CommandSupport.Guard(async () =>
        {
            var configuration = SettingsLoader.Build(parse.GetValue(config)?.FullName);
            var settings = SettingsLoader.Load(configuration, embedded: false);
            StartupChecks.Verify(settings);
            var app = SiyuNode.Build(settings, configuration, new SiyuNode.Options(settings.Kafka.BootstrapServers));
            if (!await CommandSupport.StartAsync(app))
            {
                return ProcessExit.Now(CommandSupport.ConfigError);
            }
            await app.WaitForShutdownAsync(); // returns after SIGTERM/Ctrl+C once ingest has drained and committed
            await app.DisposeAsync();
            return ProcessExit.After(0);
        }));
        return command;
    }
}
