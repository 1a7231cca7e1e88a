using System.Net;
using Siyu.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 7.2, start-up: `siyu run` whose ClickHouse server cannot be reached (a closed port) stays
/// up, retries applying the schema with backoff, logs a line naming the ClickHouse settings, and
/// /health reports it unhealthy (naming ClickHouse) rather than the process crashing.
/// </summary>
public sealed class ClickHouseStartupTests(ITestOutputHelper output) : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("siyu-chdown-").FullName;

    [Fact]
    public async Task Node_with_an_unreachable_ClickHouse_server_stays_up_retrying_and_reports_it_unhealthy()
    {
        using var kafka = new TestKafka(partitions: 2);
        var closedPort = Siyu.Tests.Shared.FreePort.Next(); // nothing listens there
        var env = NodeProcess.Env(kafka.Bootstrap, _dir, group: "siyu-chdown");
        env["SIYU_ClickHouse__Engine"] = "server";
        env["SIYU_ClickHouse__ConnectionString"] = $"Host=127.0.0.1;Port={closedPort};Database=siyu;Username=default;Password=secret-not-logged";
        using var node = new NodeProcess(env);

        // The API comes up while ClickHouse is retried; /health answers 503 naming the check.
        var deadline = DateTime.UtcNow.AddSeconds(60);
        HttpResponseMessage? health = null;
        while (DateTime.UtcNow < deadline && !node.Process.HasExited)
        {
            try
            {
                health = await node.Http.GetAsync("/health");
                if (node.Process.Stdout.Split('\n').Count(l => l.Contains("ClickHouse:ConnectionString", StringComparison.Ordinal)) >= 2)
                {
                    break;
                }
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(300);
        }
        var log = node.Process.Stdout + node.Process.Stderr;
        output.WriteLine(node.Process.Tail(20));
        Assert.False(node.Process.HasExited, "siyu run exited instead of retrying ClickHouse\n" + node.Process.Tail());
        Assert.NotNull(health);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health!.StatusCode);
        var retries = log.Split('\n').Where(l => l.Contains("ClickHouse server unreachable at start-up", StringComparison.Ordinal)).ToList();
        Assert.True(retries.Count >= 2, "expected at least two retry log lines naming ClickHouse settings\n" + node.Process.Tail());
        Assert.Contains("ClickHouse:ConnectionString", retries[0]);
        Assert.DoesNotContain("secret-not-logged", log);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
