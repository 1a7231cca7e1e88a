using System.Collections.Immutable;
using Akka.Actor;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Operations;
using AbsorbCommand = Siyu.Actors.Customers.Absorb;
using ObserveCommand = Siyu.Actors.Customers.Observe;

namespace Siyu.Actors.Customers.Lifecycle;

/// <summary>
/// A reply kept until the state it depends on is durable: <see cref="Success"/> after the save,
/// <see cref="Failure"/> if the save fails (the caller retries); without one, the failure is
/// derived from the success (<see cref="FailureOf"/>), so no second message is built per event.
/// </summary>
public sealed record Pending(IActorRef To, object Success, object? Failure = null)
{
    public object FailureOf() => Failure ?? Success switch
    {
        EventOutcome o => o with { Kind = OutcomeKind.Failed, Detail = "the customer's save failed" },
        _ => new Status.Failure(new InvalidOperationException("the customer's save failed")),
    };
}

/// <summary>The items of one batch for one customer (from its shard, or held and handled again).</summary>
public sealed record Deliver(IReadOnlyList<BatchItem> Items, IActorRef ReplyTo);

/// <summary>A message held while a hand-over or an erasure is under way, with its sender, handled again afterwards.</summary>
public sealed record Held(object Message, IActorRef Sender);

public enum MergeStage
{
    None,

    /// <summary>Pointing at the survivor with the state frozen; waiting for that to be saved.</summary>
    Freezing,

    /// <summary>The frozen state is on its way to the survivor.</summary>
    HandingOver,

    /// <summary>The survivor holds the history; waiting for the bare pointer to be saved.</summary>
    Pointing,
}

public enum EraseStage
{
    None,

    /// <summary>A save is under way; erasure starts when it ends.</summary>
    WaitingForSave,

    /// <summary>The customer's ids are being released in the index.</summary>
    ReleasingIds,

    /// <summary>The emptied state with the "erased" change is being saved (it replaces every personal field).</summary>
    SavingErasure,

    /// <summary>The "erased" change and the profile tombstone are on their way to Kafka.</summary>
    PublishingErasure,

    /// <summary>
    /// The customers merged into this one are being erased (their pointer rows, profiles and
    /// changes): before this row becomes a tombstone, so a crash leaves the list to resume from.
    /// </summary>
    ErasingAbsorbed,

    /// <summary>The saved state is being replaced by a tombstone.</summary>
    Tombstoning,
}

/// <summary>
/// Everything about one customer that is not business rules: the state in memory, what of it is
/// durable, which replies wait for which save, and where a merge or an erasure stands.
/// Immutable; <see cref="CustomerLifecycle"/> moves it on and says what the actor must do.
/// </summary>
public sealed record Life
{
    public required CustomerState State { get; init; }

    /// <summary>The state as last saved; null while nothing was saved.</summary>
    public CustomerState? Durable { get; init; }

    /// <summary>The state whose profile was last announced (null: none yet).</summary>
    public CustomerState? Published { get; init; }

    /// <summary>The state whose profile changes are already in the outbox (null: none recorded yet, the customer is new).</summary>
    public CustomerState? Recorded { get; init; }

    /// <summary>Profile changes handed to the publisher and not yet acknowledged.</summary>
    public ImmutableHashSet<string> PublishingChanges { get; init; } = ImmutableHashSet<string>.Empty;

    public bool ChangesRetryScheduled { get; init; }

    /// <summary>An erased customer: its row is a tombstone, its ids are free.</summary>
    public bool Erased { get; init; }

    /// <summary>The state changed since the last save was started.</summary>
    public bool Dirty { get; init; }

    /// <summary>A save is under way (at most one at a time).</summary>
    public bool Saving { get; init; }

    public CustomerState? SavingState { get; init; }

    /// <summary>Rows handed to the save under way (put back if they were not written).</summary>
    public ImmutableArray<AttributedSale> SavingSales { get; init; } = [];

    public ImmutableArray<Touch> SavingTouches { get; init; } = [];

    public bool SavingRowsCheck { get; init; }

    public int FailedSaves { get; init; }

    public bool RetryScheduled { get; init; }

    /// <summary>Replies waiting for the next save.</summary>
    public ImmutableArray<Pending> Waiting { get; init; } = [];

    /// <summary>Replies released when the save under way succeeds.</summary>
    public ImmutableArray<Pending> InSave { get; init; } = [];

    /// <summary>ClickHouse rows of the events applied since the last save was started.</summary>
    public ImmutableArray<AttributedSale> Sales { get; init; } = [];

    public ImmutableArray<Touch> Touches { get; init; } = [];

    /// <summary>Some of <see cref="Sales"/>/<see cref="Touches"/> come from an event that may have been applied before.</summary>
    public bool RowsCheck { get; init; }

    public MergeStage Merge { get; init; }

    /// <summary>Who waits for the merge (the resolvers that asked).</summary>
    public ImmutableArray<IActorRef> MergeWaiters { get; init; } = [];

    public EraseStage Erase { get; init; }

    /// <summary>Changes Kafka acknowledged are still in the saved outbox: a save before leaving memory drops them.</summary>
    public bool SettledUnsaved => ChangeOutbox.HasSettled(Durable, State);

    public IActorRef? EraseReplyTo { get; init; }

    public ImmutableArray<Held> HeldMessages { get; init; } = [];

    /// <summary>Operations notices handed to the publisher and not yet confirmed.</summary>
    public ImmutableHashSet<string> Publishing { get; init; } = ImmutableHashSet<string>.Empty;

    public string CustomerId => State.CustomerId;

    /// <summary>Nothing unsaved, nothing waiting, nothing under way: the actor may leave memory.</summary>
    public bool Idle => !Dirty && !Saving && Waiting.IsEmpty && InSave.IsEmpty && Merge == MergeStage.None
        && Erase == EraseStage.None && HeldMessages.IsEmpty && !RetryScheduled && Publishing.IsEmpty && Sales.IsEmpty && Touches.IsEmpty
        && PublishingChanges.IsEmpty && !ChangesRetryScheduled && !SettledUnsaved;
}

// ---------------------------------------------------------------- what the actor must do

public abstract record Effect;

public sealed record Reply(IActorRef To, object Message) : Effect;

/// <summary>Save <paramref name="State"/> (and insert its rows first); answer <c>Saved</c> or <c>SaveFailed</c>.</summary>
public sealed record Save(CustomerState State, ImmutableArray<AttributedSale> Sales, ImmutableArray<Touch> Touches, bool CheckRows, DateTimeOffset? NextWake) : Effect;

/// <summary>The save succeeded: lookups may show <paramref name="State"/>.</summary>
public sealed record BecameDurable(CustomerState State) : Effect;

/// <summary>Announce the saved state's profile (its changes go through the outbox: <see cref="PublishChanges"/>).</summary>
public sealed record Announce(CustomerState Saved) : Effect;

/// <summary>
/// Publish these saved profile changes (with the profile tombstone after them when
/// <paramref name="Tombstone"/>); answer <c>ChangesPublished</c> once Kafka acknowledged all, or <c>ChangesFailed</c>.
/// </summary>
public sealed record PublishChanges(string CustomerId, ImmutableArray<ProfileChange> Changes, bool Tombstone) : Effect;

public sealed record RetryChangesAfter(TimeSpan Delay) : Effect;

/// <summary>Publish these saved operations notices; answer <c>OutboxPublished</c> or <c>OutboxFailed</c>.</summary>
public sealed record PublishNotices(string CustomerId, ImmutableArray<OperationsNotice> Notices) : Effect;

public sealed record RetrySaveAfter(TimeSpan Delay) : Effect;

/// <summary>Send the frozen state to the survivor; answer <c>HandedOver</c> or <c>HandOverFailed</c>.</summary>
public sealed record HandOver(string SurvivorId, CustomerState Handed) : Effect;

public sealed record RetryHandOverAfter(TimeSpan Delay) : Effect;

/// <summary>Tell the identity index that these ids now belong to <paramref name="To"/> (no answer needed: the pointer forwards meanwhile).</summary>
public sealed record Repoint(EquatableArray<LinkedId> Ids, string From, string To) : Effect;

/// <summary>Send <paramref name="Held"/> on to <paramref name="SurvivorId"/>, keeping its sender.</summary>
public sealed record Forward(Held Held, string SurvivorId) : Effect;

/// <summary>Handle these messages again, in order.</summary>
public sealed record Redeliver(ImmutableArray<Held> Messages) : Effect;

/// <summary>Free the customer's ids in the index; answer <c>IdsReleased</c> or <c>EraseFailed</c>.</summary>
public sealed record ReleaseIds(EquatableArray<LinkedId> Ids, string Owner) : Effect;

/// <summary>Replace the saved state by a tombstone; answer <c>TombstoneSaved</c> or <c>EraseFailed</c>.</summary>
public sealed record WriteTombstone(string CustomerId) : Effect;

/// <summary>
/// Erase the customers merged into <paramref name="SurvivorId"/> (each answers once its pointer is a
/// tombstone); answer <c>AbsorbedErased</c> or <c>EraseFailed</c>.
/// </summary>
public sealed record EraseAbsorbedCustomers(string SurvivorId, EquatableArray<string> Absorbed) : Effect;

/// <summary>Erasure done: forget the customer in lookups and the other publishers.</summary>
public sealed record AnnounceErasure(string CustomerId) : Effect;

/// <summary>
/// The customer's save / acknowledge / merge hand-over / erasure cycle as a pure state machine
/// beside <see cref="CustomerDecider"/>: each input returns the next <see cref="Life"/> and the
/// effects the actor must carry out (docs/architecture.md, "A customer's cycle"). No clock, no
/// I/O, no Akka beyond opaque actor references to reply to.
/// </summary>
public static class CustomerLifecycle
{
    public static readonly TimeSpan HandOverRetry = TimeSpan.FromSeconds(2);

    /// <summary>The context every decision needs.</summary>
    public sealed record Context(DateTimeOffset Now, CustomerRules Rules, CampaignCatalog Campaigns);

    /// <summary>A customer read from the store (<paramref name="saved"/> null: never saved; <paramref name="erased"/>: a tombstone).</summary>
    public static (Life Life, List<Effect> Effects) Start(string customerId, CustomerState? saved, bool erased)
    {
        var effects = new List<Effect>();
        if (erased)
        {
            return (new Life { State = CustomerState.Empty(customerId), Erased = true }, effects);
        }
        if (saved is null)
        {
            return (new Life { State = CustomerState.Empty(customerId) }, effects);
        }
        if (saved.Erasing)
        {
            // Erased, but Kafka had not confirmed the "erased" change before the process died
            // (the saved wake brought it back): publish it, then the row becomes a tombstone.
            var erasing = new Life { State = saved, Durable = saved, Recorded = saved, Erase = EraseStage.PublishingErasure };
            return (StartPublishingChanges(erasing, saved, effects), effects);
        }
        var life = new Life { State = saved, Durable = saved, Published = saved, Recorded = saved };
        effects.Add(new BecameDurable(saved));
        // The last publication may have died with the previous process (kill -9 between the save
        // and the producer's send): announce the saved profile again. Latest wins on the
        // compacted topic, so a repeat is harmless; unconfirmed changes are in the saved outbox.
        effects.Add(new Announce(saved));
        life = StartPublishing(life, saved, effects);
        life = StartPublishingChanges(life, saved, effects);
        if (saved.HandOverPending && saved.MergedInto is { } survivor)
        {
            // Frozen for a merge whose hand-over died with the previous process. Nobody asks
            // again (the resolver follows the pointer), so the customer resumes it itself.
            life = Merge(life, survivor, ActorRefs.Nobody, effects);
        }
        return (life, effects);
    }

    // ---------------------------------------------------------------- events

    /// <summary>Input events for this customer, each answered with an <see cref="EventOutcome"/> once durable.</summary>
    public static (Life, List<Effect>) Observe(Life life, IReadOnlyList<BatchItem> items, IActorRef replyTo, IActorRef self, Context ctx)
    {
        var effects = new List<Effect>();
        var id = life.CustomerId;
        if (life.Erased)
        {
            foreach (var item in items)
            {
                effects.Add(new Reply(replyTo, new EventOutcome(item.Ticket, id, OutcomeKind.Unknown, Detail: "customer erased")));
            }
            return (life, effects);
        }
        if (life.Erase != EraseStage.None)
        {
            // Ingest retries; by then the ids are released and the event finds (or creates) its customer afresh.
            foreach (var item in items)
            {
                effects.Add(new Reply(replyTo, new EventOutcome(item.Ticket, id, OutcomeKind.Failed, Detail: "customer is being erased")));
            }
            return (life, effects);
        }
        if (life.State.HandOverPending)
        {
            // Until the survivor holds this customer's history: a refund of an order only this side
            // has seen would find no order there (and be dead-lettered after its grace).
            return (life with { HeldMessages = life.HeldMessages.Add(new Held(new Deliver(items, replyTo), replyTo)) }, effects);
        }
        if (life.State.MergedInto is { } survivor)
        {
            effects.Add(new Forward(new Held(new Deliver(items, replyTo), replyTo), survivor));
            return (life, effects);
        }

        var state = life.State;
        List<AttributedSale>? sales = null;
        List<Touch>? touches = null;
        var check = life.RowsCheck;
        var outcomes = new EventOutcome[items.Count];
        for (var i = 0; i < items.Count; i++)
        {
            var item = items[i];
            var events = CustomerDecider.Decide(state, new ObserveCommand(item.Event, ctx.Now), ctx.Rules, ctx.Campaigns);
            var outcome = EventOutcome.Accepted(item.Ticket, id);
            if (events.Count > 0) // none: a duplicate, nothing to do
            {
                state = CustomerDecider.ApplyAll(state, events, ctx.Rules);
                foreach (var e in events)
                {
                    switch (e)
                    {
                        case OrderRecorded or RefundRecorded when SalesProjection.Sale(id, e) is { } sale:
                            (sales ??= []).Add(sale);
                            check |= item.MaybeSeen;
                            break;
                        case TouchRecorded t:
                            (touches ??= []).Add(SalesProjection.Touch(id, t));
                            check |= item.MaybeSeen;
                            break;
                        case RefundUnmatched u:
                            outcome = new EventOutcome(item.Ticket, id, OutcomeKind.RefundUnmatched, Detail: $"refund of order {u.OrderId} ({u.Reason})");
                            break;
                        case OrderRejected o:
                            outcome = new EventOutcome(item.Ticket, id, OutcomeKind.Rejected, Siyu.Contracts.Validation.RejectReason.OrderRejected, $"order {o.OrderId}: {o.Reason}");
                            break;
                    }
                }
            }
            outcomes[i] = outcome;
        }
        // Audiences and anything due follow the events at once (one tick per delivery).
        var tick = CustomerDecider.Decide(state, new Tick(ctx.Now), ctx.Rules, ctx.Campaigns);
        if (tick.Count > 0)
        {
            state = CustomerDecider.ApplyAll(state, tick, ctx.Rules);
        }
        var dirty = life.Dirty || state.Version != life.State.Version;
        var waiting = life.Waiting;
        if (!dirty && !life.Saving)
        {
            foreach (var outcome in outcomes)
            {
                effects.Add(new Reply(replyTo, outcome)); // already durable (duplicates of saved events)
            }
        }
        else
        {
            // Not "a save with waiters is under way": a save retried after a failure may carry no
            // waiter, and a duplicate arriving meanwhile must still wait for it.
            waiting = outcomes.Length == 1
                ? waiting.Add(new Pending(replyTo, outcomes[0]))
                : waiting.AddRange(outcomes.Select(o => new Pending(replyTo, o)));
        }
        life = life with
        {
            State = state,
            Dirty = dirty,
            Sales = sales is null ? life.Sales : life.Sales.AddRange(sales),
            Touches = touches is null ? life.Touches : life.Touches.AddRange(touches),
            RowsCheck = check,
            Waiting = waiting,
        };
        return (MaybeSave(life, ctx, effects), effects);
    }

    /// <summary>A due wake: tick, and save (which also stores the next wake) before answering.</summary>
    public static (Life, List<Effect>) Wake(Life life, IActorRef replyTo, object woken, Context ctx)
    {
        var effects = new List<Effect>();
        if (life.Erased || life.Erase != EraseStage.None || life.State.HandOverPending || life.Merge != MergeStage.None)
        {
            effects.Add(new Reply(replyTo, woken)); // nothing of its own to wake, or an erasure / hand-over under way that ends the wake itself
            return (life, effects);
        }
        if (life.State.MergedInto is not null)
        {
            // A pointer wakes only for the changes it saved (its "merged"): saved again, its
            // confirmed, shorter outbox clears the wake.
            life = ReplyWhenDurable(life with { Dirty = true }, replyTo, woken, effects);
            return (MaybeSave(life, ctx, effects), effects);
        }
        var tick = CustomerDecider.Decide(life.State, new Tick(ctx.Now), ctx.Rules, ctx.Campaigns);
        var state = tick.Count > 0 ? CustomerDecider.ApplyAll(life.State, tick, ctx.Rules) : life.State;
        // Always saved: the stored next wake must move past now even when the tick decided nothing.
        life = life with { State = state, Dirty = true };
        life = ReplyWhenDurable(life, replyTo, woken, effects);
        return (MaybeSave(life, ctx, effects), effects);
    }

    // ---------------------------------------------------------------- saving

    /// <summary>Starts a save when something changed and none is under way.</summary>
    public static Life MaybeSave(Life life, Context ctx, List<Effect> effects)
    {
        if (!life.Dirty || life.Saving || life.RetryScheduled || life.Erased
            || life.Erase is EraseStage.ReleasingIds or EraseStage.Tombstoning or EraseStage.PublishingErasure or EraseStage.ErasingAbsorbed)
        {
            return life;
        }
        // The changes this save makes ride in the state it writes (no write of their own).
        var state = ChangeOutbox.Record(life.Recorded, life.State, ctx.Now, ctx.Rules);
        var next = state.Erasing ? ctx.Now + ErasureResumeAfter
            : state.MergedInto is null ? OperationsDecider.NextWake(state, ctx.Now, ctx.Rules) : null;
        if (!state.ChangeOutbox.IsEmpty && !state.Erasing && !state.HandOverPending
            && (next is not { } wake || wake > ctx.Now + ChangesResumeAfter))
        {
            // Saved changes must reach Kafka even if the process dies before it confirmed them and
            // nothing else brings this customer back: the durable wake does (and its save then
            // writes the confirmed, shorter outbox). A later save moves it on or clears it.
            next = ctx.Now + ChangesResumeAfter;
        }
        effects.Add(new Save(state, life.Sales, life.Touches, life.RowsCheck, next));
        return life with
        {
            State = state,
            Recorded = state,
            Dirty = false,
            Saving = true,
            SavingState = state,
            SavingSales = life.Sales,
            SavingTouches = life.Touches,
            SavingRowsCheck = life.RowsCheck,
            Sales = [],
            Touches = [],
            RowsCheck = false,
            InSave = life.InSave.AddRange(life.Waiting),
            Waiting = [],
        };
    }

    public static (Life, List<Effect>) Saved(Life life, Context ctx)
    {
        var effects = new List<Effect>();
        var saved = life.SavingState ?? throw new InvalidOperationException("no save under way");
        if (saved.Erasing)
        {
            // Every personal field is gone from the store; what waited is answered with the tombstone.
            life = life with { Saving = false, SavingState = null, SavingSales = [], SavingTouches = [], SavingRowsCheck = false, Durable = saved, FailedSaves = 0, Erase = EraseStage.PublishingErasure };
            return (StartPublishingChanges(life, saved, effects), effects);
        }
        effects.Add(new BecameDurable(saved));
        // Announced before the replies: once an event is acknowledged, its profile is already with
        // the publishers (a reader of the profiles right after the acknowledgement finds it handed over).
        effects.Add(new Announce(saved));
        foreach (var p in life.InSave)
        {
            effects.Add(new Reply(p.To, p.Success));
        }
        life = life with
        {
            Saving = false,
            SavingState = null,
            SavingSales = [],
            SavingTouches = [],
            SavingRowsCheck = false,
            Durable = saved,
            Published = saved,
            InSave = [],
            FailedSaves = 0,
        };
        if (!life.Dirty)
        {
            // Nothing changed since this save began: what waited meanwhile (a duplicate, an answer
            // that needed the state durable) is covered by it.
            foreach (var p in life.Waiting)
            {
                effects.Add(new Reply(p.To, p.Success));
            }
            life = life with { Waiting = [] };
        }
        life = StartPublishing(life, saved, effects);
        life = StartPublishingChanges(life, saved, effects);
        life = AfterSave(life, ctx, effects);
        return (MaybeSave(life, ctx, effects), effects);
    }

    /// <param name="rowsWritten">Whether the save's ClickHouse rows were inserted before it failed (then they are not sent again).</param>
    public static (Life, List<Effect>) SaveFailed(Life life, bool rowsWritten, Context ctx)
    {
        var effects = new List<Effect>();
        foreach (var p in life.InSave)
        {
            effects.Add(new Reply(p.To, p.FailureOf()));
        }
        var failed = life.FailedSaves + 1;
        life = life with
        {
            Saving = false,
            SavingState = null,
            Dirty = true, // the state still has to reach the store
            Sales = rowsWritten ? life.Sales : life.SavingSales.AddRange(life.Sales),
            Touches = rowsWritten ? life.Touches : life.SavingTouches.AddRange(life.Touches),
            RowsCheck = life.RowsCheck || (!rowsWritten && life.SavingRowsCheck),
            SavingSales = [],
            SavingTouches = [],
            SavingRowsCheck = false,
            InSave = [],
            FailedSaves = failed,
            RetryScheduled = true,
        };
        // Backoff: a database that is down is not hammered (50 ms doubling per failure, at most 5 s).
        effects.Add(new RetrySaveAfter(TimeSpan.FromMilliseconds(Math.Min(5_000, 50 * Math.Pow(2, Math.Min(failed, 16))))));
        if (life.Erase == EraseStage.WaitingForSave)
        {
            life = BeginErasure(life, effects); // the erasure removes the state anyway
        }
        return (life, effects);
    }

    public static (Life, List<Effect>) RetrySave(Life life, Context ctx)
    {
        var effects = new List<Effect>();
        return (MaybeSave(life with { RetryScheduled = false }, ctx, effects), effects);
    }

    /// <summary>Whatever waited for a save: the next merge or erasure step.</summary>
    private static Life AfterSave(Life life, Context ctx, List<Effect> effects)
    {
        if (life.Dirty)
        {
            return life; // another save follows; the next step waits for it
        }
        switch (life.Merge)
        {
            case MergeStage.Freezing when life.State.MergedInto is { } survivor:
                // Hand over only saved state: the save wrote the rows of the events applied before
                // it. Handed over unsaved, those events counted at the survivor while their rows
                // could die with the process (an order lost from ClickHouse in the kill -9 test).
                effects.Add(new HandOver(survivor, life.State with { MergedInto = null, HandOverPending = false }));
                return life with { Merge = MergeStage.HandingOver };
            case MergeStage.Pointing:
                foreach (var w in life.MergeWaiters)
                {
                    effects.Add(new Reply(w, new MergedReply(life.CustomerId, life.State.MergedInto!)));
                }
                var held = life.HeldMessages;
                life = life with { Merge = MergeStage.None, MergeWaiters = [], HeldMessages = [] };
                if (!held.IsEmpty)
                {
                    effects.Add(new Redeliver(held)); // now forwarded to the survivor
                }
                return life;
        }
        if (life.Erase == EraseStage.WaitingForSave)
        {
            return BeginErasure(life, effects);
        }
        return life;
    }

    private static Life ReplyWhenDurable(Life life, IActorRef to, object success, List<Effect> effects)
    {
        if (!life.Dirty && !life.Saving)
        {
            effects.Add(new Reply(to, success)); // already durable (a duplicate of a saved event)
            return life;
        }
        // Not "a save with waiters is under way": a save retried after a failure may carry no
        // waiter, and a duplicate arriving meanwhile must still wait for it.
        return life with { Waiting = life.Waiting.Add(new Pending(to, success)) };
    }

    // ---------------------------------------------------------------- operations outbox

    /// <summary>Publishes the saved outbox; it is emptied only once the publisher confirmed (at-least-once).</summary>
    private static Life StartPublishing(Life life, CustomerState saved, List<Effect> effects)
    {
        if (saved.Ops.Outbox.IsEmpty)
        {
            return life;
        }
        // Only what the current state still holds: a save that was under way when a publication
        // was confirmed must not publish it again.
        var current = life.State.Ops.Outbox;
        var notices = saved.Ops.Outbox.Where(n => !life.Publishing.Contains(n.Id) && current.Any(c => c.Id == n.Id)).ToImmutableArray();
        if (notices.IsEmpty)
        {
            return life;
        }
        effects.Add(new PublishNotices(saved.CustomerId, notices));
        return life with { Publishing = life.Publishing.Union(notices.Select(n => n.Id)) };
    }

    public static (Life, List<Effect>) OutboxPublished(Life life, IReadOnlyCollection<string> ids, Context ctx)
    {
        var effects = new List<Effect>();
        var state = OperationsDecider.Published(life.State, ids);
        // The shorter outbox is saved with the next save (a crash republishes: notice ids dedup).
        life = life with { Publishing = life.Publishing.Except(ids), State = state, Dirty = life.Dirty || !ReferenceEquals(state, life.State) };
        return (MaybeSave(life, ctx, effects), effects);
    }

    public static Life OutboxFailed(Life life, IReadOnlyCollection<string> ids) =>
        life with { Publishing = life.Publishing.Except(ids) }; // published again after the next save

    // ---------------------------------------------------------------- profile-change outbox

    /// <summary>How soon a failed publication of changes is tried again.</summary>
    public static readonly TimeSpan ChangesRetry = TimeSpan.FromSeconds(1);

    /// <summary>The wake saved with unconfirmed changes: a crash before Kafka confirmed them brings the customer back then.</summary>
    public static readonly TimeSpan ChangesResumeAfter = TimeSpan.FromSeconds(60);

    /// <summary>The wake saved with an erasing state: a crash before its tombstone resumes the erasure then.</summary>
    public static readonly TimeSpan ErasureResumeAfter = TimeSpan.FromSeconds(30);

    /// <summary>Publishes the saved changes that are neither confirmed nor under way.</summary>
    private static Life StartPublishingChanges(Life life, CustomerState saved, List<Effect> effects)
    {
        var outbox = saved.ChangeOutbox;
        if (outbox.IsEmpty)
        {
            return life;
        }
        ImmutableArray<ProfileChange>.Builder? send = null;
        foreach (var c in outbox.AsSpan())
        {
            // Only what the current state still holds: one confirmed meanwhile is not sent again.
            if (!life.PublishingChanges.Contains(c.ChangeId!) && ChangeOutbox.Holds(life.State.ChangeOutbox, c.ChangeId!))
            {
                (send ??= ImmutableArray.CreateBuilder<ProfileChange>(outbox.Count)).Add(c);
            }
        }
        if (send is null)
        {
            return life;
        }
        var changes = send.ToImmutable();
        var publishing = life.PublishingChanges;
        foreach (var c in changes)
        {
            publishing = publishing.Add(c.ChangeId!);
        }
        effects.Add(new PublishChanges(saved.CustomerId, changes, Tombstone: saved.Erasing));
        return life with { PublishingChanges = publishing };
    }

    /// <summary>
    /// Kafka acknowledged these changes: they leave the outbox in memory, and the next save (or the
    /// one before the customer leaves memory) writes the shorter outbox; no save of its own. An
    /// erasing customer's "erased" change confirmed: the row becomes a tombstone.
    /// </summary>
    public static (Life, List<Effect>) ChangesPublished(Life life, IReadOnlyCollection<string> ids)
    {
        var effects = new List<Effect>();
        var publishing = life.PublishingChanges;
        foreach (var id in ids)
        {
            publishing = publishing.Remove(id);
        }
        var state = ChangeOutbox.Published(life.State, ids);
        life = life with { PublishingChanges = publishing, State = state };
        if (life.Erase == EraseStage.PublishingErasure && state.ChangeOutbox.IsEmpty)
        {
            life = AfterErasurePublished(life, effects);
        }
        return (life, effects);
    }

    public static (Life, List<Effect>) ChangesFailed(Life life, IReadOnlyCollection<string> ids)
    {
        var effects = new List<Effect>();
        var publishing = life.PublishingChanges;
        foreach (var id in ids)
        {
            publishing = publishing.Remove(id);
        }
        life = life with { PublishingChanges = publishing };
        if (!life.ChangesRetryScheduled)
        {
            effects.Add(new RetryChangesAfter(ChangesRetry));
            life = life with { ChangesRetryScheduled = true };
        }
        return (life, effects);
    }

    /// <summary>After a failed publication: the saved changes not confirmed yet, again.</summary>
    public static (Life, List<Effect>) RetryChanges(Life life)
    {
        var effects = new List<Effect>();
        life = life with { ChangesRetryScheduled = false };
        if (life.Erase == EraseStage.PublishingErasure && life.State.ChangeOutbox.IsEmpty && life.PublishingChanges.IsEmpty)
        {
            return (AfterErasurePublished(life, effects), effects);
        }
        return (life.Durable is { } saved && !life.Erased ? StartPublishingChanges(life, saved, effects) : life, effects);
    }

    /// <summary>
    /// Asked to leave memory while only acknowledged changes keep it (they are still in the saved
    /// outbox): save the shorter outbox first, so a later start does not publish them again.
    /// </summary>
    public static (Life, List<Effect>) BeforeLeaving(Life life, Context ctx)
    {
        var effects = new List<Effect>();
        if (!life.Idle && life.SettledUnsaved && !life.Dirty && !life.Saving && life.Erase == EraseStage.None && life.Merge == MergeStage.None)
        {
            life = MaybeSave(life with { Dirty = true }, ctx, effects);
        }
        return (life, effects);
    }

    // ---------------------------------------------------------------- merges

    /// <summary>The resolver asks this customer to fold itself into <paramref name="survivorId"/>.</summary>
    public static (Life, List<Effect>) MergeInto(Life life, string survivorId, IActorRef replyTo, Context ctx)
    {
        var effects = new List<Effect>();
        life = Merge(life, survivorId, replyTo, effects, ctx);
        return (life, effects);
    }

    private static Life Merge(Life life, string survivorId, IActorRef replyTo, List<Effect> effects, Context? ctx = null)
    {
        var id = life.CustomerId;
        if (life.Erased || survivorId == id)
        {
            Answer(replyTo, new MergedReply(id, life.Erased ? survivorId : id), effects);
            return life;
        }
        if (life.State.MergedInto is { } already && !life.State.HandOverPending)
        {
            Answer(replyTo, new MergedReply(id, already), effects);
            return life;
        }
        var waiters = replyTo.IsNobody() ? life.MergeWaiters : life.MergeWaiters.Add(replyTo);
        if (life.State.MergedInto is null)
        {
            // Point at the survivor and freeze the state before handing it over: events applied
            // after a hand-over that a crash left unconfirmed would otherwise go into a second
            // hand-over that the survivor ignores as already absorbed.
            var now = ctx?.Now ?? life.State.UpdatedAt;
            var events = CustomerDecider.Decide(life.State, new BeginHandOver(survivorId, now), ctx?.Rules ?? CustomerRules.Default);
            var state = CustomerDecider.ApplyAll(life.State, events, ctx?.Rules ?? CustomerRules.Default);
            life = life with { State = state, Dirty = true, Merge = MergeStage.Freezing, MergeWaiters = waiters };
            return ctx is null ? life : MaybeSave(life, ctx, effects);
        }
        life = life with { MergeWaiters = waiters };
        if (life.Merge != MergeStage.None)
        {
            return life; // under way; the waiter is answered with the others
        }
        // A pending hand-over resumed (after a restart, or a retry after a failure).
        if (life.Dirty || life.Saving)
        {
            return life with { Merge = MergeStage.Freezing };
        }
        effects.Add(new HandOver(life.State.MergedInto!, life.State with { MergedInto = null, HandOverPending = false }));
        return life with { Merge = MergeStage.HandingOver };
    }

    public static (Life, List<Effect>) ResumeHandOver(Life life, Context ctx)
    {
        var effects = new List<Effect>();
        if (life.State.HandOverPending && life.State.MergedInto is { } survivor && life.Merge == MergeStage.None)
        {
            life = Merge(life, survivor, ActorRefs.Nobody, effects, ctx);
        }
        return (life, effects);
    }

    /// <summary>The survivor saved the handed state: keep only the pointer and repoint the ids.</summary>
    public static (Life, List<Effect>) HandedOver(Life life, Context ctx)
    {
        var effects = new List<Effect>();
        var survivor = life.State.MergedInto!;
        var ids = life.State.Ids;
        var events = CustomerDecider.Decide(life.State, new MarkMergedInto(survivor, ctx.Now), ctx.Rules);
        var state = CustomerDecider.ApplyAll(life.State, events, ctx.Rules);
        effects.Add(new Repoint(ids, life.CustomerId, survivor));
        life = life with { State = state, Dirty = true, Merge = MergeStage.Pointing };
        return (MaybeSave(life, ctx, effects), effects);
    }

    /// <summary>
    /// The hand-over failed: the resolver treats a pointer as a finished merge and will not ask
    /// again, so the frozen state must reach the survivor on this customer's own initiative.
    /// </summary>
    public static (Life, List<Effect>) HandOverFailed(Life life, Exception cause)
    {
        var effects = new List<Effect>();
        foreach (var w in life.MergeWaiters)
        {
            effects.Add(new Reply(w, new Status.Failure(cause)));
        }
        effects.Add(new RetryHandOverAfter(HandOverRetry));
        return (life with { Merge = MergeStage.None, MergeWaiters = [] }, effects);
    }

    /// <summary>This customer is the survivor: fold the other's history in, answer once saved.</summary>
    public static (Life, List<Effect>) Absorb(Life life, AbsorbCustomer message, IActorRef replyTo, Context ctx)
    {
        var effects = new List<Effect>();
        var reply = new CustomerAbsorbedReply(life.CustomerId, message.Other.CustomerId);
        if (life.State.Erasing && life.State.MergedFrom.Contains(message.Other.CustomerId))
        {
            // A hand-over repeated after its answer was lost: the history is here already (and
            // erased). Holding it would wait for an erasure that waits for this customer.
            effects.Add(new Reply(replyTo, reply));
            return (life, effects);
        }
        if (life.State.HandOverPending || life.Erase != EraseStage.None)
        {
            return (life with { HeldMessages = life.HeldMessages.Add(new Held(message, replyTo)) }, effects);
        }
        if (life.State.MergedInto is { } survivor)
        {
            effects.Add(new Forward(new Held(message, replyTo), survivor));
            return (life, effects);
        }
        if (life.Erased)
        {
            // Absorbed into a customer erased meanwhile: its history goes with the erased person.
            effects.Add(new Reply(replyTo, reply));
            return (life, effects);
        }
        var events = CustomerDecider.Decide(life.State, new AbsorbCommand(message.Other, ctx.Now), ctx.Rules, ctx.Campaigns);
        var state = CustomerDecider.ApplyAll(life.State, events, ctx.Rules);
        life = life with { State = state, Dirty = life.Dirty || state.Version != life.State.Version };
        life = ReplyWhenDurable(life, replyTo, reply, effects);
        return (MaybeSave(life, ctx, effects), effects);
    }

    // ---------------------------------------------------------------- erasure

    public static (Life, List<Effect>) Erase(Life life, EraseCustomer message, IActorRef replyTo)
    {
        var effects = new List<Effect>();
        var id = life.CustomerId;
        if (life.State.HandOverPending || life.Erase != EraseStage.None)
        {
            // The survivor erases this customer's history once it holds it; a second request waits for the first.
            return (life with { HeldMessages = life.HeldMessages.Add(new Held(message, replyTo)) }, effects);
        }
        if (life.State.MergedInto is { } survivor)
        {
            effects.Add(new Forward(new Held(message, replyTo), survivor));
            return (life, effects);
        }
        if (life.Erased || (life.State.IsNew && life.State.MergedFrom.Count == 0 && life.Durable is null))
        {
            effects.Add(new Reply(replyTo, new CustomerErased(id, Found: false)));
            return (life, effects);
        }
        life = life with { EraseReplyTo = replyTo };
        if (life.Saving)
        {
            return (life with { Erase = EraseStage.WaitingForSave }, effects);
        }
        return (BeginErasure(life, effects), effects);
    }

    /// <summary>
    /// The customer this one was merged into is being erased: this pointer (its row, its profile,
    /// its changes) goes too, the same way. Only a pointer is erased so: a live customer, or one
    /// erased already, answers Found false.
    /// </summary>
    public static (Life, List<Effect>) EraseAbsorbed(Life life, EraseAbsorbed message, IActorRef replyTo)
    {
        var effects = new List<Effect>();
        if (life.State.HandOverPending || life.Erase != EraseStage.None)
        {
            return (life with { HeldMessages = life.HeldMessages.Add(new Held(message, replyTo)) }, effects);
        }
        if (life.Erased || life.State.MergedInto is null)
        {
            effects.Add(new Reply(replyTo, new CustomerErased(life.CustomerId, Found: false)));
            return (life, effects);
        }
        life = life with { EraseReplyTo = replyTo };
        if (life.Saving)
        {
            return (life with { Erase = EraseStage.WaitingForSave }, effects);
        }
        return (BeginErasure(life, effects), effects);
    }

    // The "erased" change is out: the absorbed customers go next, then this row.
    private static Life AfterErasurePublished(Life life, List<Effect> effects)
    {
        if (life.State.MergedFrom.Count > 0)
        {
            effects.Add(new EraseAbsorbedCustomers(life.CustomerId, life.State.MergedFrom));
            return life with { Erase = EraseStage.ErasingAbsorbed };
        }
        effects.Add(new WriteTombstone(life.CustomerId));
        return life with { Erase = EraseStage.Tombstoning };
    }

    /// <summary>Every customer merged into this erased one is a tombstone now: so becomes this one.</summary>
    public static (Life, List<Effect>) AbsorbedErased(Life life)
    {
        var effects = new List<Effect>();
        if (life.Erase != EraseStage.ErasingAbsorbed)
        {
            return (life, effects);
        }
        effects.Add(new WriteTombstone(life.CustomerId));
        return (life with { Erase = EraseStage.Tombstoning }, effects);
    }

    private static Life BeginErasure(Life life, List<Effect> effects)
    {
        effects.Add(new ReleaseIds(life.State.Ids, life.CustomerId));
        return life with { Erase = EraseStage.ReleasingIds };
    }

    /// <summary>
    /// The ids are free: save the emptied state holding only the "erased" change (and a wake that
    /// resumes the erasure after a crash); once Kafka confirmed that change, the row becomes a tombstone.
    /// </summary>
    public static (Life, List<Effect>) IdsReleased(Life life, Context ctx)
    {
        var effects = new List<Effect>();
        var erasing = ChangeOutbox.Erasing(life.State, ctx.Now);
        life = life with
        {
            State = erasing,
            Recorded = erasing,
            Dirty = true,
            RetryScheduled = false,
            Sales = [],
            Touches = [],
            RowsCheck = false,
            Erase = EraseStage.SavingErasure,
        };
        return (MaybeSave(life, ctx, effects), effects);
    }

    public static (Life, List<Effect>) TombstoneSaved(Life life)
    {
        var effects = new List<Effect> { new AnnounceErasure(life.CustomerId) };
        // Applied events are settled: their data is gone with the rest.
        foreach (var p in life.Waiting.AddRange(life.InSave))
        {
            effects.Add(new Reply(p.To, p.Success));
        }
        if (life.EraseReplyTo is { } to)
        {
            effects.Add(new Reply(to, new CustomerErased(life.CustomerId, Found: true)));
        }
        if (!life.HeldMessages.IsEmpty)
        {
            effects.Add(new Redeliver(life.HeldMessages));
        }
        return (new Life { State = CustomerState.Empty(life.CustomerId), Erased = true }, effects);
    }

    public static (Life, List<Effect>) EraseFailed(Life life, Exception cause, Context ctx)
    {
        var effects = new List<Effect>();
        if (life.EraseReplyTo is { } to)
        {
            effects.Add(new Reply(to, new Status.Failure(cause)));
        }
        if (life.State.Erasing)
        {
            // The personal data is gone already; only the tombstone is missing: tried again.
            effects.Add(new RetryChangesAfter(ChangesRetry));
            return (life with { Erase = EraseStage.PublishingErasure, EraseReplyTo = null, ChangesRetryScheduled = true }, effects);
        }
        if (!life.HeldMessages.IsEmpty)
        {
            effects.Add(new Redeliver(life.HeldMessages));
        }
        life = life with { Erase = EraseStage.None, EraseReplyTo = null, HeldMessages = [] };
        return (MaybeSave(life, ctx, effects), effects);
    }

    private static void Answer(IActorRef to, object message, List<Effect> effects)
    {
        if (!to.IsNobody())
        {
            effects.Add(new Reply(to, message));
        }
    }
}
