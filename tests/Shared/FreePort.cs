using System.Net;
using System.Net.Sockets;

namespace Siyu.Tests.Shared;

public static class FreePort
{
    /// <summary>A loopback port nobody listens on right now.</summary>
    public static int Next()
    {
        var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        var port = ((IPEndPoint)l.LocalEndpoint).Port;
        l.Stop();
        return port;
    }
}
