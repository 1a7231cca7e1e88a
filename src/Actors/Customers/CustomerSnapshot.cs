using System.Text.Json;

namespace Siyu.Actors.Customers;

/// <summary>
/// The snapshot the actor persists: the whole <see cref="CustomerState"/> as JSON in a
/// versioned envelope ({"format":1,"state":{...}}). Deserialize(Serialize(s)) equals s.
/// </summary>
public static class CustomerSnapshot
{
    public const int CurrentFormat = 1;

    public static byte[] Serialize(CustomerState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        return JsonSerializer.SerializeToUtf8Bytes(new Envelope(CurrentFormat, state), CustomerJsonContext.Default.Envelope);
    }

    public static CustomerState Deserialize(ReadOnlySpan<byte> bytes)
    {
        var envelope = JsonSerializer.Deserialize(bytes, CustomerJsonContext.Default.Envelope)
            ?? throw new JsonException("a customer snapshot cannot be null");
        if (envelope.Format != CurrentFormat)
        {
            throw new JsonException($"customer snapshot format {envelope.Format} is not supported (expected {CurrentFormat})");
        }
        var state = envelope.State ?? throw new JsonException("a customer snapshot has no state");
        // Every id and attribution was read as its own instance: share equal ones again.
        return StateCompaction.Compact(state);
    }

    internal sealed record Envelope(int Format, CustomerState State);
}
