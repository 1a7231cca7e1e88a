using System.Net;
using System.Net.Sockets;
using Microsoft.Data.Sqlite;
using Siyu.Host.Configuration;

namespace Siyu.Host.Node;

/// <summary>A start-up problem outside the settings' syntax (a port taken, a path unusable): one line naming the setting and its value; exit 2.</summary>
public sealed class StartupException(string message) : Exception(message);

/// <summary>
/// What would otherwise fail deep inside start-up with a stack trace (Kestrel's bind, chDB's
/// directory, SQLite's file) is checked first, so the operator gets one line naming the setting
/// and its value, within a second and before anything has started.
/// </summary>
public static class StartupChecks
{
    public static void Verify(SiyuSettings settings)
    {
        var problems = new List<string>();
        foreach (var url in settings.Api.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (PortProblem(url) is { } p)
            {
                problems.Add($"Api:Urls {url}: {p}");
            }
        }
        if (settings.ClickHouse.Engine == "embedded" && DirectoryProblem(settings.ClickHouse.DataPath) is { } d)
        {
            problems.Add($"ClickHouse:DataPath '{settings.ClickHouse.DataPath}': {d}");
        }
        if (settings.Journal.Provider == "sqlite" && SqliteFile(settings.Journal.ConnectionString) is { } file
            && DirectoryProblem(Path.GetDirectoryName(Path.GetFullPath(file)) ?? ".") is { } j)
        {
            problems.Add($"Journal:ConnectionString (SQLite file '{file}'): {j}");
        }
        if (problems.Count > 0)
        {
            throw new StartupException(string.Join("\n", problems));
        }
    }

    /// <summary>Null when the URL's port can be listened on now; otherwise why not.</summary>
    public static string? PortProblem(string url)
    {
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri))
        {
            return null; // the settings check names malformed URLs
        }
        var addresses = uri.Host switch
        {
            "localhost" => [IPAddress.Loopback],
            "*" or "+" or "0.0.0.0" => [IPAddress.Any],
            "[::]" => [IPAddress.IPv6Any],
            _ => IPAddress.TryParse(uri.Host.Trim('[', ']'), out var ip) ? [ip] : Array.Empty<IPAddress>(),
        };
        foreach (var address in addresses)
        {
            var listener = new TcpListener(address, uri.Port);
            try
            {
                listener.Start();
            }
            catch (SocketException e)
            {
                return e.SocketErrorCode switch
                {
                    SocketError.AddressAlreadyInUse => $"port {uri.Port} is already in use (another siyu or another program); stop it or choose another port",
                    SocketError.AddressNotAvailable => $"address {uri.Host} is not an address of this machine",
                    SocketError.AccessDenied => $"port {uri.Port} needs privileges this process does not have; choose a port above 1023",
                    _ => $"cannot listen on {uri.Host}:{uri.Port}: {e.Message}",
                };
            }
            finally
            {
                listener.Stop();
            }
        }
        return null;
    }

    /// <summary>Null when <paramref name="path"/> is (or can be made) a directory this process can write in; otherwise why not.</summary>
    public static string? DirectoryProblem(string path)
    {
        var full = Path.GetFullPath(path);
        // The nearest part of the path that exists: a regular file there makes the path impossible.
        for (var p = full; !string.IsNullOrEmpty(p); p = Path.GetDirectoryName(p))
        {
            if (File.Exists(p))
            {
                return p == full ? $"'{p}' is a file, not a directory" : $"'{p}' is a file, so no directory can be made under it";
            }
            if (Directory.Exists(p))
            {
                break;
            }
        }
        try
        {
            Directory.CreateDirectory(full);
            var probe = Path.Combine(full, $".siyu-write-check-{Environment.ProcessId}");
            File.WriteAllBytes(probe, []);
            File.Delete(probe);
            return null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return $"not writable: {e.Message}";
        }
    }

    private static string? SqliteFile(string connectionString)
    {
        try
        {
            var source = new SqliteConnectionStringBuilder(connectionString).DataSource;
            return string.IsNullOrWhiteSpace(source) || source == ":memory:" || source.StartsWith("file:", StringComparison.Ordinal) ? null : source;
        }
        catch (ArgumentException)
        {
            return null;
        }
    }
}
