using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Customers;

/// <summary>
/// Stable 64-bit digests used instead of the id strings the state would otherwise carry
/// (an event id is 30-70 bytes as a .NET string, a digest 8). SHA-256 truncated to 64 bits:
/// stable across processes and versions (unlike string.GetHashCode), and with a few hundred
/// keys per customer the chance that two distinct ids collide is about 1e-15.
/// </summary>
public static class EventKeys
{
    /// <summary>event_id is unique per source (contract), so the channel is part of the key.</summary>
    public static ulong Event(Channel channel, string eventId) => Digest("event", channel.WireName(), eventId);

    /// <summary>order_id identifies an order across channels (a refund names only the order_id).</summary>
    public static ulong Order(string orderId) => Digest("order", "", orderId);

    private static ulong Digest(string kind, string scope, string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        // UTF-8 of kind, unit separator, scope, unit separator, value. The unit separator cannot
        // occur in a validated id, so the parts cannot run into each other. Encoded into a stack
        // (or pooled) buffer: this runs for every event, and the bytes are the same as encoding
        // the concatenated string (the separators and the first two parts are ASCII, so no
        // character straddles a boundary).
        var max = kind.Length + scope.Length + 2 + Encoding.UTF8.GetMaxByteCount(value.Length);
        byte[]? rented = null;
        Span<byte> buffer = max <= 512 ? stackalloc byte[512] : (rented = ArrayPool<byte>.Shared.Rent(max));
        try
        {
            var n = Encoding.UTF8.GetBytes(kind, buffer);
            buffer[n++] = 0x1f;
            n += Encoding.UTF8.GetBytes(scope, buffer[n..]);
            buffer[n++] = 0x1f;
            n += Encoding.UTF8.GetBytes(value, buffer[n..]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..n], hash);
            return BinaryPrimitives.ReadUInt64LittleEndian(hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}

/// <summary>
/// The bounded event-id dedup window.
///
/// Scheme: an applied input event is remembered as a 16-byte <see cref="SeenEvent"/> (digest of
/// channel + event_id, occurred_at). An entry is kept only while it is BOTH among the last
/// <see cref="CustomerRules.MaxSeenEvents"/> remembered (arrival order) AND no older than
/// <see cref="CustomerRules.SeenHorizon"/> before the newest remembered occurred_at; i.e.
/// whichever bound is smaller. Typical cost: a customer with 20 events a week holds ~20 entries
/// (~320 bytes + a 24-byte array header); the worst case is 512 x 16 = 8 KB for a customer with
/// more than 512 events inside 7 days.
///
/// Why that is sound even though the window forgets: the window is only the fast path.
/// Every effect is also idempotent on its own, so an event that has left the window (or a late
/// one that never entered it) still cannot count twice:
/// - orders are deduplicated by order_id (<see cref="CustomerState.RecentOrders"/>), and an
///   unknown order older than everything already dropped is refused (OrderRejected);
/// - refunds are deduplicated by their own key on the order they reverse;
/// - ids are a set; groups, contacts, tags and birthday are last-writer-wins on occurred_at.
/// Events that change nothing (page views, a second app_open) are not remembered at all, so
/// they cost nothing; a redelivery of one changes nothing again. An unmatched refund is not
/// remembered either, so that the caller can retry it after its grace period.
/// </summary>
public static class SeenWindow
{
    public static EquatableArray<SeenEvent> Add(EquatableArray<SeenEvent> seen, SeenEvent entry, CustomerRules rules)
    {
        var span = seen.AsSpan();
        var newest = entry.OccurredAtUtc;
        foreach (var s in span)
        {
            if (s.Key == entry.Key)
            {
                return seen;
            }
            if (s.OccurredAtUtc > newest)
            {
                newest = s.OccurredAtUtc;
            }
        }
        // The bounds of Prune applied to seen + entry, building only the array that is kept.
        var floor = newest - rules.SeenHorizon;
        var total = span.Length + 1;
        var from = Math.Max(0, total - rules.MaxSeenEvents);
        var kept = 0;
        for (var i = from; i < span.Length; i++)
        {
            if (span[i].OccurredAtUtc >= floor)
            {
                kept++;
            }
        }
        var keepEntry = entry.OccurredAtUtc >= floor;
        if (keepEntry)
        {
            kept++;
        }
        if (kept == 0)
        {
            return default;
        }
        var items = new SeenEvent[kept];
        var k = 0;
        for (var i = from; i < span.Length; i++)
        {
            if (span[i].OccurredAtUtc >= floor)
            {
                items[k++] = span[i];
            }
        }
        if (keepEntry)
        {
            items[k] = entry;
        }
        return EquatableArray.Own(items);
    }

    /// <summary>Keeps the entries in both bounds; <paramref name="items"/> is in arrival order and is owned by the callee.</summary>
    internal static EquatableArray<SeenEvent> Prune(SeenEvent[] items, CustomerRules rules)
    {
        if (items.Length == 0)
        {
            return default;
        }
        var newest = items[0].OccurredAtUtc;
        foreach (var s in items)
        {
            if (s.OccurredAtUtc > newest)
            {
                newest = s.OccurredAtUtc;
            }
        }
        var floor = newest - rules.SeenHorizon;
        var from = Math.Max(0, items.Length - rules.MaxSeenEvents);
        var kept = 0;
        for (var i = from; i < items.Length; i++)
        {
            if (items[i].OccurredAtUtc >= floor)
            {
                kept++;
            }
        }
        if (kept == items.Length)
        {
            return EquatableArray.Own(items);
        }
        var result = new SeenEvent[kept];
        var k = 0;
        for (var i = from; i < items.Length; i++)
        {
            if (items[i].OccurredAtUtc >= floor)
            {
                result[k++] = items[i];
            }
        }
        return EquatableArray.Own(result);
    }
}
