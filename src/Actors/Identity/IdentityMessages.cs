using Siyu.Contracts.Events;

namespace Siyu.Actors.Identity;

/// <summary>The index key of one identifier value, e.g. "member_id:M10001" (phones are already hashed).</summary>
public static class IdKey
{
    public static string Of(IdType type, string value) => $"{type.WireName()}:{value}";
}

// Commands
/// <summary>Make <paramref name="ProposedOwner"/> the owner of the id unless it already has one; answers <see cref="IdOwner"/>.</summary>
public sealed record ClaimId(string Key, string ProposedOwner) : IIdentityMessage;

/// <summary>After a merge: ids owned by <paramref name="From"/> now belong to <paramref name="To"/>.</summary>
public sealed record RepointId(string Key, string From, string To) : IIdentityMessage;

/// <summary>Erasure: forget the id if <paramref name="Owner"/> still owns it; answers <see cref="IdReleased"/>.</summary>
public sealed record ReleaseId(string Key, string Owner) : IIdentityMessage;

// Queries
/// <summary>Who owns the id, without claiming it; answers <see cref="IdOwner"/> (Owner null when unknown).</summary>
public sealed record LookupId(string Key) : IIdentityMessage;

// Replies
public sealed record IdOwner(string Key, string? Owner);

public sealed record IdReleased(string Key);

// Persisted events of the index entity
public sealed record IdOwnerSet(string Owner);

public sealed record IdOwnerCleared;

/// <summary>Every message for an identity entity names its key, so sharding can route it.</summary>
public interface IIdentityMessage
{
    string Key { get; }
}
