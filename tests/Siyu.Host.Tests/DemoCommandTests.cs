using System.Net;
using System.Net.Sockets;
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
        // The demo makes an API key for the run and puts it in its curl lines.
        Assert.Matches($@"curl -H 'X-Api-Key: sk_[A-Za-z0-9_-]{{43}}' 'http://127.0.0.1:{port}/v1/customers/lookup\?member_id=M", stdout);
        Assert.Contains($"http://127.0.0.1:{port}/v1/sales/summary?by=group&from=", stdout);
        Assert.Contains("sales by attribution rule", stdout);
        Assert.Contains("profile changes, by kind", stdout);
    }

    /// <summary>Issue 16.5: a new user whose port 8080 is taken still gets the demo with one command.</summary>
    [Fact]
    public async Task Siyu_demo_picks_a_free_port_and_prints_it_when_the_default_port_is_taken()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 8080);
        try
        {
            holder.Start();
        }
        catch (SocketException)
        {
            // Someone else holds 8080 already: taken either way.
        }
        var (exit, stdout, stderr) = await SiyuProcess.RunAsync(["demo", "--duration", "15", "--rate", "80", "--stores", "2"], timeoutSeconds: 180);
        Assert.True(exit == 0, $"exit {exit}\n{stdout[Math.Max(0, stdout.Length - 3000)..]}\n{stderr[Math.Max(0, stderr.Length - 3000)..]}");
        var note = stdout.Split('\n').FirstOrDefault(l => l.Contains("port 8080 is taken; the API listens on http://127.0.0.1:", StringComparison.Ordinal));
        Assert.True(note is not null, stdout[..Math.Min(3000, stdout.Length)]);
        var port = int.Parse(note.Split("http://127.0.0.1:")[1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);
        Assert.NotEqual(8080, port);
        Assert.Matches($@"curl -H 'X-Api-Key: sk_[A-Za-z0-9_-]{{43}}' 'http://127.0.0.1:{port}/v1/customers/lookup\?member_id=M", stdout);
        Assert.Contains("messages accounted for", stdout);
    }

    [Fact]
    public async Task Siyu_demo_port_that_is_taken_stops_with_exit_2_naming_it()
    {
        using var holder = new TcpListener(IPAddress.Loopback, 0);
        holder.Start();
        var port = ((IPEndPoint)holder.LocalEndpoint).Port;
        var (exit, _, stderr) = await SiyuProcess.RunAsync(["demo", "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture), "--duration", "5"], timeoutSeconds: 60);
        Assert.Equal(2, exit);
        Assert.Contains($"Api:Urls http://127.0.0.1:{port}: port {port} is already in use", stderr);
        Assert.DoesNotContain("   at ", stderr);
    }
}
