using Siyu.Actors.Customers;
using Siyu.Actors.Publishing;
using Siyu.Sinks.Rows;

namespace Siyu.Host.Node;

/// <summary>
/// The committer's <see cref="ISalesWriter"/>: hands one flush cycle's rows to the ClickHouse sinks
/// and completes when they are inserted (one insert per table per cycle). Only rows that may be
/// stored already are looked up before the insert.
/// </summary>
public sealed class ClickHouseSalesWriter(SinkService sinks) : ISalesWriter
{
    public async Task WriteAsync(SalesRows rows, CancellationToken cancellationToken)
    {
        var sink = await sinks.Ready;
        foreach (var s in rows.Sales)
        {
            await sink.Sales.WriteAsync(ToRow(s), cancellationToken, checkStored: false);
        }
        foreach (var s in rows.MaybeStoredSales)
        {
            await sink.Sales.WriteAsync(ToRow(s), cancellationToken, checkStored: true);
        }
        foreach (var t in rows.Touches)
        {
            await sink.Touches.WriteAsync(ToRow(t), cancellationToken, checkStored: false);
        }
        foreach (var t in rows.MaybeStoredTouches)
        {
            await sink.Touches.WriteAsync(ToRow(t), cancellationToken, checkStored: true);
        }
        await Task.WhenAll(sink.Sales.FlushAsync(cancellationToken), sink.Touches.FlushAsync(cancellationToken));
    }

    /// <summary>The attributed_sales row of a sale (a refund's items count negative units); public for the stage benchmarks.</summary>
    public static SaleRow ToRow(AttributedSale s) => new()
    {
        EventId = s.EventId,
        OrderId = s.OrderId,
        OccurredAt = s.OccurredAt,
        CustomerId = s.CustomerId,
        Channel = s.Channel,
        StoreId = s.StoreId ?? "",
        Amount = s.Amount,
        CampaignId = s.CampaignId ?? "",
        CampaignType = s.CampaignType ?? "",
        Rule = s.Rule,
        GroupId = s.GroupId ?? "",
        GuideId = s.GuideId ?? "",
        InPrivateDomain = s.InPrivateDomain,
        Payment = s.Payment ?? "",
        Items = s.Items.Select(i => new SaleItem(i.Sku, s.Amount < 0 ? -i.Qty : i.Qty, i.Price)).ToList(),
    };

    private static TouchRow ToRow(Touch t) => new()
    {
        EventId = t.EventId,
        OccurredAt = t.OccurredAt,
        CustomerId = t.CustomerId,
        Type = t.Type,
        Channel = t.Channel,
        StoreId = t.StoreId ?? "",
        CampaignId = t.CampaignId ?? "",
        GroupId = t.GroupId ?? "",
        Skus = [.. t.Skus],
    };
}
