namespace Siyu.Sinks.Rows;

/// <summary>A campaign definition in <c>siyu.campaigns</c> (latest <see cref="Version"/> wins).</summary>
public sealed record CampaignRow
{
    public required string CampaignId { get; init; }

    /// <summary><c>flash_sale</c>, <c>solitaire</c> or <c>coupon_day</c>.</summary>
    public required string Type { get; init; }

    public string Name { get; init; } = "";

    public string StoreId { get; init; } = "";

    public IReadOnlyList<string> GroupIds { get; init; } = [];

    public IReadOnlyList<string> Skus { get; init; } = [];

    /// <summary>Units available; null when the campaign has no stock limit.</summary>
    public uint? Stock { get; init; }

    public required DateTimeOffset StartsAt { get; init; }

    public required DateTimeOffset EndsAt { get; init; }

    public ushort AttributionWindowHours { get; init; } = 24;

    /// <summary>Orders the definitions of one campaign (e.g. the Kafka offset it was read at).</summary>
    public required ulong Version { get; init; }

    public required DateTimeOffset UpdatedAt { get; init; }
}
