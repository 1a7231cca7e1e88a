using Akka.Actor;
using Akka.TestKit.Xunit2;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Lifecycle;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Customers;

/// <summary>
/// The customer's save / acknowledge / merge / erasure cycle as the pure state machine it is
/// (<see cref="CustomerLifecycle"/>): every input gives the next state and the effects, no
/// actor system involved (TestKit only provides references to reply to).
/// </summary>
public sealed class LifecycleTests : TestKit
{
    private static readonly DateTimeOffset At = Ev.T0.AddMinutes(5);
    private static readonly CustomerLifecycle.Context Ctx = new(At, CustomerRules.Default, CampaignCatalog.Empty);
    private readonly IActorRef _ingest;
    private readonly IActorRef _self;
    private long _ticket;

    public LifecycleTests()
    {
        _ingest = CreateTestProbe("ingest").Ref;
        _self = CreateTestProbe("self").Ref;
    }

    private static Life New(string id = "c-a") => CustomerLifecycle.Start(id, null, erased: false).Life;

    private (Life, List<Effect>) Observe(Life life, params InputEvent[] events) =>
        CustomerLifecycle.Observe(life, events.Select(e => new BatchItem(++_ticket, life.CustomerId, e, MaybeSeen: false)).ToList(), _ingest, _self, Ctx);

    private static List<EventOutcome> Outcomes(IEnumerable<Effect> effects) =>
        effects.OfType<Reply>().Select(r => r.Message).OfType<EventOutcome>().ToList();

    [Fact]
    public void An_event_is_answered_only_once_the_save_covering_it_succeeded()
    {
        var (life, effects) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        var save = Assert.Single(effects.OfType<Save>());
        Assert.Empty(Outcomes(effects));
        Assert.Equal(1, save.State.Stats.Orders);
        Assert.Single(save.Sales);

        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        var outcome = Assert.Single(Outcomes(effects));
        Assert.Equal(OutcomeKind.Accepted, outcome.Kind);
        Assert.Contains(effects, e => e is BecameDurable d && d.State.Stats.Orders == 1);
        Assert.Contains(effects, e => e is Announce { WithChanges: true });
        Assert.True(life.Idle);
    }

    [Fact]
    public void Events_applied_while_a_save_is_under_way_wait_for_the_next_one()
    {
        var (life, effects) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        Assert.Single(effects.OfType<Save>());
        (life, effects) = Observe(life, Ev.Order("O2", 5m, Ev.T0.AddMinutes(1)), Ev.Order("O3", 1m, Ev.T0.AddMinutes(2)));
        Assert.Empty(effects); // one save at a time

        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Single(Outcomes(effects)); // the first order only
        var next = Assert.Single(effects.OfType<Save>());
        Assert.Equal(3, next.State.Stats.Orders);
        Assert.Equal(2, next.Sales.Length);

        (_, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Equal(2, Outcomes(effects).Count);
    }

    [Fact]
    public void A_duplicate_of_a_saved_event_is_answered_at_once_and_saves_nothing()
    {
        var order = Ev.Order("O1", 10m, Ev.T0);
        var (life, _) = Observe(New(), order);
        (life, _) = CustomerLifecycle.Saved(life, Ctx);

        var (after, effects) = Observe(life, order);
        Assert.Single(Outcomes(effects));
        Assert.DoesNotContain(effects, e => e is Save);
        Assert.Equal(1, after.State.Stats.Orders);
    }

    [Fact]
    public void A_duplicate_arriving_during_a_save_is_answered_when_that_save_succeeds()
    {
        var order = Ev.Order("O1", 10m, Ev.T0);
        var (life, _) = Observe(New(), order);
        (life, var effects) = Observe(life, order); // redelivered while its own save is under way
        Assert.Empty(effects);

        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Equal(2, Outcomes(effects).Count);
        Assert.DoesNotContain(effects, e => e is Save);
        Assert.True(life.Idle);
    }

    [Fact]
    public void A_failed_save_fails_its_events_and_is_retried_and_a_duplicate_meanwhile_waits_for_that_retry()
    {
        var order = Ev.Order("O1", 10m, Ev.T0);
        var (life, _) = Observe(New(), order);
        (life, var effects) = CustomerLifecycle.SaveFailed(life, rowsWritten: false, Ctx);
        Assert.Equal(OutcomeKind.Failed, Assert.Single(Outcomes(effects)).Kind);
        Assert.Single(effects.OfType<RetrySaveAfter>());
        Assert.Single(life.Sales); // not written: sent again with the retry

        // Ingest retries the event: the state in memory has it, but it is not durable yet.
        (life, effects) = Observe(life, order);
        Assert.Empty(effects);

        (life, effects) = CustomerLifecycle.RetrySave(life, Ctx);
        Assert.Single(Assert.Single(effects.OfType<Save>()).Sales);
        (_, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Equal(OutcomeKind.Accepted, Assert.Single(Outcomes(effects)).Kind);
    }

    [Fact]
    public void Rows_a_failed_save_already_inserted_are_not_sent_again()
    {
        var (life, _) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        (life, _) = CustomerLifecycle.SaveFailed(life, rowsWritten: true, Ctx);
        (_, var effects) = CustomerLifecycle.RetrySave(life, Ctx);
        Assert.Empty(Assert.Single(effects.OfType<Save>()).Sales);
    }

    [Fact]
    public void Rows_of_an_event_that_may_have_been_applied_before_are_marked_for_a_stored_key_check()
    {
        var life = New();
        var items = new List<BatchItem> { new(1, life.CustomerId, Ev.Order("O1", 10m, Ev.T0), MaybeSeen: true) };
        var (_, effects) = CustomerLifecycle.Observe(life, items, _ingest, _self, Ctx);
        Assert.True(Assert.Single(effects.OfType<Save>()).CheckRows);
        (_, effects) = Observe(New(), Ev.Order("O2", 10m, Ev.T0));
        Assert.False(Assert.Single(effects.OfType<Save>()).CheckRows);
    }

    [Fact]
    public void A_merge_freezes_saves_hands_over_then_keeps_a_pointer_and_forwards_what_it_held()
    {
        var resolver = CreateTestProbe().Ref;
        var (life, _) = Observe(New("c-young"), Ev.Order("O1", 10m, Ev.T0));
        (life, _) = CustomerLifecycle.Saved(life, Ctx);

        (life, var effects) = CustomerLifecycle.MergeInto(life, "c-old", resolver, Ctx);
        Assert.True(Assert.Single(effects.OfType<Save>()).State.HandOverPending); // frozen, saved first
        (life, effects) = Observe(life, Ev.Order("O2", 3m, Ev.T0.AddMinutes(1)));
        Assert.Empty(effects); // held until the survivor has the history
        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        var handOver = Assert.Single(effects.OfType<HandOver>());
        Assert.Equal("c-old", handOver.SurvivorId);
        Assert.Null(handOver.Handed.MergedInto);
        Assert.Equal(1, handOver.Handed.Stats.Orders);

        (life, effects) = CustomerLifecycle.HandedOver(life, Ctx);
        Assert.Single(effects.OfType<Repoint>());
        var pointer = Assert.Single(effects.OfType<Save>()).State;
        Assert.Equal(("c-old", false, 0), (pointer.MergedInto, pointer.HandOverPending, pointer.Stats.Orders));
        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Contains(effects, e => e is Reply { Message: MergedReply { MergedInto: "c-old" } } r && r.To.Equals(resolver));
        var redelivered = Assert.Single(effects.OfType<Redeliver>());

        // Handled again now, the held order goes to the survivor.
        var held = Assert.Single(redelivered.Messages);
        var deliver = (Deliver)held.Message;
        (_, effects) = CustomerLifecycle.Observe(life, deliver.Items, deliver.ReplyTo, _self, Ctx);
        Assert.Equal("c-old", Assert.Single(effects.OfType<Forward>()).SurvivorId);
    }

    [Fact]
    public void A_customer_that_starts_frozen_resumes_its_hand_over_on_its_own()
    {
        var frozen = CustomerDecider.ApplyAll(New("c-young").State,
            CustomerDecider.Decide(New("c-young").State, new Observe(Ev.Order("O1", 1m, Ev.T0), At), CustomerRules.Default), CustomerRules.Default);
        frozen = CustomerDecider.ApplyAll(frozen, CustomerDecider.Decide(frozen, new BeginHandOver("c-old", At), CustomerRules.Default), CustomerRules.Default);

        var (life, effects) = CustomerLifecycle.Start("c-young", frozen, erased: false);
        Assert.Equal("c-old", Assert.Single(effects.OfType<HandOver>()).SurvivorId);
        Assert.Equal(MergeStage.HandingOver, life.Merge);

        // The hand-over fails: retried later, never forgotten.
        (life, effects) = CustomerLifecycle.HandOverFailed(life, new TimeoutException());
        Assert.Single(effects.OfType<RetryHandOverAfter>());
        (_, effects) = CustomerLifecycle.ResumeHandOver(life, Ctx);
        Assert.Single(effects.OfType<HandOver>());
    }

    [Fact]
    public void The_survivor_answers_an_absorption_once_it_saved_the_history()
    {
        var (other, _) = Observe(New("c-young"), Ev.Order("O9", 9m, Ev.T0));
        var (life, _) = Observe(New("c-old"), Ev.Order("O1", 1m, Ev.T0));
        (life, _) = CustomerLifecycle.Saved(life, Ctx);
        var handOver = CreateTestProbe().Ref;

        (life, var effects) = CustomerLifecycle.Absorb(life, new AbsorbCustomer("c-old", other.State), handOver, Ctx);
        Assert.Equal(2, Assert.Single(effects.OfType<Save>()).State.Stats.Orders);
        Assert.DoesNotContain(effects, e => e is Reply);
        (_, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Contains(effects, e => e is Reply { Message: CustomerAbsorbedReply } r && r.To.Equals(handOver));
    }

    [Fact]
    public void Erasure_releases_ids_then_tombstones_then_answers_and_later_events_are_resolved_anew()
    {
        var (life, _) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        (life, _) = CustomerLifecycle.Saved(life, Ctx);
        var operator_ = CreateTestProbe().Ref;

        (life, var effects) = CustomerLifecycle.Erase(life, new EraseCustomer(life.CustomerId), operator_);
        Assert.Equal(life.CustomerId, Assert.Single(effects.OfType<ReleaseIds>()).Owner);
        (life, effects) = Observe(life, Ev.Order("O2", 1m, Ev.T0.AddMinutes(1)));
        Assert.Equal(OutcomeKind.Failed, Assert.Single(Outcomes(effects)).Kind); // retried by ingest
        (life, effects) = CustomerLifecycle.IdsReleased(life);
        Assert.Single(effects.OfType<WriteTombstone>());
        (life, effects) = CustomerLifecycle.TombstoneSaved(life);
        Assert.Single(effects.OfType<AnnounceErasure>());
        Assert.Contains(effects, e => e is Reply { Message: CustomerErased { Found: true } });
        Assert.True(life.Erased);
        Assert.Equal(0, life.State.Stats.Orders);

        (life, effects) = Observe(life, Ev.Order("O3", 1m, Ev.T0.AddMinutes(2)));
        Assert.Equal(OutcomeKind.Unknown, Assert.Single(Outcomes(effects)).Kind);
        (_, effects) = CustomerLifecycle.Erase(life, new EraseCustomer(life.CustomerId), operator_);
        Assert.Contains(effects, e => e is Reply { Message: CustomerErased { Found: false } });
    }

    [Fact]
    public void An_erasure_asked_during_a_save_starts_when_the_save_ends()
    {
        var (life, _) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        (life, var effects) = CustomerLifecycle.Erase(life, new EraseCustomer(life.CustomerId), CreateTestProbe().Ref);
        Assert.Empty(effects);
        (_, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Single(effects.OfType<ReleaseIds>());
    }

    [Fact]
    public void A_wake_always_saves_so_the_stored_next_wake_moves_and_is_answered_after_the_save()
    {
        var (life, _) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        (life, _) = CustomerLifecycle.Saved(life, Ctx);
        var shard = CreateTestProbe().Ref;
        (life, var effects) = CustomerLifecycle.Wake(life, shard, "woken", Ctx);
        var save = Assert.Single(effects.OfType<Save>());
        Assert.NotNull(save.NextWake); // the order's service tasks are still ahead
        Assert.DoesNotContain(effects, e => e is Reply);
        (_, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Contains(effects, e => e is Reply { Message: "woken" });
    }

    [Fact]
    public void A_saved_customer_starting_again_republishes_its_profile_without_changes()
    {
        var (life, _) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        var (started, effects) = CustomerLifecycle.Start(life.CustomerId, life.State, erased: false);
        Assert.Contains(effects, e => e is Announce { WithChanges: false });
        Assert.Contains(effects, e => e is BecameDurable);
        Assert.True(started.Idle);
        var (tombstone, none) = CustomerLifecycle.Start("c-x", null, erased: true);
        Assert.True(tombstone.Erased);
        Assert.Empty(none);
    }
}
