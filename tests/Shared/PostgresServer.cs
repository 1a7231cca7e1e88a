using System.Diagnostics;

namespace Siyu.Tests.Shared;

/// <summary>
/// A throwaway PostgreSQL server (Debian's package) for the production-journal specs: its own
/// data directory and port, trust auth on loopback, stopped and deleted afterwards. PostgreSQL
/// refuses to run as root, so under root the server runs as the postgres user.
/// </summary>
public sealed class PostgresServer : IDisposable
{
    private readonly string _bin;
    private readonly string _dir;
    public int Port { get; }
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=siyu;Database=postgres;Pooling=true";

    public PostgresServer()
    {
        _bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "pg_ctl"))).OrderDescending().FirstOrDefault() ?? ""
            : "";
        if (_bin.Length == 0)
        {
            throw new InvalidOperationException("PostgreSQL server binaries not found under /usr/lib/postgresql: `apt-get install postgresql` (.ci/run does this)");
        }
        _dir = Path.Combine(Path.GetTempPath(), $"siyu-pg-{Guid.NewGuid():N}");
        Directory.CreateDirectory(_dir);
        Port = FreePort.Next();
        if (Environment.UserName == "root")
        {
            Run("chown", "postgres", _dir);
        }
        Pg("initdb", "-D", _dir, "-U", "siyu", "--auth=trust", "-E", "UTF8", "--no-sync");
        Start();
    }

    /// <summary>Starts the server on its data directory and port; returns once it accepts connections.</summary>
    public void Start() =>
        Pg("pg_ctl", "-D", _dir, "-w", "-l", Path.Combine(_dir, "server.log"), "-o",
            $"-p {Port} -k {_dir} -c listen_addresses=127.0.0.1 -c fsync=off", "start");

    /// <summary>A fast shutdown, as an operator's restart or a failover does: open transactions are
    /// rolled back, clients disconnected, and new connections refused until <see cref="Start"/>.</summary>
    public void Stop() => Pg("pg_ctl", "-D", _dir, "-w", "-m", "fast", "stop");

    private void Pg(string tool, params string[] args)
    {
        var path = Path.Combine(_bin, tool);
        if (Environment.UserName == "root")
        {
            Run("runuser", ["-u", "postgres", "--", path, .. args]);
        }
        else
        {
            Run(path, args);
        }
    }

    private static void Run(string file, params string[] args)
    {
        var psi = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEndAsync();
        if (!p.WaitForExit(60_000) || p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed: {stdout.Result}{stderr.Result}");
        }
    }

    /// <summary>The data directory (kept after <see cref="Dispose"/> while <see cref="Keep"/> is set, for inspection).</summary>
    public string DataDirectory => _dir;

    /// <summary>A failing test sets this so the journal rows outlive the server.</summary>
    public bool Keep { get; set; }

    public void Dispose()
    {
        try
        {
            Pg("pg_ctl", "-D", _dir, "-m", Keep ? "fast" : "immediate", "stop");
        }
        finally
        {
            if (!Keep)
            {
                Directory.Delete(_dir, recursive: true);
            }
        }
    }
}
