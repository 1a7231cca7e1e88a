namespace Siyu.Ingest;

/// <summary>
/// The bound on messages consumed but not yet durably handled, adapted to what the node can do
/// (additive increase, multiplicative decrease, as TCP does with its window).
/// </summary>
/// <remarks>
/// A fixed bound collapses a slow node: once the bound exceeds throughput × the handler's ask
/// timeout, every message in flight times out while its first copy is still queued, its retry
/// queues a second copy, and throughput falls further (measured by <c>siyu bench</c> and the demo
/// on a loaded 2-core box: 5,000 in flight at ~120 events/s meant thousands of timeouts and
/// retries). So any handler failure halves the bound (at most once per
/// <see cref="DecreaseInterval"/>, since one overload fails many messages at once), and every
/// success raises it by one, back up to the configured maximum.
/// </remarks>
public sealed class InFlightLimit
{
    public static readonly TimeSpan DecreaseInterval = TimeSpan.FromSeconds(1);

    private readonly object _gate = new();
    private readonly int _max;
    private readonly int _min;
    private readonly Func<long> _nowMs;
    private int _limit;
    private int _inFlight;
    private long _lastDecreaseMs = long.MinValue;

    public InFlightLimit(int max, int min = 16, Func<long>? nowMs = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        _max = max;
        _min = Math.Clamp(min, 1, max);
        _limit = max;
        _nowMs = nowMs ?? (() => Environment.TickCount64);
    }

    public int Limit
    {
        get { lock (_gate) { return _limit; } }
    }

    public int InFlight
    {
        get { lock (_gate) { return _inFlight; } }
    }

    /// <summary>Blocks until a message may be taken; throws when <paramref name="ct"/> fires.</summary>
    public void Wait(CancellationToken ct)
    {
        lock (_gate)
        {
            while (_inFlight >= _limit)
            {
                ct.ThrowIfCancellationRequested();
                Monitor.Wait(_gate, 100); // woken by Release; the timeout only re-checks cancellation
            }
            _inFlight++;
        }
    }

    /// <summary>Takes a slot if one is free now, without waiting.</summary>
    public bool TryWait()
    {
        lock (_gate)
        {
            if (_inFlight >= _limit)
            {
                return false;
            }
            _inFlight++;
            return true;
        }
    }

    /// <summary>The handler failed and will be retried: the node is overloaded or unwell.</summary>
    public void Failed()
    {
        lock (_gate)
        {
            var now = _nowMs();
            if (_lastDecreaseMs != long.MinValue && now - _lastDecreaseMs < (long)DecreaseInterval.TotalMilliseconds)
            {
                return;
            }
            _lastDecreaseMs = now;
            _limit = Math.Max(_min, _limit / 2);
        }
    }

    /// <summary>A message is done (handled, dead-lettered or given up).</summary>
    public void Release(bool succeeded)
    {
        lock (_gate)
        {
            _inFlight--;
            if (succeeded && _limit < _max)
            {
                _limit++;
            }
            Monitor.PulseAll(_gate);
        }
    }
}
