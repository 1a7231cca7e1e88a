using System.CommandLine;
using Siyu.Host.Configuration;
using Siyu.Host.Node;

namespace Siyu.Host.Commands;

internal static class CommandSupport
{
    public const int ConfigError = 2;

    public static Option<FileInfo?> ConfigOption() => new("--config", "-c")
    {
        Description = "JSON settings file (over appsettings.json; SIYU_* environment variables override both)",
    };

    /// <summary>
    /// Logging for the operator tools (produce, deadletter): warnings and errors only, all on
    /// stderr, so stdout stays the command's answer. Kafka clients log through it (see KafkaHealth).
    /// </summary>
    public static ILoggerFactory StderrLoggers() => LoggerFactory.Create(b => b
        .SetMinimumLevel(LogLevel.Warning)
        .AddSimpleConsole(o => o.SingleLine = true)
        .Services.Configure<Microsoft.Extensions.Logging.Console.ConsoleLoggerOptions>(o => o.LogToStandardErrorThreshold = LogLevel.Trace));

    /// <summary>Runs a command body, turning configuration problems into a clear message and exit code 2.</summary>
    public static async Task<int> Guard(Func<Task<int>> body)
    {
        try
        {
            return await body();
        }
        catch (SettingsException ex)
        {
            await Console.Error.WriteLineAsync("siyu: " + ex.Message);
            return ConfigError;
        }
        catch (StartupException ex)
        {
            await Console.Error.WriteLineAsync("siyu: cannot start: " + ex.Message.Replace("\n", "\nsiyu: cannot start: ", StringComparison.Ordinal));
            return ProcessExit.After(ConfigError);
        }
    }

    /// <summary>
    /// Starts the host; false (after one line on stderr naming the cause) when a part of it failed
    /// to start. The caller then leaves at once with exit 2: parts already started (the actor
    /// system, chDB) would otherwise keep the process alive.
    /// </summary>
    public static async Task<bool> StartAsync(WebApplication app)
    {
        try
        {
            await app.StartAsync(app.Lifetime.ApplicationStopping);
            return true;
        }
        catch (OperationCanceledException) when (app.Lifetime.ApplicationStopping.IsCancellationRequested)
        {
            return false; // stopped (SIGTERM) while starting
        }
        catch (Exception e)
        {
            var cause = e;
            while (cause.InnerException is not null && cause is IOException or AggregateException or InvalidOperationException)
            {
                cause = cause.InnerException;
            }
            await Console.Error.WriteLineAsync($"siyu: cannot start: {e.Message}" + (cause != e ? $" ({cause.Message})" : ""));
            return false;
        }
    }
}
