using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Siyu.Actors.Customers;
using Siyu.Actors.Publishing;

namespace Siyu.Actors.Storage;

/// <summary>A save that failed; <see cref="RowsWritten"/> says whether its ClickHouse rows were inserted before.</summary>
public sealed class CommitFailedException(bool rowsWritten, Exception inner)
    : Exception($"commit failed{(rowsWritten ? " after its rows were inserted" : "")}: {inner.Message}", inner)
{
    public bool RowsWritten { get; } = rowsWritten;
}

/// <summary>
/// The node's flush: every customer and identity shard hands its saves here, and one cycle at a
/// time writes everything handed over meanwhile: first the ClickHouse rows (one insert per
/// table), then every state and id owner in one SQL transaction (<see cref="CustomerStore"/>),
/// then completes each save. Rows go first, so a crash in between repeats rows (the sinks drop
/// them by event_id) but never loses them; a state is acknowledged only once durable.
/// Under load a cycle takes what accumulated during the previous one, so the number of
/// transactions follows the time they take, not the number of events or customers.
/// </summary>
public sealed class Committer : IAsyncDisposable
{
    private const int MaxItems = 20_000;

    private sealed class Item
    {
        public CustomerRow? Customer;
        public (string CustomerId, int Shard)? Tombstone;
        public IReadOnlyList<OwnerRow>? Owners;
        public IReadOnlyList<IdHash>? Released;
        public IReadOnlyList<AttributedSale>? Sales;
        public IReadOnlyList<Touch>? Touches;
        public bool CheckRows;
        public readonly TaskCompletionSource Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    private readonly Channel<Item> _queue = Channel.CreateUnbounded<Item>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ISalesWriter _rows;
    private readonly ILogger _log;
    private readonly Task _loop;
    private long _cycles;

    public Committer(CustomerStore store, ISalesWriter rows, ILogger log)
    {
        Store = store;
        _rows = rows;
        _log = log;
        _loop = Task.Run(RunAsync);
    }

    public CustomerStore Store { get; }

    /// <summary>Flush cycles so far (tests and benchmarks).</summary>
    public long Cycles => Interlocked.Read(ref _cycles);

    /// <summary>Saves a customer's state after inserting its rows. Fails with <see cref="CommitFailedException"/>.</summary>
    public Task SaveAsync(CustomerRow row, IReadOnlyList<AttributedSale> sales, IReadOnlyList<Touch> touches, bool checkRows) =>
        Enqueue(new Item { Customer = row, Sales = sales, Touches = touches, CheckRows = checkRows });

    /// <summary>Claims, repoints and releases of the identity index.</summary>
    public Task WriteOwnersAsync(IReadOnlyList<OwnerRow> owners, IReadOnlyList<IdHash> released) =>
        Enqueue(new Item { Owners = owners, Released = released });

    /// <summary>Erasure: the customer's row becomes a tombstone (no personal data left).</summary>
    public Task TombstoneAsync(string customerId, int shard) =>
        Enqueue(new Item { Tombstone = (customerId, shard) });

    private Task Enqueue(Item item) =>
        _queue.Writer.TryWrite(item) ? item.Done.Task : Task.FromException(new InvalidOperationException("the committer is stopped"));

    private async Task RunAsync()
    {
        var items = new List<Item>();
        var sales = new List<AttributedSale>();
        var touches = new List<Touch>();
        var checkedSales = new List<AttributedSale>();
        var checkedTouches = new List<Touch>();
        while (await _queue.Reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (items.Count < MaxItems && _queue.Reader.TryRead(out var item))
            {
                items.Add(item);
                if (item.Sales is { Count: > 0 } s)
                {
                    (item.CheckRows ? checkedSales : sales).AddRange(s);
                }
                if (item.Touches is { Count: > 0 } t)
                {
                    (item.CheckRows ? checkedTouches : touches).AddRange(t);
                }
            }
            var rowsWritten = false;
            try
            {
                if (sales.Count + touches.Count + checkedSales.Count + checkedTouches.Count > 0)
                {
                    await _rows.WriteAsync(new SalesRows(sales, touches, checkedSales, checkedTouches), CancellationToken.None).ConfigureAwait(false);
                    rowsWritten = true;
                }
                var write = new StoreWrite();
                foreach (var item in items)
                {
                    if (item.Customer is { } c)
                    {
                        write.Customers.Add(c);
                    }
                    if (item.Tombstone is { } t)
                    {
                        write.Erased.Add(t);
                    }
                    if (item.Owners is { } o)
                    {
                        write.Owners.AddRange(o);
                    }
                    if (item.Released is { } r)
                    {
                        write.ReleasedIds.AddRange(r);
                    }
                }
                await Store.CommitAsync(write).ConfigureAwait(false);
                foreach (var item in items)
                {
                    item.Done.TrySetResult();
                }
            }
            catch (Exception e)
            {
                _log.LogDebug(e, "Flush cycle of {Count} saves failed", items.Count);
                var failure = new CommitFailedException(rowsWritten, e);
                foreach (var item in items)
                {
                    item.Done.TrySetException(failure);
                }
            }
            Interlocked.Increment(ref _cycles);
            items.Clear();
            sales.Clear();
            touches.Clear();
            checkedSales.Clear();
            checkedTouches.Clear();
        }
    }

    /// <summary>Finishes the saves already handed over, then stops.</summary>
    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }
}
