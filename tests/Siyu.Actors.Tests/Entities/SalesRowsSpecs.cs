using System.Collections.Concurrent;
using System.Text;
using Akka.Actor;
using Siyu.Ingest;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Actors.Publishing;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Entities;

/// <summary>The customer hands its attributed sales to the sink before it acknowledges the events.</summary>
public sealed class SalesRowsSpecs : IAsyncLifetime
{
    /// <summary>Stands in for the network to ClickHouse (the sink has its own specs on real chDB).</summary>
    private sealed class RecordingWriter : ISalesWriter
    {
        public ConcurrentQueue<AttributedSale> Sales { get; } = new();
        public int FailuresLeft;

        public Task WriteAsync(SalesRows rows, CancellationToken ct)
        {
            if (Interlocked.Decrement(ref FailuresLeft) >= 0)
            {
                return Task.FromException(new IOException("clickhouse unreachable"));
            }
            foreach (var s in rows.Sales.Concat(rows.MaybeStoredSales))
            {
                Sales.Enqueue(s);
            }
            return Task.CompletedTask;
        }
    }

    private static readonly Campaign Flash = Campaign.Parse(Encoding.UTF8.GetBytes(
        """{"campaign_id":"FLASH-1","type":"flash_sale","name":"cherries","skus":["CHERRY-5J"],"starts_at":"2026-11-23T00:00:00+08:00","ends_at":"2026-11-24T00:00:00+08:00"}"""));

    private readonly RecordingWriter _writer = new();
    private readonly ActorSystemFixture _akka;

    public SalesRowsSpecs() => _akka = new ActorSystemFixture(options: new CustomerEntityOptions
    {
        Campaigns = () => CampaignCatalog.Empty.With(Flash),
    }, sales: _writer);

    public async Task InitializeAsync() => await _akka.StartAsync();
    public async Task DisposeAsync() => await _akka.DisposeAsync();

    [Fact]
    public async Task Attributed_sales_are_written_before_the_events_are_acknowledged()
    {
        var order = Events.Order("sr1", new CustomerIds { MemberId = "SR1" }, 199m) with { CampaignId = "FLASH-1" };
        await _akka.Handler().HandleAsync(Events.Ingested(order), default);
        var sale = Assert.Single(_writer.Sales);
        Assert.Equal("sr1", sale.EventId);
        Assert.Equal("direct", sale.Rule);
        Assert.Equal("FLASH-1", sale.CampaignId);
        Assert.Equal(199m, sale.Amount);
    }

    [Fact]
    public async Task A_failed_write_fails_the_acknowledgement_and_the_rows_go_out_with_the_next_save()
    {
        _writer.FailuresLeft = 1;
        var order = Events.Order("sr2", new CustomerIds { MemberId = "SR2" }, 10m);
        var handler = _akka.Handler();
        await Assert.ThrowsAnyAsync<Exception>(async () => await handler.HandleAsync(Events.Ingested(order), default));
        // No "nothing written yet" check here: the actor's next flush may already have sent the
        // owed row (it raced this assertion on a loaded machine). What matters is below: the row
        // arrives, once, whether that flush or the retry sends it.
        // Ingest retries the event: already applied, so it is not decided again, but its row is still owed.
        await handler.HandleAsync(Events.Ingested(order), default);
        var sale = Assert.Single(_writer.Sales);
        Assert.Equal("sr2", sale.EventId);
        Assert.Equal("organic", sale.Rule);
    }
}
