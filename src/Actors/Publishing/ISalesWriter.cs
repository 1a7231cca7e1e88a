using Siyu.Actors.Customers;

namespace Siyu.Actors.Publishing;

/// <summary>
/// The rows of one flush cycle. <see cref="MaybeStoredSales"/> / <see cref="MaybeStoredTouches"/>
/// come from events that may have been applied before (a redelivery after a crash, a retry): the
/// sink looks their keys up before inserting them. The others are known to be new.
/// </summary>
public sealed record SalesRows(
    IReadOnlyList<AttributedSale> Sales,
    IReadOnlyList<Touch> Touches,
    IReadOnlyList<AttributedSale> MaybeStoredSales,
    IReadOnlyList<Touch> MaybeStoredTouches);

/// <summary>
/// Where attributed sales and campaign touches go (ClickHouse). The task completes when the rows
/// are stored: a customer acknowledges its events only after that and after its own save, so a
/// crash can only repeat rows (the tables collapse them by event_id), never lose them. The rows'
/// lists may be reused by the caller once the task completes.
/// </summary>
public interface ISalesWriter
{
    Task WriteAsync(SalesRows rows, CancellationToken cancellationToken);
}

public sealed class NoSalesWriter : ISalesWriter
{
    public static readonly NoSalesWriter Instance = new();

    public Task WriteAsync(SalesRows rows, CancellationToken cancellationToken) => Task.CompletedTask;
}
