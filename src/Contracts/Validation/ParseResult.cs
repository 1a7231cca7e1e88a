using System.Diagnostics.CodeAnalysis;
using Siyu.Contracts.Events;

namespace Siyu.Contracts.Validation;

/// <summary>Either a valid event or the reason it was rejected (a <see cref="RejectReason"/> code).</summary>
public readonly record struct ParseResult
{
    public InputEvent? Event { get; }
    public string? Reason { get; }
    public string? Error { get; }

    private ParseResult(InputEvent? evt, string? reason, string? error)
    {
        Event = evt;
        Reason = reason;
        Error = error;
    }

    [MemberNotNullWhen(true, nameof(Event))]
    [MemberNotNullWhen(false, nameof(Reason), nameof(Error))]
    public bool IsValid => Event is not null;

    public static ParseResult Valid(InputEvent evt) => new(evt, null, null);
    public static ParseResult Invalid(string reason, string error) => new(null, reason, error);
}
