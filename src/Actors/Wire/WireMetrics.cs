using System.Collections.Frozen;
using Prometheus;

namespace Siyu.Actors.Wire;

/// <summary>
/// What crossed nodes in Siyu's wire formats, per manifest: Akka calls the serializer only for a
/// message that leaves or reaches this node over remoting, so these count the cluster's own traffic
/// (and show a message type that never does: a sharded workload that stays local). The two-node
/// test reads them to prove cross-node traffic goes through <see cref="SiyuSerializer"/>.
/// </summary>
internal static class WireMetrics
{
    private static readonly Counter Messages = Metrics.CreateCounter(
        "siyu_wire_messages_total", "Siyu messages sent to or received from another node, by wire manifest and direction (sent, received).",
        "manifest", "direction");

    private static readonly Counter Bytes = Metrics.CreateCounter(
        "siyu_wire_bytes_total", "Bytes of Siyu messages sent to or received from another node (the serialized message, without remoting's envelope), by wire manifest and direction.",
        "manifest", "direction");

    private sealed record Children(Counter.Child Messages, Counter.Child Bytes);

    // Resolved once per manifest: a labelled counter's lookup per message would cost more than the count.
    private static readonly FrozenDictionary<string, (Children Sent, Children Received)> ByManifest =
        SiyuSerializer.Manifests.Values.ToFrozenDictionary(m => m, m => (Of(m, "sent"), Of(m, "received")), StringComparer.Ordinal);

    private static Children Of(string manifest, string direction) =>
        new(Messages.WithLabels(manifest, direction), Bytes.WithLabels(manifest, direction));

    public static void Sent(string manifest, int bytes) => Count(manifest, bytes, received: false);

    public static void Received(string manifest, int bytes) => Count(manifest, bytes, received: true);

    private static void Count(string manifest, int bytes, bool received)
    {
        if (ByManifest.TryGetValue(manifest, out var children))
        {
            var c = received ? children.Received : children.Sent;
            c.Messages.Inc();
            c.Bytes.Inc(bytes);
        }
    }
}
