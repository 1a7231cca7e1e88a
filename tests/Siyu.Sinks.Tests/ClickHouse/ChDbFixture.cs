using System.Diagnostics;
using System.Globalization;
using Siyu.Sinks.ClickHouse.Embedded;

namespace Siyu.Sinks.Tests.ClickHouse;

/// <summary>
/// The one chDB engine of the test process (chDB boots once per process), shared by every test
/// that needs it; each test works in its own database so tests stay independent.
/// </summary>
public sealed class ChDbFixture
{
    private static readonly string Root = Path.Combine(Path.GetTempPath(), "siyu-chdb-tests");

    public ChDbFixture()
    {
        RemoveStaleRuns();
        Engine = ChDbEngine.Open(Path.Combine(Root, $"run-{DateTime.UtcNow:yyyyMMddHHmmss}-{Environment.ProcessId}"));
    }

    public ChDbEngine Engine { get; }

    /// <summary>Creates a fresh database and returns its name.</summary>
    public string NewDatabase(string purpose)
    {
        var name = $"{purpose}_{Guid.NewGuid():N}"[..(purpose.Length + 13)];
        Engine.Execute($"CREATE DATABASE `{name}`");
        return name;
    }

    // The engine keeps its directory until the process ends, and dropping the test databases would
    // not free it either (a plain DROP deletes the files minutes later; DROP … SYNC hangs in chDB
    // 26.5). So each run removes what earlier, finished runs left: their process is gone. Not by
    // age: file times are the kernel's real clock, and a run under faketime would take every
    // directory, those of runs still going included, for a stale one.
    private static void RemoveStaleRuns()
    {
        if (!Directory.Exists(Root))
        {
            return;
        }

        foreach (var dir in new DirectoryInfo(Root).EnumerateDirectories("run-*"))
        {
            var pidText = dir.Name[(dir.Name.LastIndexOf('-') + 1)..];
            var finished = !int.TryParse(pidText, NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
                || !IsRunning(pid);
            if (finished)
            {
                try
                {
                    dir.Delete(recursive: true);
                }
                catch (IOException)
                {
                }
                catch (UnauthorizedAccessException)
                {
                }
            }
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var p = Process.GetProcessById(pid);
            return !p.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }
}

[CollectionDefinition(Name)]
public sealed class ChDbCollection : ICollectionFixture<ChDbFixture>
{
    public const string Name = "chDB engine";
}
