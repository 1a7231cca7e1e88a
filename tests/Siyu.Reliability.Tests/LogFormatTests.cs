using System.Net;
using System.Text;
using System.Text.Json;
using Confluent.Kafka;
using Siyu.Reliability.Tests.Support;
using Xunit.Abstractions;

namespace Siyu.Reliability.Tests;

/// <summary>
/// Issue 16.2 and 16.11: what `siyu run` writes is one JSON object per line from the first line to
/// the last, with UTC ISO 8601 timestamps, and Akka's events structured; a fresh data directory
/// and a probe polling /health while the node starts log nothing untrue or alarming.
/// </summary>
public sealed class LogFormatTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Every_line_of_a_start_some_traffic_and_a_sigterm_is_a_json_object_with_a_utc_timestamp()
    {
        using var work = new WorkDirectory("siyu-logs-", output);
        using var kafka = new TestKafka(partitions: 2);
        var set = EventSet.Generate(seed: 16, customers: 20, prefix: "logs");
        await kafka.SendCampaignsAsync(set);
        var env = NodeProcess.Env(kafka.Bootstrap, work.Path);
        env["SIYU_Logging__LogLevel__Default"] = "Information";
        env["SIYU_Logging__LogLevel__Akka"] = "Information";
        // A zone far from UTC: a timestamp written in local time with a 'Z' shows up as hours off.
        env["TZ"] = "Asia/Shanghai";

        var started = DateTimeOffset.UtcNow;
        using var node = new NodeProcess(env);
        // A probe asks /health from the first moment on, as a container orchestrator does.
        var probes = new List<HttpStatusCode>();
        string? notReady = null;
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline && !node.Process.HasExited)
        {
            try
            {
                using var response = await node.Http.GetAsync("/health");
                var status = response.StatusCode;
                probes.Add(status);
                if (status == HttpStatusCode.OK)
                {
                    break;
                }
                notReady ??= status + " " + await response.Content.ReadAsStringAsync();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
            }
            await Task.Delay(20);
        }
        Assert.True(probes.LastOrDefault() == HttpStatusCode.OK, "never healthy\n" + node.Process.Tail());
        // An answer before the node was up (usually most of them; none when the port opened only
        // once everything was ready) is a 503 that says why it is not ready yet.
        if (notReady is not null)
        {
            output.WriteLine("first answer before ready: " + notReady);
            Assert.StartsWith("ServiceUnavailable ", notReady);
            var unready = JsonDocument.Parse(notReady["ServiceUnavailable ".Length..]).RootElement;
            Assert.Equal("Unhealthy", unready.GetProperty("status").GetString());
            Assert.Contains(unready.GetProperty("checks").EnumerateObject(),
                c => c.Value.GetProperty("status").GetString() == "Unhealthy" && c.Value.GetProperty("description").GetString() is { Length: > 0 });
        }
        foreach (var e in set.Events.Take(60))
        {
            await kafka.SendAsync(e);
        }
        // One the parser refuses: a warning-free dead letter, still a logged line or not, but traffic.
        await kafka.Producer.ProduceAsync(kafka.Topics.Prefix + "pos", new Message<byte[]?, byte[]> { Value = "{not json"u8.ToArray() });
        await node.WaitHandledAsync(61);
        await node.Process.StopGracefullyAsync(TimeSpan.FromSeconds(60));
        var finished = DateTimeOffset.UtcNow;

        var lines = node.Process.Stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => l.TrimEnd('\r')).ToList();
        output.WriteLine($"{lines.Count} lines on stdout, {probes.Count} health probes ({probes.Count(p => p != HttpStatusCode.OK)} not OK)");
        Assert.True(lines.Count > 20, node.Process.Tail());
        Assert.True(node.Process.Stderr.Trim().Length == 0, "stderr is not empty:\n" + node.Process.Stderr);
        var akkaStructured = 0;
        foreach (var line in lines)
        {
            JsonElement entry;
            try
            {
                entry = JsonDocument.Parse(line).RootElement.Clone();
            }
            catch (JsonException e)
            {
                Assert.Fail($"not a JSON object: {line}\n({e.Message})");
                return;
            }
            Assert.Equal(JsonValueKind.Object, entry.ValueKind);
            var timestamp = entry.GetProperty("Timestamp").GetString()!;
            Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", timestamp);
            var at = DateTimeOffset.Parse(timestamp, System.Globalization.CultureInfo.InvariantCulture);
            Assert.InRange(at, started.AddSeconds(-5), finished.AddSeconds(5));
            var level = entry.GetProperty("LogLevel").GetString();
            Assert.True(level is not ("Error" or "Critical"), "an error was logged: " + line);
            var category = entry.GetProperty("Category").GetString()!;
            if (category.StartsWith("Akka.", StringComparison.Ordinal))
            {
                var message = entry.GetProperty("Message").GetString()!;
                Assert.False(message.StartsWith('['), "Akka message still pre-formatted: " + line);
                Assert.True(entry.GetProperty("State").TryGetProperty("{OriginalFormat}", out _), "Akka line without its template: " + line);
                akkaStructured++;
            }
        }
        Assert.True(akkaStructured >= 5, $"only {akkaStructured} Akka lines");
        // A first start on an empty data directory is not an unclean stop.
        Assert.DoesNotContain(lines, l => l.Contains("unclean stop", StringComparison.Ordinal));
        // The last line is the end of the shutdown, not something cut off.
        Assert.Contains(lines, l => l.Contains("Ingest stopped: offsets committed", StringComparison.Ordinal));
        work.Passed = true;
    }
}
