using System.Diagnostics;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Prometheus;
using Polly.Retry;
using Siyu.Sinks.ClickHouse;

namespace Siyu.Sinks.Sink;

/// <summary>
/// Writes rows to one ClickHouse table in batches: a batch is inserted when it holds
/// <see cref="ClickHouseSinkOptions.BatchRows"/> rows or <see cref="ClickHouseSinkOptions.BatchDelay"/>
/// after its first row, whichever comes first; batches are inserted one at a time, in write order.
/// </summary>
/// <remarks>
/// <para>
/// <b>Backpressure.</b> Rows wait in a bounded channel (<see cref="ClickHouseSinkOptions.Capacity"/>).
/// When it is full, <see cref="WriteAsync"/> does not complete until an insert makes room: a slow or
/// unreachable ClickHouse slows the callers (the customer actors, and through their in-flight bound
/// the Kafka consumer) instead of growing memory or dropping rows. Callers that must not wait use
/// <see cref="TryWrite"/>.
/// </para>
/// <para>
/// <b>Retries.</b> A failed insert is retried with exponential backoff and jitter (Polly), forever by
/// default. A run of failures (an outage) logs one warning when it starts and one line when inserts
/// succeed again, not one per attempt; meanwhile <see cref="Status"/> and <c>siyu_sink_failing</c>
/// say the table is failing (the node's /health reads it). Before every attempt, rows whose key is already stored are removed (tables with
/// <see cref="SinkTable{TRow}.KeyColumn"/>), so an attempt that failed after ClickHouse had stored
/// the rows (a lost response) is not inserted twice.
/// </para>
/// <para>
/// <b>Exactly-once rows.</b> With a <see cref="SinkTable{TRow}.Key"/>, a key seen earlier in the batch
/// or among the last <see cref="ClickHouseSinkOptions.DedupWindow"/> inserted keys is dropped, and
/// with a key column the table itself is asked; see 002_minute_views.sql for why the views need it.
/// </para>
/// <para>
/// <b>Shutdown.</b> <see cref="StopAsync"/> (or <see cref="DisposeAsync"/>) stops accepting rows and
/// inserts everything already written, in order, before it returns; if its token fires first, the
/// rows still buffered are given up (logged and counted in <c>siyu_sink_failed_rows_total</c>).
/// </para>
/// <para>
/// <b>Metrics</b> (<see cref="SinkMetrics"/>): <c>siyu_sink_freshness_seconds</c> (occurred_at to
/// visible, per row, observed when the insert returns), <c>siyu_sink_rows_total</c> (rows/s),
/// duplicates, batches, retries, failed rows, queued rows, insert time.
/// </para>
/// </remarks>
public sealed class ClickHouseSink<TRow> : IAsyncDisposable
    where TRow : notnull
{
    private readonly IClickHouse _clickHouse;
    private readonly SinkTable<TRow> _table;
    private readonly ClickHouseSinkOptions _options;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<Entry> _channel;
    private readonly CancellationTokenSource _abort = new();
    private readonly RecentKeys _recent;
    private readonly ResiliencePipeline _retry;
    private readonly Task _loop;
    private readonly Histogram.Child _freshness;
    private readonly Counter.Child _rows;
    private readonly Counter.Child _duplicates;
    private readonly Counter.Child _batches;
    private readonly Counter.Child _retries;
    private readonly Counter.Child _failed;
    private readonly Gauge.Child _queued;
    private readonly Gauge.Child _failing;
    private readonly Lock _statusLock = new();
    private DateTimeOffset? _failingSince;
    private int _failedAttempts;
    private readonly Histogram.Child _insertSeconds;
    private long _written;
    private long _inserted;
    private long _skipped;
    private long _given;
    private int _disposed;

    public ClickHouseSink(IClickHouse clickHouse, SinkTable<TRow> table, ClickHouseSinkOptions? options = null,
        ILogger? logger = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(clickHouse);
        ArgumentNullException.ThrowIfNull(table);
        _options = options ?? new ClickHouseSinkOptions();
        _options.Validate();
        _clickHouse = clickHouse;
        _table = table;
        _logger = logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
        _recent = new RecentKeys(table.Key is null ? 0 : _options.DedupWindow);
        _channel = Channel.CreateBounded<Entry>(new BoundedChannelOptions(_options.Capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });

        var label = table.MetricLabel;
        _freshness = SinkMetrics.Freshness.WithLabels(label);
        _rows = SinkMetrics.Rows.WithLabels(label);
        _duplicates = SinkMetrics.Duplicates.WithLabels(label);
        _batches = SinkMetrics.Batches.WithLabels(label);
        _retries = SinkMetrics.Retries.WithLabels(label);
        _failed = SinkMetrics.FailedRows.WithLabels(label);
        _queued = SinkMetrics.Queued.WithLabels(label);
        _failing = SinkMetrics.Failing.WithLabels(label);
        _failing.Set(0);
        _insertSeconds = SinkMetrics.InsertSeconds.WithLabels(label);

        _retry = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not OperationCanceledException || !_abort.IsCancellationRequested),
                MaxRetryAttempts = Math.Max(_options.MaxRetryAttempts, 1),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
                MaxDelay = _options.RetryMaxDelay,
                OnRetry = args =>
                {
                    _retries.Inc();
                    AttemptFailed(args.Outcome.Exception!, args.RetryDelay);
                    return default;
                },
            })
            .Build();
        if (_options.MaxRetryAttempts == 0)
        {
            _retry = ResiliencePipeline.Empty;
        }

        _loop = Task.Run(RunAsync);
    }

    /// <summary>The table this sink writes.</summary>
    public string Table => _table.Table;

    /// <summary>Rows accepted by <see cref="WriteAsync"/>/<see cref="TryWrite"/>.</summary>
    public long RowsWritten => Interlocked.Read(ref _written);

    /// <summary>Rows inserted into ClickHouse.</summary>
    public long RowsInserted => Interlocked.Read(ref _inserted);

    /// <summary>Rows dropped as duplicates.</summary>
    public long RowsSkipped => Interlocked.Read(ref _skipped);

    /// <summary>Rows given up on (retries exhausted or shutdown timed out).</summary>
    public long RowsGivenUp => Interlocked.Read(ref _given);

    /// <summary>The last insert error, if the latest attempt failed.</summary>
    public Exception? LastError { get; private set; }

    /// <summary>Rows accepted and not yet inserted, skipped or given up: what an outage holds in memory.</summary>
    public long RowsHeld => RowsWritten - RowsInserted - RowsSkipped - RowsGivenUp;

    /// <summary>Whether inserts are failing now, since when, and what is held meanwhile.</summary>
    public SinkStatus Status
    {
        get
        {
            lock (_statusLock)
            {
                return new SinkStatus(_table.Table, RowsHeld, _failingSince, _failedAttempts,
                    _failingSince is null ? null : LastError?.Message);
            }
        }
    }

    /// <summary>
    /// Queues <paramref name="row"/>. Completes at once while there is room; when the buffer is full
    /// it waits for an insert to make room (backpressure), or until <paramref name="cancellationToken"/>.
    /// </summary>
    /// <exception cref="InvalidOperationException">The sink was stopped.</exception>
    /// <param name="checkStored">
    /// Whether the row may already be stored (a redelivery after a crash or a retry): then its key
    /// is looked up in the table before the first insert attempt. Rows known to be new skip that
    /// SELECT; every retry attempt after a failed insert looks up all of its rows.
    /// </param>
    public ValueTask WriteAsync(TRow row, CancellationToken cancellationToken = default, bool checkStored = true)
    {
        ArgumentNullException.ThrowIfNull(row);
        var write = _channel.Writer.WriteAsync(new Entry(row, null, checkStored), cancellationToken);
        if (write.IsCompletedSuccessfully)
        {
            Interlocked.Increment(ref _written);
            return ValueTask.CompletedTask;
        }

        return Awaited(write);

        async ValueTask Awaited(ValueTask pending)
        {
            try
            {
                await pending.ConfigureAwait(false);
            }
            catch (ChannelClosedException e)
            {
                throw Stopped(e);
            }

            Interlocked.Increment(ref _written);
        }
    }

    /// <summary>Queues every row of <paramref name="rows"/> in order, waiting for room as <see cref="WriteAsync"/> does.</summary>
    public async ValueTask WriteAllAsync(IEnumerable<TRow> rows, CancellationToken cancellationToken = default, bool checkStored = true)
    {
        ArgumentNullException.ThrowIfNull(rows);
        foreach (var row in rows)
        {
            await WriteAsync(row, cancellationToken, checkStored).ConfigureAwait(false);
        }
    }

    /// <summary>Queues <paramref name="row"/> if there is room now; false when the buffer is full or the sink stopped.</summary>
    public bool TryWrite(TRow row)
    {
        ArgumentNullException.ThrowIfNull(row);
        if (!_channel.Writer.TryWrite(new Entry(row, null, true)))
        {
            return false;
        }

        Interlocked.Increment(ref _written);
        return true;
    }

    /// <summary>Completes when every row written before this call is inserted (or given up).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _channel.Writer.WriteAsync(new Entry(default!, done, false), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException e)
        {
            throw Stopped(e);
        }

        await done.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Stops accepting rows and inserts everything written so far, in order. If
    /// <paramref name="cancellationToken"/> fires first, the remaining rows are given up.
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        _channel.Writer.TryComplete();
        using (cancellationToken.Register(static s => ((CancellationTokenSource)s!).Cancel(), _abort))
        {
            await _loop.ConfigureAwait(false);
        }
    }

    /// <summary>Stops the sink, waiting up to <see cref="ClickHouseSinkOptions.ShutdownTimeout"/> for the final inserts.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            await _loop.ConfigureAwait(false);
            return;
        }

        using (var timeout = new CancellationTokenSource(_options.ShutdownTimeout, _time))
        {
            await StopAsync(timeout.Token).ConfigureAwait(false);
        }
    }

    private InvalidOperationException Stopped(Exception inner) =>
        new($"The ClickHouse sink for {_table.Table} is stopped.", inner);

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<TRow>(Math.Min(_options.BatchRows, 65_536));
        var check = new List<bool>(Math.Min(_options.BatchRows, 65_536));
        var flushes = new List<TaskCompletionSource>();
        CancellationTokenSource? wait = null;
        try
        {
            while (await reader.WaitToReadAsync(_abort.Token).ConfigureAwait(false))
            {
                var batchStarted = _time.GetTimestamp();
                var flushNow = false;
                while (true)
                {
                    while (batch.Count < _options.BatchRows && reader.TryRead(out var entry))
                    {
                        if (entry.Flush is { } flush)
                        {
                            flushes.Add(flush);
                            flushNow = true;
                            break;
                        }

                        batch.Add(entry.Row);
                        check.Add(entry.Check);
                    }

                    if (flushNow || batch.Count >= _options.BatchRows)
                    {
                        break;
                    }

                    var remaining = _options.BatchDelay - _time.GetElapsedTime(batchStarted);
                    if (remaining <= TimeSpan.Zero)
                    {
                        break;
                    }

                    if (wait is null || !wait.TryReset())
                    {
                        wait?.Dispose();
                        wait = CancellationTokenSource.CreateLinkedTokenSource(_abort.Token);
                    }

                    wait.CancelAfter(remaining);
                    try
                    {
                        if (!await reader.WaitToReadAsync(wait.Token).ConfigureAwait(false))
                        {
                            break; // completed: insert what we have, then the outer loop ends
                        }
                    }
                    catch (OperationCanceledException) when (!_abort.IsCancellationRequested)
                    {
                        break; // the batch's time is up
                    }
                }

                _queued.Set(reader.Count);
                if (batch.Count > 0)
                {
                    await InsertBatchAsync(batch, check).ConfigureAwait(false);
                    batch.Clear();
                    check.Clear();
                }

                foreach (var flush in flushes)
                {
                    flush.TrySetResult();
                }

                flushes.Clear();
            }
        }
        catch (OperationCanceledException) when (_abort.IsCancellationRequested)
        {
            var lost = batch.Count;
            while (reader.TryRead(out var entry))
            {
                if (entry.Flush is { } flush)
                {
                    flushes.Add(flush);
                }
                else
                {
                    lost++;
                }
            }

            GiveUp(lost, null, "the shutdown timed out");
            foreach (var flush in flushes)
            {
                flush.TrySetCanceled(_abort.Token);
            }
        }
        catch (Exception e)
        {
            // A bug, not an insert failure (those are retried or given up inside InsertBatchAsync).
            _logger.LogCritical(e, "ClickHouse sink for {Table} stopped unexpectedly", _table.Table);
            _channel.Writer.TryComplete(e);
            foreach (var flush in flushes)
            {
                flush.TrySetException(e);
            }

            throw;
        }
        finally
        {
            wait?.Dispose();
            _queued.Set(0);
        }
    }

    private async Task InsertBatchAsync(List<TRow> batch, List<bool> check)
    {
        var (rows, suspect) = DropKnownKeys(batch, check);
        if (rows.Count == 0)
        {
            return;
        }

        var started = Stopwatch.GetTimestamp();
        // The rows not yet stored when the batch was first tried. A later attempt may find some of
        // them stored by an earlier attempt whose response was lost: they count as inserted by us.
        List<TRow>? inserted = null;
        try
        {
            var attempt = 0;
            await _retry.ExecuteAsync(async ct =>
            {
                // First attempt: only rows that may be stored already; a retry: all of them (the
                // failed attempt may have stored them before its answer was lost).
                var lookUp = _table.LooksUpStoredKeys && (attempt++ > 0 || suspect > 0);
                var toInsert = lookUp ? await DropStoredKeysAsync(rows, attempt > 1 ? null : check, ct).ConfigureAwait(false) : rows;
                inserted ??= toInsert;
                await _clickHouse.InsertJsonEachRowAsync(_table.Table, toInsert, cancellationToken: ct).ConfigureAwait(false);
            }, _abort.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            AttemptFailed(e, null);
            GiveUp(rows.Count, e, $"{_options.MaxRetryAttempts} retries failed");
            return;
        }

        inserted ??= rows;
        _insertSeconds.Observe(Stopwatch.GetElapsedTime(started).TotalSeconds);
        var visible = _time.GetUtcNow();
        if (_table.Key is { } key)
        {
            foreach (var row in rows)
            {
                _recent.Add(key(row));
            }
        }

        if (_table.OccurredAt is { } occurredAt)
        {
            foreach (var row in inserted)
            {
                _freshness.Observe(Math.Max(0, (visible - occurredAt(row)).TotalSeconds));
            }
        }

        var skipped = rows.Count - inserted.Count;
        if (skipped > 0)
        {
            CountSkipped(skipped);
        }

        _rows.Inc(inserted.Count);
        _batches.Inc();
        Interlocked.Add(ref _inserted, inserted.Count);
        InsertSucceeded();
    }

    // Repeats within the batch and keys in the recent window; narrows `check` to the rows kept
    // and counts the ones that may be stored already.
    private (List<TRow> Rows, int Suspect) DropKnownKeys(List<TRow> batch, List<bool> check)
    {
        var rows = new List<TRow>(batch.Count);
        var kept = new List<bool>(batch.Count);
        var suspect = 0;
        HashSet<string>? seen = _table.Key is null ? null : new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < batch.Count; i++)
        {
            var row = batch[i];
            if (seen is not null)
            {
                var k = _table.Key!(row);
                if (!seen.Add(k) || _recent.Contains(k))
                {
                    continue;
                }
            }
            rows.Add(row);
            kept.Add(check[i]);
            suspect += check[i] ? 1 : 0;
        }

        if (rows.Count < batch.Count)
        {
            CountSkipped(batch.Count - rows.Count);
        }

        check.Clear();
        check.AddRange(kept);
        return (rows, suspect);
    }

    /// <summary>The rows whose key is not stored yet; only rows flagged in <paramref name="only"/> are looked up (all when null).</summary>
    private async Task<List<TRow>> DropStoredKeysAsync(List<TRow> rows, List<bool>? only, CancellationToken cancellationToken)
    {
        var key = _table.Key!;
        var occurredAt = _table.OccurredAt!;
        var stored = new HashSet<string>(StringComparer.Ordinal);
        var sql = $"SELECT DISTINCT {_table.KeyColumn} AS k FROM {ClickHouseSql.QuoteTableName(_table.Table)} "
            + $"WHERE {_table.TimeColumn} >= {{from:DateTime64(3, 'UTC')}} AND {_table.TimeColumn} <= {{to:DateTime64(3, 'UTC')}} "
            + $"AND {_table.KeyColumn} IN {{keys:Array(String)}}";
        var candidates = only is null ? rows : rows.Where((_, i) => only[i]).ToList();
        foreach (var chunk in candidates.Chunk(_options.KeyLookupChunk))
        {
            var from = chunk.Min(occurredAt).AddSeconds(-1);
            var to = chunk.Max(occurredAt).AddSeconds(1);
            var found = await _clickHouse.QueryRowsAsync<StoredKey>(sql, new Dictionary<string, string>
            {
                ["from"] = ClickHouseParam.Of(from),
                ["to"] = ClickHouseParam.Of(to),
                ["keys"] = ClickHouseParam.Of(chunk.Select(key)),
            }, cancellationToken: cancellationToken).ConfigureAwait(false);
            foreach (var k in found)
            {
                stored.Add(k.K);
            }
        }

        return stored.Count == 0 ? rows : rows.Where(r => !stored.Contains(key(r))).ToList();
    }

    // One warning when a run of failures starts (with the exception, once), debug lines for the
    // attempts after it: an outage of minutes must not print a stack trace every few seconds.
    private void AttemptFailed(Exception error, TimeSpan? retryIn)
    {
        bool first;
        int attempts;
        lock (_statusLock)
        {
            LastError = error;
            first = _failingSince is null;
            _failingSince ??= _time.GetUtcNow();
            attempts = ++_failedAttempts;
        }

        _failing.Set(1);
        if (first)
        {
            _logger.LogWarning(error,
                "ClickHouse inserts into {Table} failing: {Error}. {Held} rows held and retried with backoff (up to {MaxDelaySeconds} s apart) until ClickHouse answers; customers' acknowledgements, hence offset commits, wait for them",
                _table.Table, error.Message, RowsHeld, _options.RetryMaxDelay.TotalSeconds);
        }
        else
        {
            _logger.LogDebug("ClickHouse insert into {Table} failed again (attempt {Attempt}): {Error}; next in {DelayMs} ms",
                _table.Table, attempts, error.Message, (long?)retryIn?.TotalMilliseconds);
        }
    }

    private void InsertSucceeded()
    {
        DateTimeOffset? since;
        int attempts;
        lock (_statusLock)
        {
            LastError = null;
            (since, attempts) = (_failingSince, _failedAttempts);
            (_failingSince, _failedAttempts) = (null, 0);
        }

        if (since is { } s)
        {
            _failing.Set(0);
            _logger.LogInformation("ClickHouse inserts into {Table} succeed again after {Seconds:0.0} s and {Attempts} failed attempts; {Held} rows still held",
                _table.Table, (_time.GetUtcNow() - s).TotalSeconds, attempts, RowsHeld);
        }
    }

    private void CountSkipped(int count)
    {
        _duplicates.Inc(count);
        Interlocked.Add(ref _skipped, count);
    }

    private void GiveUp(int rows, Exception? error, string why)
    {
        if (rows == 0)
        {
            return;
        }

        _failed.Inc(rows);
        Interlocked.Add(ref _given, rows);
        _logger.LogError(error, "ClickHouse sink for {Table} gave up {Rows} rows: {Why}", _table.Table, rows, why);
    }

    private readonly record struct Entry(TRow Row, TaskCompletionSource? Flush, bool Check);

    private sealed record StoredKey(string K);
}

/// <summary>
/// One sink's state for health reporting: rows held (accepted, not yet inserted) and, while inserts
/// fail, since when, how many attempts failed and the last error.
/// </summary>
public sealed record SinkStatus(string Table, long RowsHeld, DateTimeOffset? FailingSince, int FailedAttempts, string? LastError)
{
    public bool Failing => FailingSince is not null;
}
