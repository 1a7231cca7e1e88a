using System.Net;
using System.Net.Sockets;

namespace Siyu.Kafka;

/// <summary>
/// Loopback port forwarder. The mock broker always binds a kernel-chosen port, so a fixed port is
/// a listener here that pipes bytes to it, with the broker advertising this port in metadata.
/// </summary>
internal sealed class TcpForwarder : IDisposable
{
    readonly TcpListener _listener;
    readonly int _targetPort;
    readonly CancellationTokenSource _stop = new();
    readonly List<Socket> _open = [];

    public TcpForwarder(int listenPort, int targetPort)
    {
        _targetPort = targetPort;
        _listener = new TcpListener(IPAddress.Loopback, listenPort);
        _listener.Start(); // throws SocketException (AddressAlreadyInUse) if taken
        _ = AcceptLoop();
    }

    async Task AcceptLoop()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket client;
            try { client = await _listener.AcceptSocketAsync(_stop.Token); }
            catch (Exception) { return; } // stopped
            _ = Pipe(client);
        }
    }

    async Task Pipe(Socket client)
    {
        var broker = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        // Kafka is request/response with small frames: Nagle plus delayed ACK would add ~40 ms stalls.
        client.NoDelay = broker.NoDelay = true;
        lock (_open) { _open.Add(client); _open.Add(broker); }
        try
        {
            await broker.ConnectAsync(IPAddress.Loopback, _targetPort, _stop.Token);
            using var a = new NetworkStream(client, ownsSocket: false);
            using var b = new NetworkStream(broker, ownsSocket: false);
            // Either side closing ends the pair; the client then reconnects like to a real broker.
            await Task.WhenAny(a.CopyToAsync(b, _stop.Token), b.CopyToAsync(a, _stop.Token));
        }
        catch (Exception) { /* connection reset or shutdown: just close both */ }
        finally
        {
            lock (_open) { _open.Remove(client); _open.Remove(broker); }
            client.Dispose();
            broker.Dispose();
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _listener.Stop();
        lock (_open) foreach (var s in _open) s.Dispose();
        // _stop is deliberately not disposed: pipes still unwinding may read its token.
    }
}
