using Siyu.Actors.Customers;

namespace Siyu.Actors.Publishing;

/// <summary>
/// Where attributed sales and campaign touches go (ClickHouse). The task completes when the rows
/// are stored: a customer acknowledges its events only after that and after its own save, so a
/// crash can only repeat rows (the tables collapse them by event_id), never lose them.
/// </summary>
public interface ISalesWriter
{
    Task WriteAsync(IReadOnlyList<AttributedSale> sales, IReadOnlyList<Touch> touches, CancellationToken cancellationToken);
}

public sealed class NoSalesWriter : ISalesWriter
{
    public static readonly NoSalesWriter Instance = new();

    public Task WriteAsync(IReadOnlyList<AttributedSale> sales, IReadOnlyList<Touch> touches, CancellationToken cancellationToken) =>
        Task.CompletedTask;
}
