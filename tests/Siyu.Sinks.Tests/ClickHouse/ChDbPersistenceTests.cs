using System.Diagnostics;
using Xunit.Abstractions;

namespace Siyu.Sinks.Tests.ClickHouse;

/// <summary>
/// Data outlives the engine: one process writes and exits without closing (as a crash would),
/// a second process boots a new engine on the same directory and reads it back. Processes,
/// because chDB must not be rebooted inside one process.
/// </summary>
public sealed class ChDbPersistenceTests(ITestOutputHelper output)
{
    [Fact]
    public void Rows_written_by_one_process_are_read_by_the_next()
    {
        var dir = Path.Combine(Path.GetTempPath(), "siyu-chdb-tests", "persist-" + Guid.NewGuid().ToString("N"));
        try
        {
            Assert.Equal("1234", RunChild("write", dir, 1234));
            Assert.Equal("1000", RunChild("count", dir, 1000));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private string RunChild(string mode, string dir, int rows)
    {
        var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
        if (string.IsNullOrEmpty(host) || !File.Exists(host))
        {
            host = Path.GetFileNameWithoutExtension(Environment.ProcessPath) == "dotnet" ? Environment.ProcessPath! : "dotnet";
        }

        var psi = new ProcessStartInfo(host)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", typeof(Program).Assembly.Location, Program.ChildVerb, mode, dir, rows.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            psi.ArgumentList.Add(arg);
        }

        var sw = Stopwatch.StartNew();
        using var child = Process.Start(psi)!;
        var stderr = child.StandardError.ReadToEndAsync();
        var stdout = child.StandardOutput.ReadToEndAsync(); // async, so a hung child meets the timeout below
        if (!child.WaitForExit(60_000))
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail($"child '{mode}' did not finish in 60 s");
        }

        output.WriteLine($"child {mode}: exit {child.ExitCode} in {sw.ElapsedMilliseconds} ms; stderr: {stderr.Result.Trim()}");
        Assert.Equal(0, child.ExitCode);
        return stdout.Result.Trim();
    }
}
