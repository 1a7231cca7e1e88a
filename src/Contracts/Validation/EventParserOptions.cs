using Siyu.Contracts.Identity;

namespace Siyu.Contracts.Validation;

public sealed record EventParserOptions
{
    /// <summary>Larger payloads are dead-lettered unread: an event is a few hundred bytes.</summary>
    public int MaxPayloadBytes { get; init; } = 256 * 1024;

    /// <summary>How far in the future occurred_at may be (clock skew of tills and phones).</summary>
    public TimeSpan MaxFutureSkew { get; init; } = TimeSpan.FromDays(1);

    /// <summary>Events before this are absurd for this business (no till runs on 1970 dates).</summary>
    public DateTimeOffset MinOccurredAt { get; init; } = new(2000, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public int MaxIdLength { get; init; } = 128;

    /// <summary>Which id values may link anyone (blocked placeholders, phone rules and region).</summary>
    public IdValues IdValues { get; init; } = DefaultIdValues.Value;

    private static readonly Lazy<IdValues> DefaultIdValues = new(() => new IdValues());
    public int MaxEventIdLength { get; init; } = 200;

    /// <summary>An order above this is a typo or an attack, not a fruit basket.</summary>
    public decimal MaxAmount { get; init; } = 10_000_000m;

    public int MaxItems { get; init; } = 1000;
}
