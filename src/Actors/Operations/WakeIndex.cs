using Akka.Actor;
using Akka.Event;
using Akka.Persistence;

namespace Siyu.Actors.Operations;

/// <summary>Messages of the due index; each names its bucket so sharding can route it.</summary>
public interface IWakeMessage
{
    int Bucket { get; }
}

/// <summary>Wake <paramref name="CustomerId"/> at <paramref name="DueAt"/>; answered with <see cref="WakeScheduled"/> once journaled.</summary>
public sealed record ScheduleWake(int Bucket, string CustomerId, DateTimeOffset DueAt) : IWakeMessage;

public sealed record WakeScheduled(string CustomerId, DateTimeOffset DueAt);

/// <summary>Forget every wake of the customer (erasure).</summary>
public sealed record CancelWakes(int Bucket, string CustomerId) : IWakeMessage;

/// <summary>Starts the bucket if it is not running (after a restart or a rebalance); no answer.</summary>
public sealed record PokeWakeBucket(int Bucket) : IWakeMessage;

/// <summary>Answered with the bucket's entries, earliest first, as a List of <see cref="WakeAdded"/> (tests, diagnostics).</summary>
public sealed record GetWakes(int Bucket) : IWakeMessage;

public sealed record WakeIndexOptions
{
    /// <summary>Buckets of the index; fixed for the life of a cluster (customers hash into them).</summary>
    public int Buckets { get; init; } = 32;

    /// <summary>How often a bucket compares its earliest entry with the clock.</summary>
    public TimeSpan CheckInterval { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>A wake not acknowledged within this is sent again.</summary>
    public TimeSpan RetryAfter { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Wakes a bucket has out at once (so a backlog after downtime does not start every customer together).</summary>
    public int MaxInFlight { get; init; } = 200;

    /// <summary>A snapshot after this many journaled changes, and the journal before it is deleted.</summary>
    public int SnapshotEvery { get; init; } = 1000;

    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>FNV-1a of the id: stable across processes and versions (string.GetHashCode is not).</summary>
    public static int BucketOf(string customerId, int buckets)
    {
        var h = 2166136261u;
        foreach (var c in customerId)
        {
            h = (h ^ c) * 16777619u;
        }
        return (int)(h % (uint)buckets);
    }
}

/// <summary>
/// The durable due index: which customer must be woken when. Customers are passivated when idle
/// (and move on a rebalance), so an in-memory timer cannot wake them; this entity keeps
/// (customer, due) entries in the journal, checks the clock every second and sends
/// <see cref="WakeCustomer"/> through the customer region, which starts a passivated customer.
/// An entry is removed only when the customer answers <see cref="CustomerWoken"/>, i.e. once what
/// the tick decided is saved; until then it is sent again, and the customer's state makes a
/// repeated wake decide nothing (fire once). The customer registers only wakes earlier than the
/// one it knows is registered, so most saves cost the index nothing.
/// </summary>
public sealed class WakeIndexEntity : ReceivePersistentActor, IWithTimers
{
    private readonly WakeIndexOptions _options;
    private readonly IActorRef _customers;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly SortedSet<(DateTimeOffset Due, string CustomerId)> _entries = [];
    private readonly Dictionary<string, DateTimeOffset> _inFlight = new(StringComparer.Ordinal); // customer -> sent at
    private int _sinceSnapshot;

    public ITimerScheduler Timers { get; set; } = null!;
    public override string PersistenceId { get; }

    public WakeIndexEntity(int bucket, WakeIndexOptions options, IActorRef customerRegion)
    {
        _options = options;
        _customers = customerRegion;
        PersistenceId = "wake-index-" + bucket;

        Recover<WakeAdded>(e => _entries.Add((e.DueAt, e.CustomerId)));
        Recover<WakesRemoved>(Remove);
        Recover<SnapshotOffer>(o =>
        {
            _entries.Clear();
            foreach (var e in ((WakeIndexSnapshot)o.Snapshot).Entries)
            {
                _entries.Add((e.DueAt, e.CustomerId));
            }
        });
        Recover<RecoveryCompleted>(_ => Timers.StartPeriodicTimer("check", Check.Instance, options.CheckInterval));

        Command<ScheduleWake>(m =>
        {
            var replyTo = Sender;
            if (_entries.Contains((m.DueAt, m.CustomerId)))
            {
                replyTo.Tell(new WakeScheduled(m.CustomerId, m.DueAt));
                return;
            }
            Persist(new WakeAdded(m.CustomerId, m.DueAt), e =>
            {
                _entries.Add((e.DueAt, e.CustomerId));
                replyTo.Tell(new WakeScheduled(e.CustomerId, e.DueAt));
                Journaled();
            });
        });
        Command<CustomerWoken>(m =>
        {
            _inFlight.Remove(m.CustomerId);
            if (_entries.Any(x => x.CustomerId == m.CustomerId && x.Due <= m.DueAt))
            {
                Persist(new WakesRemoved(m.CustomerId, m.DueAt), e => { Remove(e); Journaled(); });
            }
        });
        Command<CancelWakes>(m =>
        {
            _inFlight.Remove(m.CustomerId);
            if (_entries.Any(x => x.CustomerId == m.CustomerId))
            {
                Persist(new WakesRemoved(m.CustomerId, DateTimeOffset.MaxValue), e => { Remove(e); Journaled(); });
            }
        });
        Command<Check>(_ => WakeDue());
        Command<PokeWakeBucket>(_ => { });
        Command<GetWakes>(_ => Sender.Tell(_entries.Select(x => new WakeAdded(x.CustomerId, x.Due)).ToList()));
        Command<Status.Failure>(f => _log.Warning(f.Cause, "A wake of bucket {0} failed; it is retried", PersistenceId));
        Command<SaveSnapshotSuccess>(s => DeleteMessages(s.Metadata.SequenceNr));
        Command<SaveSnapshotFailure>(f => _log.Warning(f.Cause, "Snapshot of {0} failed", PersistenceId));
        Command<DeleteMessagesSuccess>(_ => { });
        Command<DeleteMessagesFailure>(_ => { });
    }

    public static Props PropsFor(int bucket, WakeIndexOptions options, IActorRef customerRegion) =>
        Props.Create(() => new WakeIndexEntity(bucket, options, customerRegion));


    private void WakeDue()
    {
        var now = _options.Clock.GetUtcNow();
        foreach (var (due, customerId) in _entries)
        {
            if (due > now || _inFlight.Count >= _options.MaxInFlight)
            {
                break;
            }
            if (_inFlight.TryGetValue(customerId, out var sentAt) && now - sentAt < _options.RetryAfter)
            {
                continue;
            }
            _inFlight[customerId] = now;
            // One wake covers every entry of the customer due by now; what the tick registers
            // next is later than now, so removing up to now after the save loses nothing.
            _customers.Tell(new WakeCustomer(customerId, now), Self);
        }
    }

    private void Remove(WakesRemoved e) =>
        _entries.RemoveWhere(x => x.CustomerId == e.CustomerId && x.Due <= e.UpTo);

    private void Journaled()
    {
        if (++_sinceSnapshot >= _options.SnapshotEvery)
        {
            _sinceSnapshot = 0;
            SaveSnapshot(new WakeIndexSnapshot(_entries.Select(x => new WakeAdded(x.CustomerId, x.Due)).ToList()));
        }
    }

    private sealed class Check
    {
        public static readonly Check Instance = new();
    }
}

/// <summary>Journal events of the due index.</summary>
public sealed record WakeAdded(string CustomerId, DateTimeOffset DueAt);

public sealed record WakesRemoved(string CustomerId, DateTimeOffset UpTo);

public sealed record WakeIndexSnapshot(List<WakeAdded> Entries);
