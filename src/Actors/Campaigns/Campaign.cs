using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Siyu.Actors.Customers;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Campaigns;

/// <summary>The contract's campaign types (wire names flash_sale, solitaire, coupon_day).</summary>
public enum CampaignType : byte
{
    [JsonStringEnumMemberName("flash_sale")]
    FlashSale,

    [JsonStringEnumMemberName("solitaire")]
    Solitaire,

    [JsonStringEnumMemberName("coupon_day")]
    CouponDay,
}

public static class CampaignTypes
{
    public static string WireName(this CampaignType type) => type switch
    {
        CampaignType.FlashSale => "flash_sale",
        CampaignType.Solitaire => "solitaire",
        CampaignType.CouponDay => "coupon_day",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    public static bool TryParse(string? wireName, out CampaignType type)
    {
        foreach (var t in Enum.GetValues<CampaignType>())
        {
            if (t.WireName() == wireName)
            {
                type = t;
                return true;
            }
        }
        type = default;
        return false;
    }
}

/// <summary>A campaign definition that is not valid JSON or breaks the contract's rules.</summary>
public sealed class CampaignFormatException(string message, Exception? inner = null) : FormatException(message, inner);

/// <summary>
/// A campaign definition (contract: Campaigns), one value of the siyu.campaigns topic:
/// <c>{campaign_id, type: flash_sale|solitaire|coupon_day, name, store_id?, group_ids: [], skus: [],
/// stock?, starts_at, ends_at, attribution_window_hours (default 24)}</c>.
/// Build one with <see cref="Parse"/> / <see cref="TryParse"/> (which validate) or in code and
/// check it with <see cref="Problems"/>. <see cref="GroupIds"/> and <see cref="Skus"/> are kept
/// sorted (ordinal) and distinct, so <see cref="HasSku"/> is a binary search and two equal
/// definitions compare equal.
/// </summary>
public sealed partial record Campaign
{
    public const double DefaultAttributionWindowHours = 24;

    /// <summary>A window beyond a year is taken as a mistake in the definition (and would overflow nothing, but attribute forever).</summary>
    public const double MaxAttributionWindowHours = 24 * 366;

    public required string CampaignId { get; init; }
    public required CampaignType Type { get; init; }
    public required string Name { get; init; }
    public string? StoreId { get; init; }
    public EquatableArray<string> GroupIds { get; init; }

    /// <summary>Empty: the campaign applies to any sku (contract: "or has no skus").</summary>
    public EquatableArray<string> Skus { get; init; }

    public int? Stock { get; init; }
    public required DateTimeOffset StartsAt { get; init; }
    public required DateTimeOffset EndsAt { get; init; }

    /// <summary>How long before an order a solitaire_join / flash_claim of this campaign still earns it the order (last_touch).</summary>
    public TimeSpan AttributionWindow { get; init; } = TimeSpan.FromHours(DefaultAttributionWindowHours);

    /// <summary>Whether an order with these skus counts for the campaign: it shares a sku, or the campaign names none.</summary>
    public bool AppliesTo(IEnumerable<LineItem> items)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (Skus.IsEmpty)
        {
            return true;
        }
        foreach (var item in items)
        {
            if (item is not null && HasSku(item.Sku))
            {
                return true;
            }
        }
        return false;
    }

    public bool HasSku(string? sku) =>
        sku is not null && Skus.AsSpan().BinarySearch(sku, StringComparer.Ordinal) >= 0;

    /// <summary>Contract: a touch at <paramref name="touchAt"/> is within the window before an order at <paramref name="orderAt"/> (both ends included).</summary>
    public bool InWindow(DateTimeOffset touchAt, DateTimeOffset orderAt) =>
        touchAt <= orderAt && touchAt >= orderAt - AttributionWindow;

    /// <summary>Every rule this definition breaks; empty when it is valid.</summary>
    public IReadOnlyList<string> Problems()
    {
        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(CampaignId))
        {
            problems.Add("campaign_id is required");
        }
        if (!Enum.IsDefined(Type))
        {
            problems.Add($"type {(int)Type} is not one of flash_sale, solitaire, coupon_day");
        }
        if (Name is null)
        {
            problems.Add("name is required");
        }
        if (Stock is < 0)
        {
            problems.Add($"stock {Stock} must not be negative");
        }
        if (EndsAt < StartsAt)
        {
            problems.Add($"ends_at {Format(EndsAt)} is before starts_at {Format(StartsAt)}");
        }
        if (AttributionWindow < TimeSpan.Zero)
        {
            problems.Add($"attribution_window_hours {AttributionWindow.TotalHours.ToString(CultureInfo.InvariantCulture)} must not be negative");
        }
        else if (AttributionWindow > TimeSpan.FromHours(MaxAttributionWindowHours))
        {
            problems.Add($"attribution_window_hours {AttributionWindow.TotalHours.ToString(CultureInfo.InvariantCulture)} is more than {MaxAttributionWindowHours} (a year)");
        }
        CheckIds(GroupIds, "group_ids", problems);
        CheckIds(Skus, "skus", problems);
        return problems;
    }

    /// <summary>Throws <see cref="CampaignFormatException"/> when <see cref="Problems"/> is not empty; returns the campaign for chaining.</summary>
    public Campaign Validate()
    {
        var problems = Problems();
        if (problems.Count > 0)
        {
            throw new CampaignFormatException(Describe(CampaignId, problems));
        }
        return this;
    }

    // ------------------------------------------------------------------ JSON

    /// <summary>Parses and validates one definition; throws <see cref="CampaignFormatException"/> with every problem found.</summary>
    public static Campaign Parse(ReadOnlySpan<byte> json) =>
        TryParse(json, out var campaign, out var error) ? campaign : throw new CampaignFormatException(error);

    public static bool TryParse(ReadOnlySpan<byte> json, [NotNullWhen(true)] out Campaign? campaign, [NotNullWhen(false)] out string? error)
    {
        campaign = null;
        CampaignWire? wire;
        try
        {
            wire = JsonSerializer.Deserialize(json, CampaignJsonContext.Default.CampaignWire);
        }
        catch (JsonException e)
        {
            error = $"campaign is not valid JSON: {e.Message}";
            return false;
        }
        if (wire is null)
        {
            error = "campaign is null (a tombstone is a null message value, not a JSON null)";
            return false;
        }

        var problems = new List<string>();
        if (string.IsNullOrWhiteSpace(wire.CampaignId))
        {
            problems.Add("campaign_id is required");
        }
        CampaignType type = default;
        if (wire.Type is null)
        {
            problems.Add("type is required (flash_sale, solitaire or coupon_day)");
        }
        else if (!CampaignTypes.TryParse(wire.Type, out type))
        {
            problems.Add($"type '{Truncate(wire.Type)}' is not one of flash_sale, solitaire, coupon_day");
        }
        if (wire.Name is null)
        {
            problems.Add("name is required");
        }
        var startsAt = Timestamp(wire.StartsAt, "starts_at", problems);
        var endsAt = Timestamp(wire.EndsAt, "ends_at", problems);
        var window = TimeSpan.FromHours(DefaultAttributionWindowHours);
        if (wire.AttributionWindowHours is { } hours)
        {
            if (hours < 0)
            {
                problems.Add($"attribution_window_hours {hours.ToString(CultureInfo.InvariantCulture)} must not be negative");
            }
            else if (hours > MaxAttributionWindowHours)
            {
                problems.Add($"attribution_window_hours {hours.ToString(CultureInfo.InvariantCulture)} is more than {MaxAttributionWindowHours} (a year)");
            }
            else
            {
                window = TimeSpan.FromTicks((long)Math.Round(hours * TimeSpan.TicksPerHour));
            }
        }
        var parsed = new Campaign
        {
            CampaignId = wire.CampaignId ?? "",
            Type = type,
            Name = wire.Name ?? "",
            StoreId = wire.StoreId,
            GroupIds = SortedIds(wire.GroupIds, "group_ids", problems),
            Skus = SortedIds(wire.Skus, "skus", problems),
            Stock = wire.Stock,
            StartsAt = startsAt ?? default,
            EndsAt = endsAt ?? default,
            AttributionWindow = window,
        };
        if (wire.Stock is < 0)
        {
            problems.Add($"stock {wire.Stock} must not be negative");
        }
        if (startsAt is { } s && endsAt is { } e2 && e2 < s)
        {
            problems.Add($"ends_at {wire.EndsAt} is before starts_at {wire.StartsAt}");
        }
        if (problems.Count > 0)
        {
            error = Describe(wire.CampaignId, problems);
            return false;
        }
        campaign = parsed;
        error = null;
        return true;
    }

    /// <summary>The wire form (what <see cref="Parse"/> reads).</summary>
    public byte[] ToJson() => JsonSerializer.SerializeToUtf8Bytes(
        new CampaignWire
        {
            CampaignId = CampaignId,
            Type = Type.WireName(),
            Name = Name,
            StoreId = StoreId,
            GroupIds = [.. GroupIds],
            Skus = [.. Skus],
            Stock = Stock,
            StartsAt = Format(StartsAt),
            EndsAt = Format(EndsAt),
            AttributionWindowHours = AttributionWindow.TotalHours,
        },
        CampaignJsonContext.Default.CampaignWire);

    private static string Format(DateTimeOffset t) => t.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFFzzz", CultureInfo.InvariantCulture);

    private static string Describe(string? campaignId, IEnumerable<string> problems) =>
        (string.IsNullOrWhiteSpace(campaignId) ? "invalid campaign: " : $"invalid campaign '{Truncate(campaignId)}': ")
        + string.Join("; ", problems);

    private static DateTimeOffset? Timestamp(string? text, string name, List<string> problems)
    {
        if (text is null)
        {
            problems.Add($"{name} is required");
            return null;
        }
        if (!Rfc3339().IsMatch(text)
            || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
        {
            problems.Add($"{name} '{Truncate(text)}' is not an RFC 3339 timestamp with an offset");
            return null;
        }
        return value;
    }

    private static EquatableArray<string> SortedIds(List<string?>? ids, string name, List<string> problems)
    {
        if (ids is null)
        {
            return default;
        }
        for (var i = 0; i < ids.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(ids[i]))
            {
                problems.Add($"{name}[{i}] must be a non-empty string");
            }
        }
        return ids.Where(id => !string.IsNullOrWhiteSpace(id))
            .Select(id => id!)
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToEquatableArray();
    }

    private static void CheckIds(EquatableArray<string> ids, string name, List<string> problems)
    {
        var span = ids.AsSpan();
        for (var i = 0; i < span.Length; i++)
        {
            if (string.IsNullOrWhiteSpace(span[i]))
            {
                problems.Add($"{name}[{i}] must be a non-empty string");
            }
            else if (i > 0 && string.CompareOrdinal(span[i - 1], span[i]) >= 0)
            {
                problems.Add($"{name} must be sorted (ordinal) and distinct");
                return;
            }
        }
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "...";

    [GeneratedRegex(@"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d{1,7})?([Zz]|[+-]\d{2}:\d{2})$")]
    private static partial Regex Rfc3339();
}

/// <summary>The campaign as it travels: every field optional so that a missing one gets a clear message.</summary>
internal sealed class CampaignWire
{
    public string? CampaignId { get; set; }
    public string? Type { get; set; }
    public string? Name { get; set; }
    public string? StoreId { get; set; }
    public List<string?>? GroupIds { get; set; }
    public List<string?>? Skus { get; set; }
    public int? Stock { get; set; }
    public string? StartsAt { get; set; }
    public string? EndsAt { get; set; }
    public double? AttributionWindowHours { get; set; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.Strict)]
[JsonSerializable(typeof(CampaignWire))]
internal sealed partial class CampaignJsonContext : JsonSerializerContext;
