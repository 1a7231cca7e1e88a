using Siyu.Actors.Customers;
using Siyu.Actors.Publishing;
using Siyu.Sinks.Rows;

namespace Siyu.Host.Node;

/// <summary>
/// The customers' <see cref="ISalesWriter"/>: hands rows to the ClickHouse sinks and completes when
/// they are inserted. Customers that write within one short window share a single flush, so
/// thousands of customers saving at once still make a few large inserts, not thousands of tiny ones.
/// </summary>
public sealed class ClickHouseSalesWriter(SinkService sinks) : ISalesWriter
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(50);
    private readonly Lock _lock = new();
    private Task? _nextFlush;

    public async Task WriteAsync(IReadOnlyList<AttributedSale> sales, IReadOnlyList<Touch> touches, CancellationToken cancellationToken)
    {
        var sink = await sinks.Ready;
        await sink.Sales.WriteAllAsync(sales.Select(ToRow), cancellationToken);
        await sink.Touches.WriteAllAsync(touches.Select(ToRow), cancellationToken);
        await SharedFlush(cancellationToken);
    }

    private Task SharedFlush(CancellationToken ct)
    {
        lock (_lock)
        {
            // Joins the flush that has not started yet, or schedules one; a flush under way may
            // have missed these rows, so it is never joined.
            return _nextFlush ??= FlushSoon(ct);
        }
    }

    private async Task FlushSoon(CancellationToken ct)
    {
        await Task.Delay(Window, ct);
        lock (_lock)
        {
            _nextFlush = null; // later writers schedule the next flush
        }
        var sink = await sinks.Ready;
        await Task.WhenAll(sink.Sales.FlushAsync(ct), sink.Touches.FlushAsync(ct));
    }

    private static SaleRow ToRow(AttributedSale s) => new()
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
