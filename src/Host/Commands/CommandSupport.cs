using System.CommandLine;
using Siyu.Host.Configuration;

namespace Siyu.Host.Commands;

internal static class CommandSupport
{
    public const int ConfigError = 2;

    public static Option<FileInfo?> ConfigOption() => new("--config", "-c")
    {
        Description = "JSON settings file (over appsettings.json; SIYU_* environment variables override both)",
    };

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
    }
}
