namespace Siyu.Sinks.Rows;

/// <summary>
/// One row of <c>siyu.touches</c>: a group or guide interaction (<c>solitaire_join</c>,
/// <c>flash_claim</c>, <c>coupon_claim</c>, <c>message_sent</c>, <c>service_done</c>,
/// <c>contact_added</c>, <c>group_join</c>…). Absent ids are empty strings.
/// </summary>
public sealed record TouchRow
{
    public required string EventId { get; init; }

    public required DateTimeOffset OccurredAt { get; init; }

    public required string CustomerId { get; init; }

    /// <summary>The event's type, as in the contract.</summary>
    public required string Type { get; init; }

    public required string Channel { get; init; }

    public string StoreId { get; init; } = "";

    public string CampaignId { get; init; } = "";

    public string GroupId { get; init; } = "";

    public string GuideId { get; init; } = "";

    /// <summary>The skus the touch is about (a solitaire's items, a flash claim's sku).</summary>
    public IReadOnlyList<string> Skus { get; init; } = [];
}
