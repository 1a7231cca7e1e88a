using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Siyu.Kafka;
using Siyu.Reliability.Tests.Support;
using Siyu.Tests.Shared;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 16.1: a start-up or run-time failure names its cause. What cannot work (a port taken, a
/// path under a regular file) stops `siyu run` with exit 2 and one line naming the setting and
/// its value, within seconds; a broker that may come back is retried, warned about once per
/// interval and shown on /health; nothing hangs.
/// </summary>
public sealed class StartupFailureTests(ITestOutputHelper output) : IDisposable
{
    private readonly WorkDirectory _work = new("siyu-startup-", output);

    private Dictionary<string, string> Env(string bootstrap = "127.0.0.1:1") => NodeProcess.Env(bootstrap, _work.Path);

    private async Task<(int Exit, string Stdout, string Stderr, TimeSpan Took)> RunAsync(Dictionary<string, string> env, int? apiPort = null)
    {
        var clock = Stopwatch.StartNew();
        using var node = new NodeProcess(env, apiPort);
        int exit;
        try
        {
            exit = await node.Process.WaitAsync(TimeSpan.FromSeconds(60));
        }
        catch (OperationCanceledException)
        {
            Assert.Fail("siyu run did not exit within 60 s (it hangs)\n" + node.Process.Tail());
            throw;
        }
        output.WriteLine($"exit {exit} after {clock.Elapsed.TotalSeconds:0.0} s\nstderr: {node.Process.Stderr}");
        return (exit, node.Process.Stdout, node.Process.Stderr, clock.Elapsed);
    }

    private static void OneClearLine(string stderr, params string[] mustName)
    {
        var lines = stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines.Length == 1, "expected one line on stderr:\n" + stderr);
        Assert.StartsWith("siyu: cannot start: ", lines[0]);
        foreach (var name in mustName)
        {
            Assert.Contains(name, lines[0]);
        }
        Assert.DoesNotContain("   at ", stderr); // no stack trace
    }

    [Fact]
    public async Task An_api_port_in_use_stops_start_up_with_exit_2_naming_api_urls()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var (exit, _, stderr, took) = await RunAsync(Env(), port);
        Assert.Equal(2, exit);
        OneClearLine(stderr, "Api:Urls", $"http://127.0.0.1:{port}", "already in use");
        Assert.True(took < TimeSpan.FromSeconds(30), $"took {took}");
        _work.Passed = true;
    }

    [Fact]
    public async Task A_clickhouse_data_path_under_a_regular_file_stops_start_up_with_exit_2_naming_it()
    {
        var file = Path.Combine(_work.Path, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        var env = Env();
        env["SIYU_ClickHouse__DataPath"] = Path.Combine(file, "chdb");
        var (exit, _, stderr, _) = await RunAsync(env);
        Assert.Equal(2, exit);
        OneClearLine(stderr, "ClickHouse:DataPath", Path.Combine(file, "chdb"), "is a file");
        _work.Passed = true;
    }

    [Fact]
    public async Task A_sqlite_journal_under_a_regular_file_stops_start_up_with_exit_2_naming_it()
    {
        var file = Path.Combine(_work.Path, "a-file");
        await File.WriteAllTextAsync(file, "not a directory");
        var env = Env();
        env["SIYU_Journal__ConnectionString"] = $"Data Source={Path.Combine(file, "journal.db")}";
        var (exit, _, stderr, _) = await RunAsync(env);
        Assert.Equal(2, exit);
        OneClearLine(stderr, "Journal:ConnectionString", Path.Combine(file, "journal.db"), "is a file");
        _work.Passed = true;
    }

    [Fact]
    public async Task An_unreachable_broker_is_warned_about_once_per_interval_shown_on_health_and_recovered_from()
    {
        var brokerPort = FreePort.Next();
        var bootstrap = $"127.0.0.1:{brokerPort}";
        var env = Env(bootstrap);
        env["SIYU_Logging__LogLevel__Default"] = "Information";
        using var node = new NodeProcess(env);

        // /health names the broker, the setting and how long, while the node keeps running.
        string? reason = null;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline && !node.Process.HasExited)
        {
            try
            {
                var r = await node.Http.GetAsync("/health");
                if (r.StatusCode == HttpStatusCode.ServiceUnavailable)
                {
                    var body = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
                    var ingest = body.GetProperty("checks").GetProperty("ingest").GetProperty("description").GetString();
                    if (ingest?.Contains("unreachable for", StringComparison.Ordinal) == true
                        && int.Parse(ingest.Split("unreachable for ")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture) >= 10)
                    {
                        reason = ingest;
                        break;
                    }
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(250);
        }
        output.WriteLine($"/health ingest: {reason}");
        Assert.NotNull(reason);
        Assert.StartsWith($"broker {bootstrap} unreachable for ", reason);
        Assert.Contains("(Kafka:BootstrapServers)", reason);

        // librdkafka's lines went through the logger: nothing raw on stderr, few warnings, all JSON.
        Assert.True(node.Process.Stderr.Length == 0, "stderr:\n" + node.Process.Stderr[..Math.Min(3000, node.Process.Stderr.Length)]);
        var lines = node.Process.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        foreach (var line in lines)
        {
            Assert.Equal(JsonValueKind.Object, JsonDocument.Parse(line).RootElement.ValueKind);
        }
        var warnings = lines.Where(l => l.Contains("\"LogLevel\":\"Warning\"", StringComparison.Ordinal)).ToList();
        output.WriteLine($"{lines.Length} log lines, {warnings.Count} warnings:\n{string.Join('\n', warnings)}");
        Assert.Contains(warnings, w => w.Contains("unreachable", StringComparison.Ordinal) && w.Contains("Kafka:BootstrapServers", StringComparison.Ordinal));
        Assert.InRange(warnings.Count, 1, 4);
        // Some 40 probes were answered 503 meanwhile: a probe of a node that is not up is not an error (issue 16.11).
        Assert.DoesNotContain(lines, l => l.Contains("\"LogLevel\":\"Error\"", StringComparison.Ordinal) || l.Contains("\"LogLevel\":\"Critical\"", StringComparison.Ordinal));

        // The broker comes: the node connects by itself and becomes healthy.
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { Port = brokerPort, DefaultPartitions = 2 });
        foreach (var t in new Siyu.Contracts.Topics().All)
        {
            broker.CreateTopic(t);
        }
        await node.WaitHealthyAsync(seconds: 90);
        Assert.Contains("reachable again", node.Process.Stdout);

        await node.Process.StopGracefullyAsync(TimeSpan.FromSeconds(60));
        _work.Passed = true;
    }

    [Fact]
    public async Task Sigterm_while_the_broker_is_unreachable_stops_the_node_within_seconds()
    {
        using var node = new NodeProcess(Env($"127.0.0.1:{FreePort.Next()}"));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline && await node.GetJsonAsync("/v1/cluster") is null)
        {
            await Task.Delay(200);
        }
        var clock = Stopwatch.StartNew();
        await node.Process.StopGracefullyAsync(TimeSpan.FromSeconds(45));
        output.WriteLine($"stopped {clock.Elapsed.TotalSeconds:0.0} s after SIGTERM");
        _work.Passed = true;
    }

    public void Dispose() => _work.Dispose();
}
