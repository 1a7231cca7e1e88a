using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Siyu.Tests.Shared;

/// <summary>
/// The real `siyu` executable (the Host build output copied beside the tests) as a child process,
/// shared by the Host and Reliability tests,
/// as an operator runs it: configuration by SIYU_* environment variables, stopped by a signal.
/// </summary>
public sealed class SiyuProcess : IDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _stdout = new();
    private readonly StringBuilder _stderr = new();

    public static string Dll => Path.Combine(AppContext.BaseDirectory, "siyu.dll");

    public SiyuProcess(IEnumerable<string> args, IDictionary<string, string>? env = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        // Only what the test sets: a developer's own SIYU_* variables must not leak in.
        foreach (var key in psi.Environment.Keys.Where(k => k.StartsWith("SIYU_", StringComparison.Ordinal)).ToList())
        {
            psi.Environment.Remove(key);
        }
        foreach (var (k, v) in env ?? new Dictionary<string, string>())
        {
            psi.Environment[k] = v;
        }
        _process = Process.Start(psi)!;
        _process.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (_stdout) { _stdout.AppendLine(e.Data); } } };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (_stderr) { _stderr.AppendLine(e.Data); } } };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Stdout { get { lock (_stdout) { return _stdout.ToString(); } } }
    public string Stderr { get { lock (_stderr) { return _stderr.ToString(); } } }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>The last lines of both streams, for assertion messages.</summary>
    public string Tail(int lines = 40)
    {
        static string Last(string s, int n) => string.Join('\n', s.Split('\n').TakeLast(n));
        return $"--- stdout (tail) ---\n{Last(Stdout, lines)}\n--- stderr (tail) ---\n{Last(Stderr, lines)}";
    }

    /// <summary>kill -9: no shutdown hook, no flush, no commit; what a power cut or the OOM killer does.</summary>
    public void Kill9()
    {
        Signal("KILL");
        _process.WaitForExit();
    }

    /// <summary>SIGTERM, what Docker and Kubernetes send before they stop a container.</summary>
    public void Terminate() => Signal("TERM");

    /// <summary>SIGTERM, then a clean exit (0) within <paramref name="timeout"/>; a failure shows the last lines.</summary>
    public async Task StopGracefullyAsync(TimeSpan timeout)
    {
        Terminate();
        var exit = await WaitAsync(timeout);
        Xunit.Assert.True(exit == 0, $"exit {exit} after SIGTERM\n{Tail(60)}");
    }

    private void Signal(string name)
    {
        using var kill = Process.Start("kill", ["-" + name, _process.Id.ToString(CultureInfo.InvariantCulture)]);
        kill.WaitForExit();
    }

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            // Say what the process was doing: a bare TaskCanceledException hides why it did not stop.
            throw new TimeoutException($"siyu (pid {_process.Id}) did not exit within {timeout.TotalSeconds:0} s\n{Tail(60)}");
        }
        _process.WaitForExit(); // flushes the redirected streams
        return _process.ExitCode;
    }

    public static async Task<(int Exit, string Stdout, string Stderr)> RunAsync(IEnumerable<string> args, IDictionary<string, string>? env = null, int timeoutSeconds = 60)
    {
        using var p = new SiyuProcess(args, env);
        var exit = await p.WaitAsync(TimeSpan.FromSeconds(timeoutSeconds));
        return (exit, p.Stdout, p.Stderr);
    }

    public void Dispose()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
        _process.Dispose();
    }
}
