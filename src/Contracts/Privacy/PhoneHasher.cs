using System.Security.Cryptography;
using System.Text;

namespace Siyu.Contracts.Privacy;

/// <summary>
/// Phone numbers are personal data (PIPL): Siyu keeps only HMAC-SHA256(key, normalized phone).
/// Ingest hashes the phone before anything else sees the event, so no actor, journal, topic
/// or table downstream ever holds the raw number; a lookup by raw phone hashes it the same way.
/// </summary>
public sealed class PhoneHasher
{
    public const string Prefix = "h1:";
    private readonly byte[] _key;

    public PhoneHasher(string key)
    {
        if (string.IsNullOrWhiteSpace(key) || Encoding.UTF8.GetByteCount(key) < 16)
        {
            throw new ArgumentException("the phone hash key must be at least 16 bytes", nameof(key));
        }
        _key = Encoding.UTF8.GetBytes(key);
    }

    /// <summary>Hashes a raw phone; a value that is already a hash is returned unchanged (idempotent on redelivery).</summary>
    public string Hash(string phone)
    {
        if (IsHash(phone))
        {
            return phone;
        }
        var normalized = Normalize(phone);
        Span<byte> mac = stackalloc byte[32];
        HMACSHA256.HashData(_key, Encoding.UTF8.GetBytes(normalized), mac);
        return Prefix + Convert.ToHexStringLower(mac);
    }

    public static bool IsHash(string value) => value.StartsWith(Prefix, StringComparison.Ordinal) && value.Length == Prefix.Length + 64;

    /// <summary>"+86 138-0000-0000", "8613800000000" and "13800000000" are one number.</summary>
    public static string Normalize(string phone)
    {
        var digits = new StringBuilder(phone.Length);
        foreach (var ch in phone)
        {
            if (char.IsAsciiDigit(ch))
            {
                digits.Append(ch);
            }
        }
        var d = digits.ToString();
        return d.Length == 13 && d.StartsWith("86", StringComparison.Ordinal) ? d[2..] : d;
    }
}
