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
        // The unit separator cannot occur in a validated id, so the parts cannot run into each other.
        var bytes = Encoding.UTF8.GetBytes(string.Concat(kind, "\u001f", scope, "\u001f", value));
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return BinaryPrimitives.ReadUInt64LittleEndian(hash);
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
        foreach (var s in seen.AsSpan())
        {
            if (s.Key == entry.Key)
            {
                return seen;
            }
        }
        var items = new SeenEvent[seen.Count + 1];
        seen.AsSpan().CopyTo(items);
        items[^1] = entry;
        return Prune(items, rules);
    }

    /// <summary>Keeps the entries in both bounds; <paramref name="items"/> is in arrival order and is owned by the callee.</summary>
    internal static EquatableArray<SeenEvent> Prune(SeenEvent[] items, CustomerRules rules)
    {
        if (items.Length == 0)
        {
            return default;
        }
        var newest = items.Max(s => s.OccurredAtUtc);
        var floor = newest - rules.SeenHorizon;
        var kept = new List<SeenEvent>(Math.Min(items.Length, rules.MaxSeenEvents));
        for (var i = Math.Max(0, items.Length - rules.MaxSeenEvents); i < items.Length; i++)
        {
            if (items[i].OccurredAtUtc >= floor)
            {
                kept.Add(items[i]);
            }
        }
        return kept.Count == items.Length ? EquatableArray.Own(items) : EquatableArray.Own(kept.ToArray());
    }
}
