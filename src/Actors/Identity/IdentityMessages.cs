using Siyu.Actors.Customers;
using Siyu.Actors.Storage;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Identity;

/// <summary>The index key of one identifier value: a hash of "type:value" (phones are already keyed hashes).</summary>
public static class IdKeys
{
    public static IdHash Of(IdType type, string value) => IdHash.Of(type.WireName(), value);

    public static IdHash Of(LinkedId id) => Of(id.Type, id.Value);
}

/// <summary>Which identity shard owns a key.</summary>
public static class IdentityShards
{
    public static int Of(IdHash key, int shards) => (int)(key.Lo % (ulong)shards);
}

public enum IdOpKind : byte
{
    /// <summary>Who owns the key (null: nobody).</summary>
    Lookup,

    /// <summary>Make <see cref="IdOp.Owner"/> the owner unless the key has one; answers the owner after.</summary>
    Claim,

    /// <summary>After a merge: the key moves from <see cref="IdOp.Owner"/> to <see cref="IdOp.To"/>, unless a newer decision already moved it.</summary>
    Repoint,

    /// <summary>Erasure: forget the key if <see cref="IdOp.Owner"/> still owns it.</summary>
    Release,
}

public readonly record struct IdOp(IdOpKind Kind, IdHash Key, string? Owner = null, string? To = null);

/// <summary>Every message for an identity shard names it, so sharding can route it.</summary>
public interface IIdentityShardMessage
{
    int Shard { get; }
}

/// <summary>
/// Operations on the keys of one identity shard, applied in order. Answered with
/// <see cref="IdentityReply"/> (the owner of each op's key after it) once every change it made,
/// and every change it read, is durable: nobody relies on an owner that a crash could forget.
/// </summary>
public sealed record IdentityRequest(int Shard, IReadOnlyList<IdOp> Ops) : IIdentityShardMessage;

public sealed record IdentityReply(IReadOnlyList<string?> Owners);

/// <summary>Starts an identity shard that is not running; no answer.</summary>
public sealed record PokeIdentityShard(int Shard) : IIdentityShardMessage;

/// <summary>Sharding's hand-off stop message for an identity shard: pending writes finish first.</summary>
public sealed record StopIdentityShard
{
    public static readonly StopIdentityShard Instance = new();
}
