using System.Diagnostics;
using System.Text;

namespace Siyu.Host.Tests;

/// <summary>Runs the real `siyu` executable as a child process, as an operator would.</summary>
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

    public async Task<int> WaitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(cts.Token);
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
        }
        _process.Dispose();
    }
}
