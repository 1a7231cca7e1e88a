using Siyu.Tests.Shared;

namespace Siyu.Host.Tests;

public sealed class DemoCommandTests
{
    /// <summary>
    /// The README's main command, small: a simulated day of two stores through the embedded stack.
    /// It exits 0 only if every message sent was accepted or dead-lettered, each broken one for the
    /// reason the simulator broke it for.
    /// </summary>
    [Fact]
    public async Task Siyu_demo_plays_a_simulated_day_and_accounts_for_every_message()
    {
        var port = FreePort.Next();
        var (exit, stdout, stderr) = await SiyuProcess.RunAsync(
            ["demo", "--duration", "15", "--rate", "80", "--stores", "2"],
            new Dictionary<string, string> { ["SIYU_Api__Urls"] = $"http://127.0.0.1:{port}" },
            timeoutSeconds: 180);
        Assert.True(exit == 0, $"exit {exit}\n{stdout[Math.Max(0, stdout.Length - 3000)..]}\n{stderr[Math.Max(0, stderr.Length - 3000)..]}");
        Assert.Contains("messages accounted for", stdout);
        Assert.Contains($"curl 'http://127.0.0.1:{port}/v1/customers/lookup?member_id=M", stdout);
        Assert.Contains("sales by attribution rule", stdout);
        Assert.Contains("profile changes, by kind", stdout);
    }
}
