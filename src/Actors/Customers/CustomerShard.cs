using Akka.Actor;
using Akka.Event;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Lifecycle;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Operations;
using Siyu.Actors.Storage;

namespace Siyu.Actors.Customers;

/// <summary>
/// One shard of customers: the sharded entity (one per Akka shard) that hosts a
/// <see cref="CustomerActor"/> per resident customer. It splits an ingest batch into one delivery
/// per customer, brings customers into memory in batches (one store query for all the customers
/// of the messages that arrived meanwhile), lets idle ones leave, and wakes the customers whose
/// next wake the store says is due (durable timers: docs/architecture.md, "Timers").
/// </summary>
public sealed class CustomerShard : ReceiveActor, IWithTimers
{
    private sealed class Child(IActorRef actor)
    {
        public IActorRef Actor = actor;
        public long LastActive = Environment.TickCount64;
        public List<(object Message, IActorRef Sender)>? Held; // while it is asked to leave
    }

    private readonly int _shard;
    private readonly CustomerEntityOptions _options;
    private readonly CustomerRegions _regions;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private readonly Dictionary<string, Child> _children = new(StringComparer.Ordinal);
    private readonly Dictionary<IActorRef, string> _ids = [];
    private readonly Dictionary<string, List<(object Message, IActorRef Sender)>> _loading = new(StringComparer.Ordinal);
    private List<string> _toLoad = [];
    private bool _loadInFlight;
    private readonly Dictionary<string, DateTimeOffset> _woken = new(StringComparer.Ordinal);
    private bool _scanning;
    private int _failedScans; // consecutive: the outage is logged once, then once when it is over
    private bool _stopping;

    public ITimerScheduler Timers { get; set; } = null!;

    public CustomerShard(int shard, CustomerEntityOptions options, CustomerRegions regions)
    {
        _shard = shard;
        _options = options;
        _regions = regions;

        Receive<CustomerBatch>(Split);
        Receive<ICustomerMessage>(m => Route(m.CustomerId, m, Sender));
        Receive<Loaded>(OnLoaded);
        Receive<LoadFailed>(OnLoadFailed);
        Receive<CustomerActor.Passivated>(p => Left(p.CustomerId, p.Actor));
        Receive<CustomerActor.PassivationRefused>(p => Stays(p.CustomerId));
        Receive<Terminated>(t =>
        {
            if (_ids.Remove(t.ActorRef, out var id) && _children.TryGetValue(id, out var c) && c.Actor.Equals(t.ActorRef))
            {
                Left(id, t.ActorRef); // stopped without asking (a failure): its unsaved events are retried by ingest
            }
        });
        Receive<Sweep>(_ => PassivateIdle());
        Receive<ScanDue>(_ => ScanWakes());
        Receive<DueWakes>(OnDue);
        Receive<CustomerWoken>(w => _woken.Remove(w.CustomerId));
        Receive<Status.Failure>(f =>
        {
            _scanning = false;
            if (_failedScans++ == 0)
            {
                // Once per outage: the store is down for every shard at once and /health says so.
                _log.Warning(f.Cause, "Scanning due wakes of customer shard {0} failed; retried every {1} (logged again when it succeeds)", _shard, _options.WakeCheckInterval);
            }
        });
        Receive<PokeCustomerShard>(_ => { });
        Receive<StopCustomerShard>(_ => BeginStop());
        Receive<StopCheck>(_ => TryStop());
    }

    public static Props PropsFor(int shard, CustomerEntityOptions options, CustomerRegions regions) =>
        Props.Create(() => new CustomerShard(shard, options, regions));

    // A customer that throws is stopped, not restarted: a restart would start again from the state
    // it was loaded with. Its unacknowledged events are retried by ingest and find it anew.
    protected override SupervisorStrategy SupervisorStrategy() => new OneForOneStrategy(_ => Directive.Stop);

    protected override void PreStart()
    {
        var sweep = TimeSpan.FromTicks(Math.Max(TimeSpan.FromSeconds(1).Ticks, _options.PassivateIdleAfter.Ticks / 4));
        Timers.StartPeriodicTimer("sweep", Sweep.Instance, sweep);
        Timers.StartPeriodicTimer("wakes", ScanDue.Instance, _options.WakeCheckInterval);
    }

    private void Split(CustomerBatch batch)
    {
        // One delivery per customer, its items in batch order.
        if (batch.Items.Count == 1)
        {
            Route(batch.Items[0].CustomerId, new Deliver(batch.Items, batch.ReplyTo), batch.ReplyTo);
            return;
        }
        var byCustomer = new Dictionary<string, List<BatchItem>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var item in batch.Items)
        {
            if (!byCustomer.TryGetValue(item.CustomerId, out var items))
            {
                byCustomer[item.CustomerId] = items = [];
                order.Add(item.CustomerId);
            }
            items.Add(item);
        }
        foreach (var id in order)
        {
            Route(id, new Deliver(byCustomer[id], batch.ReplyTo), batch.ReplyTo);
        }
    }

    private void Route(string customerId, object message, IActorRef sender)
    {
        if (_children.TryGetValue(customerId, out var child))
        {
            if (child.Held is { } held)
            {
                held.Add((message, sender)); // asked to leave: decided when it answers
                return;
            }
            child.LastActive = Environment.TickCount64;
            child.Actor.Tell(message, sender);
            return;
        }
        if (!_loading.TryGetValue(customerId, out var queued))
        {
            _loading[customerId] = queued = [];
            _toLoad.Add(customerId);
        }
        queued.Add((message, sender));
        LoadNext();
    }

    // --- bringing customers into memory, many per store query ---------------------------------

    private sealed record Loaded(List<string> Ids, IReadOnlyList<StoredCustomer> Found);

    private sealed record LoadFailed(List<string> Ids, Exception Cause);

    private void LoadNext()
    {
        if (_loadInFlight || _toLoad.Count == 0)
        {
            return;
        }
        var ids = _toLoad;
        _toLoad = [];
        _loadInFlight = true;
        _options.RequireCommitter().Store.LoadCustomersAsync(ids, CancellationToken.None)
            .PipeTo(Self, success: found => new Loaded(ids, found), failure: e => new LoadFailed(ids, e));
    }

    private void OnLoaded(Loaded loaded)
    {
        _loadInFlight = false;
        var found = new Dictionary<string, StoredCustomer>(loaded.Found.Count, StringComparer.Ordinal);
        foreach (var f in loaded.Found)
        {
            found[f.CustomerId] = f;
        }
        foreach (var id in loaded.Ids)
        {
            if (!_loading.Remove(id, out var queued))
            {
                continue;
            }
            found.TryGetValue(id, out var stored);
            if (stored is null && queued.TrueForAll(q => q.Message is GetCustomer or GetIdentity))
            {
                // Nobody by that id: answer without keeping an empty customer in memory.
                foreach (var (message, sender) in queued)
                {
                    sender.Tell(message is GetCustomer ? CustomerState.Empty(id) : new CustomerIdentity(id, null, null, default));
                }
                continue;
            }
            var actor = Context.ActorOf(CustomerActor.PropsFor(id, _shard, stored, _options, _regions));
            Context.Watch(actor);
            _ids[actor] = id;
            var child = new Child(actor);
            _children[id] = child;
            foreach (var (message, sender) in queued)
            {
                actor.Tell(message, sender);
            }
        }
        LoadNext();
        if (_stopping)
        {
            TryStop();
        }
    }

    private void OnLoadFailed(LoadFailed failed)
    {
        _loadInFlight = false;
        _log.Warning(failed.Cause, "Loading {0} customers of shard {1} failed; their messages fail and are retried", failed.Ids.Count, _shard);
        foreach (var id in failed.Ids)
        {
            if (!_loading.Remove(id, out var queued))
            {
                continue;
            }
            foreach (var (message, sender) in queued)
            {
                Fail(message, sender, failed.Cause);
            }
        }
        LoadNext();
    }

    private static void Fail(object message, IActorRef sender, Exception cause)
    {
        if (message is Deliver d)
        {
            foreach (var item in d.Items)
            {
                d.ReplyTo.Tell(new EventOutcome(item.Ticket, item.CustomerId, OutcomeKind.Failed, Detail: "the customer could not be loaded: " + cause.Message));
            }
            return;
        }
        sender.Tell(new Status.Failure(cause));
    }

    // --- leaving memory --------------------------------------------------------------------

    private sealed record Sweep
    {
        public static readonly Sweep Instance = new();
    }

    private void PassivateIdle()
    {
        var idleSince = Environment.TickCount64 - (long)_options.PassivateIdleAfter.TotalMilliseconds;
        foreach (var child in _children.Values)
        {
            if (child.Held is null && child.LastActive < idleSince)
            {
                AskToLeave(child);
            }
        }
    }

    private static void AskToLeave(Child child)
    {
        child.Held = [];
        child.Actor.Tell(CustomerActor.Passivate.Instance);
    }

    private void Left(string customerId, IActorRef actor)
    {
        if (!_children.TryGetValue(customerId, out var child) || !child.Actor.Equals(actor))
        {
            return;
        }
        _children.Remove(customerId);
        _options.Resident.Remove(customerId);
        // Messages that arrived while it was asked to leave: bring it back (from its saved state).
        if (child.Held is { Count: > 0 } held)
        {
            foreach (var (message, sender) in held)
            {
                Route(customerId, message, sender);
            }
        }
        if (_stopping)
        {
            TryStop();
        }
    }

    private void Stays(string customerId)
    {
        if (!_children.TryGetValue(customerId, out var child) || child.Held is not { } held)
        {
            return;
        }
        child.Held = null;
        child.LastActive = Environment.TickCount64;
        foreach (var (message, sender) in held)
        {
            child.Actor.Tell(message, sender);
        }
        if (_stopping)
        {
            Timers.StartSingleTimer("stop", StopCheck.Instance, TimeSpan.FromMilliseconds(100));
        }
    }

    // --- durable timers: the store knows every customer's next wake ---------------------------

    private sealed record ScanDue
    {
        public static readonly ScanDue Instance = new();
    }

    private sealed record DueWakes(IReadOnlyList<string> CustomerIds, DateTimeOffset Now);

    private void ScanWakes()
    {
        if (_scanning || _stopping)
        {
            return;
        }
        var now = _options.Clock.GetUtcNow();
        foreach (var (id, sentAt) in _woken.ToList())
        {
            if (now - sentAt >= _options.WakeRetryAfter)
            {
                _woken.Remove(id); // unanswered: sent again
            }
        }
        var room = _options.MaxWakesInFlight - _woken.Count;
        if (room <= 0)
        {
            return;
        }
        _scanning = true;
        _options.RequireCommitter().Store.DueAsync(_shard, now, room + _woken.Count, CancellationToken.None)
            .PipeTo(Self, success: ids => new DueWakes(ids, now));
    }

    private void OnDue(DueWakes due)
    {
        _scanning = false;
        if (_failedScans > 0)
        {
            _log.Info("Scanning due wakes of customer shard {0} works again after {1} failed scans", _shard, _failedScans);
            _failedScans = 0;
        }
        foreach (var id in due.CustomerIds)
        {
            if (_woken.Count >= _options.MaxWakesInFlight)
            {
                break;
            }
            if (_woken.TryAdd(id, due.Now))
            {
                // The customer ticks, saves (with its next wake) and answers; until then the store
                // still lists it, and a repeated wake decides nothing (what fired is in its state).
                Route(id, new WakeCustomer(id, due.Now), Self);
            }
        }
    }

    // --- hand-off: everything saved before the shard moves or the node stops -------------------

    private sealed record StopCheck
    {
        public static readonly StopCheck Instance = new();
    }

    private void BeginStop()
    {
        _stopping = true;
        TryStop();
    }

    private void TryStop()
    {
        if (_children.Count == 0 && _loading.Count == 0 && !_loadInFlight)
        {
            Context.Stop(Self);
            return;
        }
        foreach (var child in _children.Values)
        {
            if (child.Held is null)
            {
                AskToLeave(child);
            }
        }
    }
}
