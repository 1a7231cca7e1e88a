namespace Siyu.Sinks.Rows;

/// <summary>
/// One row of <c>siyu.attributed_sales</c>: an order, or a refund (negative <see cref="Amount"/>,
/// carrying its order's attribution). Property names map to columns in snake_case
/// (<see cref="EventId"/> is <c>event_id</c>). Absent optional ids are empty strings, never null.
/// </summary>
/// <remarks>
/// The contract's columns, plus two additive ones: <see cref="Payment"/> (tells a guide's
/// <c>wecom_collect</c> credit apart) and <see cref="Items"/> (units per sku, for sell-through and
/// top SKUs; a refund row lists the refunded units with a negative <see cref="SaleItem.Qty"/>, or
/// nothing when they are unknown).
/// </remarks>
public sealed record SaleRow
{
    /// <summary>The order's or refund's event_id: the dedup key (a redelivery never counts twice).</summary>
    public required string EventId { get; init; }

    public required string OrderId { get; init; }

    /// <summary>Event time (stored in UTC, millisecond precision).</summary>
    public required DateTimeOffset OccurredAt { get; init; }

    public required string CustomerId { get; init; }

    /// <summary><c>pos</c>, <c>miniprogram</c> or <c>app</c>.</summary>
    public required string Channel { get; init; }

    public string StoreId { get; init; } = "";

    /// <summary>Yuan, at most 2 decimals; negative for a refund.</summary>
    public required decimal Amount { get; init; }

    public string CampaignId { get; init; } = "";

    /// <summary><c>flash_sale</c>, <c>solitaire</c>, <c>coupon_day</c>, or empty.</summary>
    public string CampaignType { get; init; } = "";

    /// <summary>One of <see cref="AttributionRules"/>.</summary>
    public required string Rule { get; init; }

    /// <summary>The credited WeCom group, or empty.</summary>
    public string GroupId { get; init; } = "";

    /// <summary>The credited guide, or empty.</summary>
    public string GuideId { get; init; } = "";

    public bool InPrivateDomain { get; init; }

    /// <summary><c>cash</c>, <c>card</c>, <c>wechat_pay</c>, <c>wecom_collect</c>, or empty.</summary>
    public string Payment { get; init; } = "";

    public IReadOnlyList<SaleItem> Items { get; init; } = [];
}

/// <summary>One line of an order: <c>{sku, qty, price}</c>.</summary>
public sealed record SaleItem(string Sku, int Qty, decimal Price);

/// <summary>The attribution rules of the contract, as stored in <c>rule</c>.</summary>
public static class AttributionRules
{
    public const string Direct = "direct";
    public const string LastTouch = "last_touch";
    public const string GroupAssisted = "group_assisted";
    public const string Organic = "organic";

    public static IReadOnlyList<string> All { get; } = [Direct, LastTouch, GroupAssisted, Organic];
}
