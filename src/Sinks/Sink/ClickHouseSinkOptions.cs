namespace Siyu.Sinks.Sink;

/// <summary>Batching, backpressure, retry and dedup settings of a <see cref="ClickHouseSink{TRow}"/>.</summary>
public sealed record ClickHouseSinkOptions
{
    /// <summary>A batch is inserted as soon as it holds this many rows.</summary>
    public int BatchRows { get; init; } = 10_000;

    /// <summary>…or this long after its first row arrived, whichever comes first.</summary>
    public TimeSpan BatchDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Rows buffered ahead of the inserts. When full, <see cref="ClickHouseSink{TRow}.WriteAsync"/>
    /// waits: a slow or unreachable ClickHouse backpressures the writers (the customer actors, and
    /// through them the consumer's in-flight bound) instead of growing memory or dropping rows.
    /// </summary>
    public int Capacity { get; init; } = 50_000;

    /// <summary>First retry delay; doubles per attempt (with jitter) up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromMilliseconds(200);

    public TimeSpan RetryMaxDelay { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Retries per batch. The default never gives up: rows are typed and match the schema, so a
    /// failure is an outage to wait out (the pipeline stalls loudly, logged and counted), not a
    /// reason to drop data. A finite value drops the batch after the last attempt, counted in
    /// <c>siyu_sink_failed_rows_total</c> and logged as an error.
    /// </summary>
    public int MaxRetryAttempts { get; init; } = int.MaxValue;

    /// <summary>How many recently inserted keys the sink remembers (tables with a key only).</summary>
    public int DedupWindow { get; init; } = 20_000;

    /// <summary>Keys per stored-key lookup query (keeps the query and an HTTP URL small).</summary>
    public int KeyLookupChunk { get; init; } = 2_000;

    /// <summary>How long <see cref="ClickHouseSink{TRow}.DisposeAsync"/> waits for the final flush.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(25);

    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchRows, 1, nameof(BatchRows));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(BatchDelay, TimeSpan.Zero, nameof(BatchDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(Capacity, 1, nameof(Capacity));
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(RetryDelay, TimeSpan.Zero, nameof(RetryDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(RetryMaxDelay, RetryDelay, nameof(RetryMaxDelay));
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryAttempts, 0, nameof(MaxRetryAttempts));
        ArgumentOutOfRangeException.ThrowIfLessThan(DedupWindow, 0, nameof(DedupWindow));
        ArgumentOutOfRangeException.ThrowIfLessThan(KeyLookupChunk, 1, nameof(KeyLookupChunk));
        ArgumentOutOfRangeException.ThrowIfLessThan(ShutdownTimeout, TimeSpan.Zero, nameof(ShutdownTimeout));
    }
}
