namespace Siyu.Contracts.Events;

/// <summary>
/// A validated input event (contract: event envelope). One sealed record per type; the
/// customer entity pattern-matches on them. Money is yuan with at most 2 decimals.
/// </summary>
public abstract record InputEvent
{
    // Not `required`: the parser builds the typed part first and stamps these after.
    public string EventId { get; init; } = "";
    public DateTimeOffset OccurredAt { get; init; }
    public Channel Channel { get; init; }
    public CustomerIds Ids { get; init; } = new();
    public string? StoreId { get; init; }

    /// <summary>The wire name of the type ("order", "group_join"...).</summary>
    public abstract string Type { get; }
}

public enum Payment
{
    Cash,
    Card,
    WechatPay,
    WecomCollect,
}

public sealed record LineItem(string Sku, int Qty, decimal Price);

// --- sales (pos, miniprogram, app) ---
public sealed record OrderPlaced : InputEvent
{
    public required string OrderId { get; init; }
    public required decimal Amount { get; init; }
    public required IReadOnlyList<LineItem> Items { get; init; }
    public required Payment Payment { get; init; }
    public string? GuideId { get; init; }
    public string? CampaignId { get; init; }
    public string? ShareGroupId { get; init; }
    public override string Type => "order";
}

public sealed record OrderRefunded : InputEvent
{
    public required string OrderId { get; init; }
    public required decimal Amount { get; init; }
    public override string Type => "refund";
}

// --- browsing and accounts (miniprogram, app) ---
public sealed record PageViewed : InputEvent
{
    public required string Page { get; init; }
    public override string Type => "page_view";
}

public sealed record CouponClaimed : InputEvent
{
    public required string CouponId { get; init; }
    public string? CampaignId { get; init; }
    public override string Type => "coupon_claim";
}

public sealed record PhoneBound : InputEvent
{
    public override string Type => "bind_phone";
}

public sealed record AppOpened : InputEvent
{
    public override string Type => "app_open";
}

public sealed record LoggedIn : InputEvent
{
    public override string Type => "login";
}

// --- WeCom contacts and groups ---
public sealed record ContactAdded : InputEvent
{
    public required string GuideId { get; init; }
    public override string Type => "contact_added";
}

public sealed record ContactRemoved : InputEvent
{
    public required string GuideId { get; init; }
    public override string Type => "contact_removed";
}

public sealed record GroupJoined : InputEvent
{
    public required string GroupId { get; init; }
    public override string Type => "group_join";
}

public sealed record GroupLeft : InputEvent
{
    public required string GroupId { get; init; }
    public override string Type => "group_leave";
}

public sealed record GroupMessagePosted : InputEvent
{
    public required string GroupId { get; init; }
    public override string Type => "message";
}

public sealed record SolitaireJoined : InputEvent
{
    public required string GroupId { get; init; }
    public required string CampaignId { get; init; }
    public required IReadOnlyList<LineItem> Items { get; init; }
    public override string Type => "solitaire_join";
}

public sealed record FlashClaimed : InputEvent
{
    public required string GroupId { get; init; }
    public required string CampaignId { get; init; }
    public required string Sku { get; init; }
    public override string Type => "flash_claim";
}

public sealed record Tagged : InputEvent
{
    public required IReadOnlyDictionary<string, string> Tags { get; init; }
    public override string Type => "tag";
}

public sealed record ProfileUpdated : InputEvent
{
    public DateOnly? Birthday { get; init; }
    public string? Name { get; init; }
    public override string Type => "profile_update";
}

public sealed record ServiceDone : InputEvent
{
    public required string GuideId { get; init; }
    public required string Task { get; init; }
    public override string Type => "service_done";
}

public sealed record MessageSent : InputEvent
{
    public required string GuideId { get; init; }
    public override string Type => "message_sent";
}
