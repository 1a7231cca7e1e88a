using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Event;
using Akka.Persistence;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Operations;

namespace Siyu.Actors.Customers;

/// <summary>
/// Where a customer lives: a thin shell around <see cref="CustomerDecider"/>.
///
/// Durability (docs/architecture.md): Kafka is the event log, so input events are not journaled
/// one by one. The actor applies them in memory and, at most once per <see cref="CustomerEntityOptions.FlushInterval"/>,
/// saves its whole state as one snapshot row (a fixed sequence number, so the row is replaced,
/// not added). Every event applied before a save is acknowledged only when that save succeeds;
/// ingest commits an offset only after the acknowledgement. A crash therefore loses nothing that
/// was committed: the unacknowledged events are redelivered, and the seen-event window drops the
/// ones the saved state already covers.
/// </summary>
public sealed class CustomerActor : ReceivePersistentActor, IWithTimers
{
    private readonly CustomerEntityOptions _options;
    private readonly IActorRef _customers;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private CustomerState _state;
    private List<(IActorRef ReplyTo, object Reply)> _waiting = [];   // applied, not yet saved
    private List<(IActorRef ReplyTo, object Reply)> _saving = [];    // in the save under way
    // Not "_saving is empty": a save retried after a failure may carry no waiter, and a duplicate
    // arriving meanwhile must still wait for it instead of being acknowledged at once.
    private bool _saveUnderWay;
    private bool _dirty;
    private bool _stopAfterSave;
    private CustomerState? _published;   // last profile announced (null: never), to compute changes
    private CustomerState? _savingState; // the state the save under way writes
    private List<AttributedSale> _sales = [];  // rows of events applied since the last save
    private List<Touch> _touches = [];
    private readonly HashSet<string> _publishing = new(StringComparer.Ordinal); // outbox notices being published
    private DateTimeOffset? _wakeRegistered; // the earliest wake this incarnation knows the due index holds
    private int _failedSaves; // in a row: the retry backs off, and only the first one is a warning

    public ITimerScheduler Timers { get; set; } = null!;
    public override string PersistenceId { get; }

    public CustomerActor(string customerId, CustomerEntityOptions options, IActorRef customerRegion)
    {
        _options = options;
        _customers = customerRegion;
        _state = CustomerState.Empty(customerId);
        PersistenceId = "customer-" + customerId;

        Recover<SnapshotOffer>(offer => _state = CustomerSnapshot.Deserialize((byte[])offer.Snapshot));
        Recover<RecoveryCompleted>(_ =>
        {
            _published = _state.IsNew && _state.MergedInto is null ? null : _state;
            if (_published is not null)
            {
                // The last publication may have died with the previous process (kill -9 between
                // the save and the producer's send): announce the saved profile again, without
                // change events. Latest wins on the compacted topic, so a repeat is harmless.
                _options.Publisher.Publish(_state.CustomerId, Profile.ToJson(_state, Now, _options.Rules), []);
            }
            if (!_state.Ops.Outbox.IsEmpty)
            {
                Self.Tell(PublishOutbox.Instance); // decided and saved before a crash, maybe never published
            }
            if (_state.HandOverPending)
            {
                // Frozen for a merge whose hand-over died with the previous process. Nobody asks
                // again: the resolver already follows the pointer to the survivor, so the events
                // retried after the crash reach the survivor without this customer's history
                // (orders missing from the merged profile in the kill -9 test). Resume it here.
                Self.Tell(ResumeHandOver.Instance);
            }
        });
        Active();
    }

    public static Props PropsFor(string customerId, CustomerEntityOptions options, IActorRef customerRegion) =>
        Props.Create(() => new CustomerActor(customerId, options, customerRegion));

    private DateTimeOffset Now => _options.Clock.GetUtcNow();

    private void Active()
    {
        Command<ObserveEvent>(m =>
        {
            if (_state.HandOverPending)
            {
                // Until the survivor holds this customer's history: a refund of an order only this
                // side has seen would find no order there (and be dead-lettered after its grace).
                Stash.Stash();
                return;
            }
            if (_state.MergedInto is { } survivor)
            {
                _customers.Forward(m with { CustomerId = survivor });
                return;
            }
            var notices = Execute(new Observe(m.Event, Now));
            Execute(new Tick(Now)); // audiences and anything due follow the event at once
            AfterSave(Sender, new EventAccepted(_state.CustomerId, m.Event.EventId, notices));
        });
        Command<AbsorbCustomer>(m =>
        {
            if (_state.HandOverPending)
            {
                Stash.Stash(); // forwarded once this customer's own hand-over is done
                return;
            }
            if (_state.MergedInto is { } survivor)
            {
                _customers.Forward(m with { CustomerId = survivor });
                return;
            }
            Execute(new Absorb(m.Other, Now));
            AfterSave(Sender, new CustomerAbsorbedReply(_state.CustomerId, m.Other.CustomerId));
        });
        Command<MergeInto>(m => StartMerge(m, Sender));
        Command<ResumeHandOver>(_ =>
        {
            if (_state.HandOverPending && _state.MergedInto is { } survivor)
            {
                StartMerge(new MergeInto(_state.CustomerId, survivor), ActorRefs.Nobody);
            }
        });
        Command<EraseCustomer>(m =>
        {
            if (_state.HandOverPending)
            {
                Stash.Stash(); // the survivor erases this customer's history once it holds it
                return;
            }
            if (_state.MergedInto is { } survivor)
            {
                _customers.Forward(m with { CustomerId = survivor });
                return;
            }
            if (_saveUnderWay)
            {
                Stash.Stash(); // after the save under way
                return;
            }
            StartErasure(Sender);
        });
        Command<WakeCustomer>(m =>
        {
            if (_state.MergedInto is not null)
            {
                Sender.Tell(new CustomerWoken(_state.CustomerId, m.DueAt)); // the survivor keeps its own wakes
                return;
            }
            _wakeRegistered = null; // this entry is being consumed: the save registers the next one
            Execute(new Tick(Now));
            _dirty |= OperationsDecider.NextWake(_state, Now, _options.Rules) is not null;
            AfterSave(Sender, new CustomerWoken(_state.CustomerId, m.DueAt));
        });
        Command<PublishOutbox>(_ => StartPublishing(_state));
        Command<OutboxPublished>(p =>
        {
            _publishing.ExceptWith(p.Ids);
            _state = OperationsDecider.Published(_state, p.Ids);
            _dirty = true; // the shorter outbox is saved with the next flush (a crash republishes: ids dedup)
            AfterSave(ActorRefs.Nobody, p);
        });
        Command<OutboxFailed>(f =>
        {
            _publishing.ExceptWith(f.Ids);
            _log.Warning(f.Cause, "Publishing operations of customer {0} failed; retried after its next save", _state.CustomerId);
        });
        Command<GetCustomer>(_ => Sender.Tell(_state));
        Command<GetIdentity>(_ => Sender.Tell(Identity()));
        Command<StopCustomer>(_ => StopAfterSave());
        CommonSaveHandling();
    }

    private CustomerIdentity Identity() =>
        new(_state.CustomerId, _state.IsNew ? null : _state.CreatedAt, _state.MergedInto, _state.Ids, _state.HandOverPending);

    /// <summary>Decides, applies in memory, and returns the notices for the caller.</summary>
    private IReadOnlyList<CustomerNotice> Execute(CustomerCommand command)
    {
        var events = CustomerDecider.Decide(_state, command, _options.Rules, _options.Campaigns());
        var before = _state.Version;
        _state = CustomerDecider.ApplyAll(_state, events, _options.Rules);
        _sales.AddRange(SalesProjection.Sales(_state.CustomerId, events));
        _touches.AddRange(SalesProjection.Touches(_state.CustomerId, events));
        if (_state.Version != before)
        {
            _dirty = true;
        }
        return events.OfType<CustomerNotice>().ToList();
    }

    /// <summary>Replies once everything applied so far is durable (at once if it already is).</summary>
    private void AfterSave(IActorRef replyTo, object reply)
    {
        if (!_dirty && !_saveUnderWay)
        {
            replyTo.Tell(reply);
            return;
        }
        _waiting.Add((replyTo, reply));
        if (!Timers.IsTimerActive("flush") && !_saveUnderWay)
        {
            Timers.StartSingleTimer("flush", Flush.Instance, _options.FlushInterval);
        }
    }

    private sealed class Flush
    {
        public static readonly Flush Instance = new();
    }

    private sealed record RowsWritten;

    private sealed record WakeNotScheduled(Exception Cause);

    private sealed record RowsFailed(Exception Cause, List<AttributedSale> Sales, List<Touch> Touches);

    private void CommonSaveHandling()
    {
        Command<Flush>(_ => Save());
        Command<WakeScheduled>(w =>
        {
            _wakeRegistered = w.DueAt;
            WriteRowsThenState();
        });
        Command<WakeNotScheduled>(f =>
        {
            // The state is saved all the same (events must not wait on the index, e.g. while the
            // node stops); the wake that woke us is not acknowledged, so the index keeps its entry
            // and wakes us again, and that save registers the next wake.
            _log.Warning(f.Cause, "Registering the next wake of customer {0} failed", _state.CustomerId);
            _saving = _saving.Select(w => w.Reply is CustomerWoken ? (w.ReplyTo, (object)new Status.Failure(f.Cause)) : w).ToList();
            WriteRowsThenState();
        });
        Command<RowsWritten>(_ => SaveSnapshot(CustomerSnapshot.Serialize(_savingState!)));
        Command<RowsFailed>(f =>
        {
            _log.Warning(f.Cause, "Writing sales of customer {0} failed; {1} events will be redelivered", _state.CustomerId, _saving.Count);
            _sales.InsertRange(0, f.Sales);
            _touches.InsertRange(0, f.Touches);
            foreach (var (replyTo, _) in _saving)
            {
                replyTo.Tell(new Status.Failure(f.Cause));
            }
            _saving = [];
            _saveUnderWay = false;
            _dirty = true;
            AfterSaveCompleted();
        });
        Command<SaveSnapshotSuccess>(_ =>
        {
            if (_failedSaves > 0)
            {
                _log.Info("Saved customer {0} again after {1} failed attempts", _state.CustomerId, _failedSaves);
                _failedSaves = 0;
            }
            Announce(_savingState!);
            foreach (var (replyTo, reply) in _saving)
            {
                replyTo.Tell(reply);
            }
            _saving = [];
            _saveUnderWay = false;
            AfterSaveCompleted();
        });
        Command<SaveSnapshotFailure>(f =>
        {
            // The journal down: one warning per customer and outage, not one per retry.
            if (_failedSaves++ == 0)
            {
                _log.Warning(f.Cause, "Saving customer {0} failed; its {1} events stay unacknowledged and the save is retried with backoff", _state.CustomerId, _saving.Count);
            }
            foreach (var (replyTo, _) in _saving)
            {
                replyTo.Tell(new Status.Failure(f.Cause));
            }
            _saving = [];
            _saveUnderWay = false;
            _dirty = true; // the state still has to reach the store
            AfterSaveCompleted();
        });
    }

    private void Save()
    {
        if (_saveUnderWay)
        {
            return; // one save at a time; the next starts when this one ends
        }
        if (!_dirty)
        {
            Reply(_waiting);
            _waiting = [];
            return;
        }
        (_saving, _waiting) = (_waiting, []);
        _saveUnderWay = true;
        _dirty = false;
        _savingState = _state;
        // The next wake reaches the due index before the state that needs it is saved: a crash in
        // between leaves an extra wake (harmless), never a customer nobody wakes.
        if (_options.Wakes != ActorRefs.Nobody
            && OperationsDecider.NextWake(_savingState, Now, _options.Rules) is { } wake
            && (_wakeRegistered is not { } registered || wake < registered))
        {
            var bucket = WakeIndexOptions.BucketOf(_state.CustomerId, _options.WakeBuckets);
            _options.Wakes.Ask<WakeScheduled>(new ScheduleWake(bucket, _state.CustomerId, wake), _options.AskTimeout)
                .PipeTo(Self, success: w => w, failure: e => new WakeNotScheduled(e));
            return;
        }
        WriteRowsThenState();
    }

    private void WriteRowsThenState()
    {
        if (_sales.Count == 0 && _touches.Count == 0)
        {
            // Sequence number stays at 0 (nothing is journaled), so each save replaces the row.
            SaveSnapshot(CustomerSnapshot.Serialize(_state));
            return;
        }
        // Rows first, then the state: a crash in between repeats rows, which collapse by event_id.
        var (sales, touches) = (_sales, _touches);
        (_sales, _touches) = ([], []);
        _options.Sales.WriteAsync(sales, touches, CancellationToken.None)
            .PipeTo(Self, success: () => new RowsWritten(), failure: e => new RowsFailed(e, sales, touches));
    }

    /// <summary>One profile per save, never for state that is not yet durable: bursts coalesce.</summary>
    private void Announce(CustomerState saved)
    {
        var now = Now;
        var changes = Profile.Changes(_published, saved, now, _options.Rules);
        _options.Publisher.Publish(saved.CustomerId, Profile.ToJson(saved, now, _options.Rules), changes);
        _published = saved;
        StartPublishing(saved);
    }

    // --- operations outbox (service_due, churn_risk, reminders, audiences, compliance rows) ---

    private sealed class PublishOutbox
    {
        public static readonly PublishOutbox Instance = new();
    }

    private sealed record OutboxPublished(IReadOnlyCollection<string> Ids);

    private sealed record OutboxFailed(Exception Cause, IReadOnlyCollection<string> Ids);

    /// <summary>Publishes the saved outbox; it is emptied only once the publisher confirmed (at-least-once).</summary>
    private void StartPublishing(CustomerState saved)
    {
        // Only what the current state still holds: a save that was under way when a publication
        // was confirmed must not publish it again.
        var current = _state.Ops.Outbox.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        var notices = saved.Ops.Outbox.Where(n => current.Contains(n.Id) && !_publishing.Contains(n.Id)).ToList();
        if (notices.Count == 0)
        {
            return;
        }
        var ids = notices.Select(n => n.Id).ToHashSet(StringComparer.Ordinal);
        _publishing.UnionWith(ids);
        _options.Operations.PublishAsync(saved.CustomerId, notices, CancellationToken.None)
            .PipeTo(Self, success: () => new OutboxPublished(ids), failure: e => new OutboxFailed(e, ids));
    }

    private void AfterSaveCompleted()
    {
        Stash.UnstashAll();
        if (_waiting.Count > 0 || _dirty)
        {
            Timers.StartSingleTimer("flush", Flush.Instance, NextFlush());
        }
        else if (_stopAfterSave)
        {
            Context.Stop(Self);
        }
    }

    /// <summary>The flush interval; after failed saves, doubled per failure up to 5 s, so a journal that is down is not hammered.</summary>
    private TimeSpan NextFlush()
    {
        var flush = _options.FlushInterval.TotalMilliseconds;
        return _failedSaves == 0
            ? _options.FlushInterval
            : TimeSpan.FromMilliseconds(Math.Max(flush, Math.Min(5_000, flush * Math.Pow(2, Math.Min(_failedSaves, 16)))));
    }

    private static void Reply(List<(IActorRef ReplyTo, object Reply)> waiting)
    {
        foreach (var (replyTo, reply) in waiting)
        {
            replyTo.Tell(reply);
        }
    }

    private void StopAfterSave()
    {
        if (!_dirty && !_saveUnderWay && _waiting.Count == 0)
        {
            Context.Stop(Self);
            return;
        }
        _stopAfterSave = true;
        Timers.Cancel("flush");
        Save();
    }

    // --- erasure ----------------------------------------------------------------------------

    private sealed record IdsReleased(IActorRef ReplyTo);

    private void StartErasure(IActorRef replyTo)
    {
        if (_state.IsNew && _state.MergedFrom.Count == 0)
        {
            replyTo.Tell(new CustomerErased(_state.CustomerId, Found: false));
            return;
        }
        Timers.Cancel("flush");
        var releases = _state.Ids.Select(id => _options.IdentityRegion.Ask<Siyu.Actors.Identity.IdReleased>(
            new Siyu.Actors.Identity.ReleaseId(Siyu.Actors.Identity.IdKey.Of(id.Type, id.Value), _state.CustomerId), _options.AskTimeout));
        Task.WhenAll(releases).PipeTo(Self, success: () => new IdsReleased(replyTo), failure: e => new Status.Failure(e));
        Become(() => Erasing(replyTo));
    }

    private void Erasing(IActorRef replyTo)
    {
        Command<IdsReleased>(_ => DeleteSnapshots(new SnapshotSelectionCriteria(long.MaxValue)));
        Command<DeleteSnapshotsSuccess>(_ =>
        {
            foreach (var absorbed in _state.MergedFrom)
            {
                _customers.Tell(new EraseCustomer(absorbed)); // their pointer rows go too
            }
            _options.Publisher.Erase(_state.CustomerId, Now);
            if (_options.Wakes != ActorRefs.Nobody)
            {
                _options.Wakes.Tell(new CancelWakes(WakeIndexOptions.BucketOf(_state.CustomerId, _options.WakeBuckets), _state.CustomerId));
            }
            Reply(_waiting); // applied events are settled: their data is gone with the rest
            _waiting = [];
            replyTo.Tell(new CustomerErased(_state.CustomerId, Found: true));
            _state = CustomerState.Empty(_state.CustomerId);
            _published = null;
            (_sales, _touches) = ([], []);
            _dirty = false;
            Become(Active);
            Stash.UnstashAll();
            // Through the shard, which holds messages for this id until the actor is gone; a
            // plain Context.Stop would leave the shard routing to a dead actor.
            Context.Parent.Tell(new Akka.Cluster.Sharding.Passivate(StopCustomer.Instance));
        });
        Command<DeleteSnapshotsFailure>(f => FailErasure(replyTo, f.Cause));
        Command<Status.Failure>(f => FailErasure(replyTo, f.Cause));
        // An event resolved to this customer just before its ids were released: ingest retries it
        // and the resolver finds (or creates) its customer afresh.
        Command<ObserveEvent>(_ => Sender.Tell(new Status.Failure(new InvalidOperationException("customer is being erased"))));
        CommandAny(_ => Stash.Stash());
    }

    private void FailErasure(IActorRef replyTo, Exception cause)
    {
        _log.Warning(cause, "Erasing customer {0} failed; it can be asked again", _state.CustomerId);
        replyTo.Tell(new Status.Failure(cause));
        Become(Active);
        Stash.UnstashAll();
    }

    // --- merges ---------------------------------------------------------------------------

    private sealed record HandedOver(IActorRef ReplyTo, string SurvivorId);

    private sealed record HandOverFailed(IActorRef ReplyTo, Exception Cause);

    private sealed class ResumeHandOver
    {
        public static readonly ResumeHandOver Instance = new();
    }

    private static readonly TimeSpan HandOverRetry = TimeSpan.FromSeconds(2);

    private void StartMerge(MergeInto m, IActorRef replyTo)
    {
        if (_state.MergedInto is { } already && !_state.HandOverPending)
        {
            replyTo.Tell(new MergedReply(_state.CustomerId, already));
            return;
        }
        if (m.SurvivorId == _state.CustomerId)
        {
            replyTo.Tell(new MergedReply(_state.CustomerId, _state.CustomerId));
            return;
        }
        if (_state.MergedInto is null)
        {
            // Point at the survivor and freeze the state before handing it over (BeginHandOver).
            Execute(new BeginHandOver(m.SurvivorId, Now));
        }
        if (_dirty || _saveUnderWay)
        {
            // Hand over only saved state: the save writes the rows of the events applied since
            // the last one. Handed over unsaved, those events counted at the survivor while their
            // rows could die with the process, and their redelivery was then a duplicate there
            // (an order lost from ClickHouse in the kill -9 test, tests/Siyu.Reliability.Tests).
            Stash.Stash();
            if (!Timers.IsTimerActive("flush") && !_saveUnderWay)
            {
                Timers.StartSingleTimer("flush", Flush.Instance, _options.FlushInterval);
            }
            return;
        }
        // The saved, frozen state goes to the survivor; only when it is durable there does this
        // customer drop it and keep the pointer. A crash in between repeats the hand-over of the
        // same state (new events were forwarded meanwhile), which the survivor ignores.
        var survivor = _state.MergedInto!;
        var handed = _state with { MergedInto = null, HandOverPending = false };
        _customers.Ask<CustomerAbsorbedReply>(new AbsorbCustomer(survivor, handed), _options.AskTimeout)
            .PipeTo(Self, success: r => new HandedOver(replyTo, survivor), failure: e => new HandOverFailed(replyTo, e));
        Become(Merging);
    }

    private void Merging()
    {
        Command<HandedOver>(h =>
        {
            var ids = _state.Ids;
            Execute(new MarkMergedInto(h.SurvivorId, Now));
            foreach (var id in ids)
            {
                _options.IdentityRegion.Tell(new Siyu.Actors.Identity.RepointId(Siyu.Actors.Identity.IdKey.Of(id.Type, id.Value), _state.CustomerId, h.SurvivorId));
            }
            AfterSave(h.ReplyTo, new MergedReply(_state.CustomerId, h.SurvivorId));
            Become(Active);
            Stash.UnstashAll();
        });
        Command<HandOverFailed>(f =>
        {
            // The resolver treats a pointer as a finished merge and will not ask again, so the
            // frozen state must reach the survivor on this customer's own initiative.
            _log.Warning(f.Cause, "Handing customer {0} over to {1} failed; retrying in {2}", _state.CustomerId, _state.MergedInto, HandOverRetry);
            Timers.StartSingleTimer("hand-over", ResumeHandOver.Instance, HandOverRetry);
            f.ReplyTo.Tell(new Status.Failure(f.Cause));
            Become(Active);
            Stash.UnstashAll();
        });
        CommonSaveHandling();
        CommandAny(_ => Stash.Stash());
    }
}
