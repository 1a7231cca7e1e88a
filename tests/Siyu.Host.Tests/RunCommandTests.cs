using System.Net;
using Siyu.Contracts;
using Siyu.Kafka;
using Siyu.Tests.Shared;

namespace Siyu.Host.Tests;

public sealed class RunCommandTests
{
    [Fact]
    public async Task Siyu_run_serves_health_and_metrics_and_shuts_down_cleanly_on_sigterm()
    {
        using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 2 });
        foreach (var t in new Topics().All)
        {
            broker.CreateTopic(t);
        }
        var port = Siyu.Tests.Shared.FreePort.Next();
        using var siyu = new SiyuProcess(["run"], new Dictionary<string, string>
        {
            ["SIYU_Kafka__BootstrapServers"] = broker.BootstrapServers,
            ["SIYU_Kafka__SessionTimeoutMs"] = "6000",
            ["SIYU_Privacy__PhoneHashKey"] = "a-secret-of-at-least-16-bytes",
            ["SIYU_Api__Urls"] = $"http://127.0.0.1:{port}",
            ["SIYU_ClickHouse__DataPath"] = Path.Combine(Path.GetTempPath(), $"siyu-run-chdb-{Guid.NewGuid():N}"),
            ["SIYU_Journal__ConnectionString"] = $"Data Source={Path.Combine(Path.GetTempPath(), $"siyu-run-{Guid.NewGuid():N}.db")}",
            ["SIYU_Api__Keys__ops__Role"] = "admin",
            ["SIYU_Api__Keys__ops__Hash"] = TestApiKeys.Hash(TestApiKeys.Admin),
        });
        // Orchestrators probe /health and Prometheus scrapes /metrics without a credential.
        using var http = TestApiKeys.Client(new Uri($"http://127.0.0.1:{port}"), key: null);

        HttpStatusCode? health = null;
        for (var deadline = DateTime.UtcNow.AddSeconds(30); DateTime.UtcNow < deadline && health != HttpStatusCode.OK;)
        {
            try
            {
                health = (await http.GetAsync("/health")).StatusCode;
            }
            catch (HttpRequestException)
            {
                await Task.Delay(200);
            }
        }
        Assert.True(health == HttpStatusCode.OK, $"no healthy /health; stderr: {siyu.Stderr}\nstdout: {siyu.Stdout}");
        var metrics = await http.GetStringAsync("/metrics");
        Assert.Contains("siyu_ingest_in_flight", metrics);

        await siyu.StopGracefullyAsync(TimeSpan.FromSeconds(40));
        Assert.Contains("Ingest stopped: offsets committed, group left", siyu.Stdout);
        // Logs are structured JSON, one object per line.
        Assert.Contains(siyu.Stdout.Split('\n'), l => l.StartsWith('{') && l.Contains("\"Category\":\"Siyu.Ingest.IngestPipeline\""));
    }
}
