using Siyu.Actors.Campaigns;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;

namespace Siyu.Actors.Customers;

/// <summary>
/// One row of ClickHouse <c>siyu.attributed_sales</c> (contract): one per order or refund. Text
/// columns carry the wire names (channel pos|miniprogram|app, rule direct|last_touch|group_assisted|organic,
/// campaign_type flash_sale|solitaire|coupon_day); an absent id is null. A refund row has the
/// refund's event_id, occurred_at and store_id, the order's order_id, channel and attribution, and a
/// negative amount. Beyond the contract's columns (additive): the order's <see cref="Payment"/>
/// (cash|card|wechat_pay|wecom_collect) and <see cref="Items"/>; a refund row has neither (it
/// names only an amount).
/// </summary>
public sealed record AttributedSale(
    string EventId,
    string OrderId,
    DateTimeOffset OccurredAt,
    string CustomerId,
    string Channel,
    string? StoreId,
    decimal Amount,
    string? CampaignId,
    string? CampaignType,
    string Rule,
    string? GroupId,
    string? GuideId,
    bool InPrivateDomain)
{
    public string? Payment { get; init; }
    public EquatableArray<LineItem> Items { get; init; }
}

/// <summary>
/// One row of ClickHouse <c>siyu.touches</c>: a solitaire_join, flash_claim or coupon_claim.
/// <see cref="Sku"/> is the flash claim's, <see cref="Items"/> the solitaire's, <see cref="CouponId"/>
/// the coupon claim's; <see cref="GroupId"/> is null for a coupon claim, <see cref="CampaignId"/>
/// may be null for one.
/// </summary>
public sealed record Touch(
    string EventId,
    string Type,
    DateTimeOffset OccurredAt,
    string CustomerId,
    string Channel,
    string? StoreId,
    string? CampaignId,
    string? GroupId,
    string? CouponId,
    string? Sku,
    EquatableArray<LineItem> Items)
{
    /// <summary>The skus the touch is about: the flash claim's sku or the solitaire's item skus (distinct, in order).</summary>
    public EquatableArray<string> Skus
    {
        get
        {
            if (Sku is not null)
            {
                return EquatableArray.Own([Sku]);
            }
            var items = Items.AsSpan();
            var skus = new string[items.Length];
            var n = 0;
            foreach (var i in items)
            {
                if (Array.IndexOf(skus, i.Sku, 0, n) < 0)
                {
                    skus[n++] = i.Sku;
                }
            }
            return EquatableArray.Own(n == skus.Length ? skus : skus[..n]);
        }
    }
}

/// <summary>
/// Derives the sink rows from the events <see cref="CustomerDecider.Decide(CustomerState, CustomerCommand, CustomerRules, CampaignCatalog)"/>
/// returned (or read back from the journal), so a row exists exactly when the customer counted
/// something: a redelivered order or refund yields no event and so no second row, an order
/// reported again under another event_id neither. Notices yield nothing. <paramref name="customerId"/>
/// is the customer that decided them (the events do not repeat it).
/// Sinks should still key the tables by event_id (ReplacingMergeTree): a touch redelivered after
/// it left the dedup window (<see cref="SeenWindow"/>) is recorded again.
/// </summary>
public static class SalesProjection
{
    public static IReadOnlyList<AttributedSale> Sales(string customerId, IEnumerable<CustomerEvent> decided)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(customerId);
        ArgumentNullException.ThrowIfNull(decided);
        var rows = new List<AttributedSale>();
        foreach (var e in decided)
        {
            if (Sale(customerId, e) is { } row)
            {
                rows.Add(row);
            }
        }
        return rows;
    }

    public static IReadOnlyList<Touch> Touches(string customerId, IEnumerable<CustomerEvent> decided)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(customerId);
        ArgumentNullException.ThrowIfNull(decided);
        var rows = new List<Touch>();
        foreach (var e in decided)
        {
            if (e is TouchRecorded t)
            {
                rows.Add(Touch(customerId, t));
            }
        }
        return rows;
    }

    /// <summary>The row of an <see cref="OrderRecorded"/> or <see cref="RefundRecorded"/>; null for any other event.</summary>
    public static AttributedSale? Sale(string customerId, CustomerEvent evt)
    {
        ArgumentNullException.ThrowIfNull(evt);
        // One row object each (built with its payment and items, not copied to add them).
        return evt switch
        {
            OrderRecorded o => Row(customerId, o.EventId, o.OrderId, o.OccurredAt, o.Channel, o.StoreId, o.Amount, o.Attribution,
                o.Payment is { } p ? EventWriter.PaymentName(p) : null, o.Items),
            RefundRecorded r => Row(customerId, r.EventId, r.OrderId, r.OccurredAt, r.OrderChannel, r.StoreId, -r.Amount, r.Attribution,
                r.OrderPayment is { } p ? EventWriter.PaymentName(p) : null, default),
            _ => null,
        };
    }

    public static Touch Touch(string customerId, TouchRecorded t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return new Touch(t.EventId ?? "", t.Kind.WireName(), t.OccurredAt, customerId, t.Channel.WireName(), t.StoreId,
            t.CampaignId, t.GroupId, t.CouponId, t.Sku, t.Items);
    }

    /// <summary>
    /// A null attribution only comes from an order journaled before attribution existed: it is
    /// reported as organic without guide (what the empty catalog and an empty state decide).
    /// </summary>
    private static AttributedSale Row(string customerId, string? eventId, string orderId, DateTimeOffset occurredAt, Channel channel,
        string? storeId, decimal amount, Attribution? attribution, string? payment, EquatableArray<LineItem> items)
    {
        var a = attribution ?? Attribution.Organic;
        return new AttributedSale(eventId ?? "", orderId, occurredAt, customerId, channel.WireName(), storeId, amount,
            a.CampaignId, a.CampaignType?.WireName(), a.Rule.WireName(), a.GroupId, a.GuideId, a.InPrivateDomain)
        {
            Payment = payment,
            Items = items,
        };
    }
}
