using System.Globalization;
using System.Net;
using System.Text.Json.Nodes;
using Siyu.Tests.Shared;

namespace Siyu.Reliability.Tests.Support;

/// <summary>
/// `siyu run` as a child process with its own API port, plus what a test asks it over HTTP:
/// health, the ingest counters from /metrics, customers and live campaigns.
/// </summary>
public sealed class NodeProcess : IDisposable
{
    public const string PhoneKey = "reliability-tests-key-0123456789";

    public SiyuProcess Process { get; }
    public HttpClient Http { get; }
    public int ApiPort { get; }

    public NodeProcess(IDictionary<string, string> env, int? apiPort = null)
    {
        ApiPort = apiPort ?? Siyu.Tests.Shared.FreePort.Next();
        var all = new Dictionary<string, string>(env)
        {
            ["SIYU_Api__Urls"] = $"http://127.0.0.1:{ApiPort}",
        };
        all.TryAdd("SIYU_Privacy__PhoneHashKey", PhoneKey);
        foreach (var (key, value) in TestApiKeys.Environment())
        {
            all.TryAdd(key, value);
        }
        Process = new SiyuProcess(["run"], all);
        Http = TestApiKeys.Client(new Uri($"http://127.0.0.1:{ApiPort}"), timeout: TimeSpan.FromSeconds(15));
    }

    /// <summary>The environment of a single node on the embedded stack's files in <paramref name="dir"/>.</summary>
    public static Dictionary<string, string> Env(string bootstrap, string dir, string group = "siyu-ingest") => new()
    {
        ["SIYU_Kafka__BootstrapServers"] = bootstrap,
        ["SIYU_Kafka__GroupId"] = group,
        // The mock broker makes a restarted member wait about the session timeout before it is
        // assigned partitions again; the shortest practical value keeps restarts quick.
        ["SIYU_Kafka__SessionTimeoutMs"] = "6000",
        ["SIYU_Kafka__AutoCommitIntervalMs"] = "200",
        // A refund resolved a moment before its order (both new ids, racing through the
        // identity index) waits this long before its retry; the 30 s default would hold its
        // partition's commits, and a drain, for half a minute.
        ["SIYU_Customers__RefundGraceSeconds"] = "2",
        ["SIYU_ClickHouse__DataPath"] = Path.Combine(dir, "chdb"),
        ["SIYU_Journal__ConnectionString"] = $"Data Source={Path.Combine(dir, "journal.db")}",
        ["SIYU_Logging__LogLevel__Default"] = "Warning",
        ["SIYU_Logging__LogLevel__Siyu"] = "Information",
    };

    public async Task WaitHealthyAsync(int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (DateTime.UtcNow < deadline)
        {
            if (Process.HasExited)
            {
                throw new InvalidOperationException($"siyu run exited early ({Process.Tail()})");
            }
            try
            {
                if ((await Http.GetAsync("/health")).StatusCode == HttpStatusCode.OK)
                {
                    return;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(200);
        }
        throw new TimeoutException($"siyu run not healthy within {seconds}s\n{Process.Tail()}");
    }

    /// <summary>Input messages this process has finished (accepted or dead-lettered), from /metrics.</summary>
    public Task<long> HandledAsync() => MetricAsync("siyu_ingest_messages_total{");

    /// <summary>
    /// Polls until the node has handled at least <paramref name="atLeast"/> messages or the time is
    /// up (a loaded machine may not get there: the caller decides what falls short means); returns
    /// the count reached.
    /// </summary>
    public async Task<long> WaitHandledAsync(long atLeast, int seconds = 45)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        long handled;
        while ((handled = await HandledAsync()) < atLeast && DateTime.UtcNow < deadline)
        {
            await Task.Delay(50);
        }
        return handled;
    }

    /// <summary>The sum of the /metrics series whose line starts with <paramref name="prefix"/>; -1 when unreachable.</summary>
    public async Task<long> MetricAsync(string prefix)
    {
        try
        {
            var text = await Http.GetStringAsync("/metrics");
            return (long)text.Split('\n')
                .Where(l => l.StartsWith(prefix, StringComparison.Ordinal))
                .Sum(l => double.Parse(l[(l.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return -1;
        }
    }

    public async Task<JsonNode?> GetJsonAsync(string path)
    {
        try
        {
            var r = await Http.GetAsync(path);
            return r.StatusCode == HttpStatusCode.OK ? JsonNode.Parse(await r.Content.ReadAsStringAsync()) : null;
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    public void Dispose()
    {
        Http.Dispose();
        Process.Dispose();
    }
}
