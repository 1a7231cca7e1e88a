using System.Diagnostics.CodeAnalysis;
using Siyu.Contracts.Events;
using Siyu.Contracts.Identity;

namespace Siyu.Contracts.Validation;

/// <summary>Either a valid event or the reason it was rejected (a <see cref="RejectReason"/> code).</summary>
public readonly record struct ParseResult
{
    public InputEvent? Event { get; }
    public string? Reason { get; }
    public string? Error { get; }

    /// <summary>Ids of a valid event that were dropped (placeholders, impossible phones); the event keeps the rest.</summary>
    public IReadOnlyList<RefusedIdValue> RefusedIds => _refused ?? [];

    private readonly IReadOnlyList<RefusedIdValue>? _refused;

    private ParseResult(InputEvent? evt, string? reason, string? error, IReadOnlyList<RefusedIdValue>? refused = null)
    {
        Event = evt;
        Reason = reason;
        Error = error;
        _refused = refused;
    }

    [MemberNotNullWhen(true, nameof(Event))]
    [MemberNotNullWhen(false, nameof(Reason), nameof(Error))]
    public bool IsValid => Event is not null;

    public static ParseResult Valid(InputEvent evt, IReadOnlyList<RefusedIdValue>? refused = null) =>
        new(evt, null, null, refused is { Count: > 0 } ? refused : null);
    public static ParseResult Invalid(string reason, string error) => new(null, reason, error);
}
