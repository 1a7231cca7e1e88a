using System.Collections.Frozen;
using PhoneNumbers;
using Siyu.Contracts.Events;

namespace Siyu.Contracts.Identity;

/// <summary>Why an id value given to Siyu is not used (wire names in dead letters, metrics and API errors).</summary>
public static class IdValueRefusal
{
    /// <summary>What tills send for "no value": "N/A", "-", "null", "0", "00000000000", "散客"...</summary>
    public const string BlockedValue = "blocked_value";

    /// <summary>A phone that libphonenumber does not take for a valid number (default region for numbers without a country code).</summary>
    public const string InvalidPhone = "invalid_phone";
}

/// <summary>An id of an event that was dropped at the boundary. <see cref="Value"/> is null for a phone (never repeated).</summary>
public readonly record struct RefusedIdValue(IdType Type, string Reason, string? Value)
{
    /// <summary>For an integrator: "ids.phone is not a possible phone number".</summary>
    public string Describe() => Reason == IdValueRefusal.InvalidPhone
        ? $"ids.{Type.WireName()} is not a valid phone number"
        : $"ids.{Type.WireName()} '{Value}' is a placeholder, not an id";
}

/// <summary>The id's usable form, or why it is refused.</summary>
public readonly record struct IdValueCheck(string? Value, RefusedIdValue? Refused)
{
    public bool IsUsable => Value is not null;
}

/// <summary>
/// The rules an id value must pass before it may link anyone, applied where values enter
/// Siyu (the event parser and the lookup API), before a phone is hashed: a junk value that got
/// through would link every customer who was given it (issue #15: "N/A" and "-" once merged two
/// members). Every id type: after trimming and case folding (full-width forms folded too), a
/// blocked value, a value of one repeated character ("0000", "11111111111", "xxx"), one made
/// only of punctuation ("-", "--", "/"), an all-zero device id with dashes, or a run of
/// ascending digits ("123456") is refused. Phones are then parsed with libphonenumber in the
/// default region and must be valid numbers; they come out canonical (the national
/// number for the default region's country, else country code and national number, digits only),
/// so "+86 138-0000-0000", "8613800000000" and "13800000000" hash alike.
/// </summary>
public sealed class IdValues
{
    /// <summary>
    /// Placeholders seen from POS systems, mini-programs and CRMs; compared after trimming and
    /// case folding. Configurable additions come from <c>Identity:BlockedValues</c>.
    /// </summary>
    public static IReadOnlyList<string> DefaultBlockedValues { get; } =
    [
        "n/a", "na", "n.a.", "none", "null", "nil", "nan", "undefined", "unknown", "anonymous", "anon",
        "guest", "visitor", "walkin", "walk-in", "test", "default", "empty", "blank", "missing", "no", "false",
        "0", "-1", "x", "?", "00000000000", "(null)", "<null>", "[null]", "{}", "[]", "not available", "no phone",
        // Chinese tills: none, not yet, unknown, anonymous, walk-in, visitor, empty.
        "无", "暂无", "未知", "匿名", "散客", "游客", "空", "没有", "不详",
    ];

    private readonly FrozenSet<string> _blocked;
    private readonly PhoneNumberUtil _phones = PhoneNumberUtil.GetInstance();
    private readonly int _defaultCountryCode;

    public string DefaultRegion { get; }

    /// <param name="defaultRegion">ISO 3166 region of numbers written without a country code (CN).</param>
    /// <param name="moreBlockedValues">Values refused beyond <see cref="DefaultBlockedValues"/>.</param>
    public IdValues(string defaultRegion = "CN", IEnumerable<string>? moreBlockedValues = null)
    {
        DefaultRegion = defaultRegion.ToUpperInvariant();
        _defaultCountryCode = _phones.GetCountryCodeForRegion(DefaultRegion);
        if (_defaultCountryCode == 0)
        {
            throw new ArgumentException($"'{defaultRegion}' is not a region libphonenumber knows (an ISO 3166 code such as CN)", nameof(defaultRegion));
        }
        _blocked = DefaultBlockedValues.Concat(moreBlockedValues ?? []).Select(Fold).Where(v => v.Length > 0)
            .ToFrozenSet(StringComparer.Ordinal);
    }

    /// <summary>Whether <paramref name="region"/> is a region code libphonenumber knows (for settings validation).</summary>
    public static bool IsKnownRegion(string region) =>
        PhoneNumberUtil.GetInstance().GetSupportedRegions().Contains(region.ToUpperInvariant());

    /// <summary>The usable form of one id value (trimmed; a phone canonical), or why it is refused.</summary>
    public IdValueCheck Check(IdType type, string raw)
    {
        ArgumentNullException.ThrowIfNull(raw);
        var value = raw.Trim();
        if (IsJunk(value))
        {
            return new(null, new RefusedIdValue(type, IdValueRefusal.BlockedValue, Shorten(value)));
        }
        if (type != IdType.Phone || Privacy.PhoneHasher.IsHash(value))
        {
            return new(value, null); // a phone hashed already stays as it is (PhoneHasher.Hash is idempotent too)
        }
        var phone = CanonicalPhone(value);
        return phone is null || IsJunk(phone)
            ? new(null, new RefusedIdValue(type, IdValueRefusal.InvalidPhone, null))
            : new(phone, null);
    }

    /// <summary>The event's ids with every refused one removed, and the refusals.</summary>
    public (CustomerIds Ids, IReadOnlyList<RefusedIdValue> Refused) Clean(CustomerIds ids)
    {
        ArgumentNullException.ThrowIfNull(ids);
        List<RefusedIdValue>? refused = null;
        var result = ids;
        foreach (var (type, value) in ids.All())
        {
            var check = Check(type, value);
            if (check.Refused is { } r)
            {
                (refused ??= []).Add(r);
            }
            if (check.Value != value)
            {
                result = result.With(type, check.Value);
            }
        }
        return (result, refused ?? (IReadOnlyList<RefusedIdValue>)[]);
    }

    /// <summary>A blocked placeholder or a value with a junk shape (see the class summary). Never true for a real id.</summary>
    public bool IsJunk(string value)
    {
        var trimmed = value.AsSpan().Trim();
        if (trimmed.IsEmpty)
        {
            return true;
        }
        var folded = Fold(trimmed.ToString());
        return _blocked.Contains(folded) || HasJunkShape(folded);
    }

    private static bool HasJunkShape(string v)
    {
        var letterOrDigit = false;
        var first = '\0';
        var oneChar = true;
        var ascending = v.Length >= 5;
        var zeroOrDash = true;
        for (var i = 0; i < v.Length; i++)
        {
            var c = v[i];
            letterOrDigit |= char.IsLetterOrDigit(c);
            if (c is '-' or '_' or '.' or ' ')
            {
                ascending = false;
                continue; // separators do not make "0000-0000" or "1 1 1" an id
            }
            zeroOrDash &= c == '0';
            if (first == '\0')
            {
                first = c;
            }
            else
            {
                oneChar &= c == first;
            }
            ascending &= char.IsAsciiDigit(c) && (i == 0 || (v[i - 1] - '0' + 1) % 10 == c - '0');
        }
        return !letterOrDigit   // "-", "--", "/", "***", "？"
            || oneChar          // "0", "0000", "11111111111", "xxx", "a"
            || zeroOrDash       // "00000000-0000-0000-0000-000000000000" (an advertising id switched off)
            || ascending;       // "12345", "1234567890", "12345678901"
    }

    /// <summary>
    /// Case folding for comparison: full-width forms, which Chinese input methods type
    /// ("ｎｕｌｌ", "Ｎ／Ａ", the ideographic space), become ASCII first, then lower case. (Not
    /// string.Normalize: with invariant globalization it leaves full-width forms as they are.)
    /// </summary>
    private static string Fold(string value)
    {
        var wide = false;
        foreach (var c in value)
        {
            if (c is (>= '\uFF01' and <= '\uFF5E') or '\u3000')
            {
                wide = true;
                break;
            }
        }
        if (wide)
        {
            value = string.Create(value.Length, value, static (span, v) =>
            {
                for (var i = 0; i < v.Length; i++)
                {
                    var c = v[i];
                    span[i] = c is >= '\uFF01' and <= '\uFF5E' ? (char)(c - 0xFEE0) : c == '\u3000' ? ' ' : c;
                }
            });
        }
        return value.Trim().ToLowerInvariant();
    }

    /// <summary>Digits only; null when not a valid number (a truncated mobile, a 5-digit service number, a made-up range).</summary>
    private string? CanonicalPhone(string value)
    {
        PhoneNumber number;
        try
        {
            number = _phones.Parse(value, DefaultRegion);
        }
        catch (NumberParseException)
        {
            return null;
        }
        // Valid, not merely possible: "1380000" (a mobile cut short) is a possible Chinese number
        // by length, and two cashiers' identical typo would link two strangers through it.
        if (!_phones.IsValidNumber(number))
        {
            return null;
        }
        var national = _phones.GetNationalSignificantNumber(number);
        return number.CountryCode == _defaultCountryCode
            ? national
            : number.CountryCode.ToString(System.Globalization.CultureInfo.InvariantCulture) + national;
    }

    private static string Shorten(string s) => s.Length <= 40 ? s : s[..40] + "…";
}
