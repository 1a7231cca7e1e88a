using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Storage;

/// <summary>
/// Key of an identifier in the id index: the first 16 bytes of SHA-256(UTF-8 "type:value"), e.g.
/// "member_id:M1" (phones arrive already as "h1:..." keyed hashes). No plain id value reaches the
/// database, so an erased customer's ids leave nothing readable behind.
///
/// Deliberately the same hash whose first 40 hex digits the old per-id IdentityEntity used as its
/// persistence id ("id-" + hex): <see cref="ToString"/> is a prefix of that hex, and
/// <see cref="ParseHex"/> reads such an id, so the old Akka journal can be migrated.
/// 128 bits: a collision among even 10^9 ids has odds of about 10^-21.
/// </summary>
public readonly record struct IdHash(ulong Hi, ulong Lo)
{
    public const int Size = 16;

    /// <summary>The key of <paramref name="value"/> as an id of type <paramref name="typeWireName"/> (e.g. "member_id").</summary>
    public static IdHash Of(string typeWireName, string value)
    {
        ArgumentNullException.ThrowIfNull(typeWireName);
        ArgumentNullException.ThrowIfNull(value);
        var length = Encoding.UTF8.GetByteCount(typeWireName) + 1 + Encoding.UTF8.GetByteCount(value);
        byte[]? rented = null;
        var text = length <= 512 ? stackalloc byte[length] : (rented = ArrayPool<byte>.Shared.Rent(length)).AsSpan(0, length);
        try
        {
            var n = Encoding.UTF8.GetBytes(typeWireName, text);
            text[n++] = (byte)':';
            Encoding.UTF8.GetBytes(value, text[n..]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(text, hash);
            return FromBytes(hash);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>The key of <paramref name="value"/> as an id of <paramref name="type"/>.</summary>
    public static IdHash Of(IdType type, string value) => Of(type.WireName(), value);

    /// <summary>The key whose bytes start <paramref name="bytes"/> (at least 16 bytes; the rest is ignored).</summary>
    public static IdHash FromBytes(ReadOnlySpan<byte> bytes) =>
        bytes.Length < Size
            ? throw new ArgumentException($"an id hash has {Size} bytes, got {bytes.Length}", nameof(bytes))
            : new(BinaryPrimitives.ReadUInt64BigEndian(bytes), BinaryPrimitives.ReadUInt64BigEndian(bytes[8..]));

    /// <summary>
    /// The key whose hex digits start <paramref name="hex"/> (at least 32 digits; e.g. an old
    /// IdentityEntity persistence id without its "id-" prefix, 40 digits).
    /// </summary>
    public static IdHash ParseHex(ReadOnlySpan<char> hex) =>
        hex.Length < 2 * Size
            ? throw new FormatException($"an id hash has {2 * Size} hex digits, got {hex.Length}")
            : new(ulong.Parse(hex[..16], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                  ulong.Parse(hex[16..32], NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture));

    /// <summary>The 16 bytes, big-endian (the order of the SHA-256 output), as stored in <c>siyu_ids.id_hash</c>.</summary>
    public void WriteTo(Span<byte> destination)
    {
        BinaryPrimitives.WriteUInt64BigEndian(destination, Hi);
        BinaryPrimitives.WriteUInt64BigEndian(destination[8..], Lo);
    }

    public byte[] ToArray()
    {
        var bytes = new byte[Size];
        WriteTo(bytes);
        return bytes;
    }

    /// <summary>32 lower-case hex digits.</summary>
    public override string ToString() => $"{Hi:x16}{Lo:x16}";
}
