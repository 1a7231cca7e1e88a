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
        Assert.Contains(effects, e => e is Announce);
        // The save's changes (created) were in the saved state and go out now, acknowledged.
        var publish = Assert.Single(effects.OfType<PublishChanges>());
        Assert.Equal([ProfileChanges.Created], publish.Changes.Select(c => c.Change));
        (life, _) = CustomerLifecycle.ChangesPublished(life, [publish.Changes[0].ChangeId!]);
        Assert.True(life.State.ChangeOutbox.IsEmpty);
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
        Assert.True(life is { Dirty: false, Saving: false, Waiting.IsEmpty: true, InSave.IsEmpty: true });
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
        (life, effects) = CustomerLifecycle.IdsReleased(life, Ctx);
        // The personal data goes first: an emptied state holding only the "erased" change, with a wake.
        var save = Assert.Single(effects.OfType<Save>());
        Assert.True(save.State.Erasing);
        Assert.Equal(0, save.State.Stats.Orders);
        Assert.True(save.State.Ids.IsEmpty);
        Assert.Equal(Ctx.Now + CustomerLifecycle.ErasureResumeAfter, save.NextWake);
        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.DoesNotContain(effects, e => e is Announce or BecameDurable);
        var publish = Assert.Single(effects.OfType<PublishChanges>());
        Assert.True(publish.Tombstone);
        Assert.Equal(ProfileChanges.Erased, Assert.Single(publish.Changes).Change);
        Assert.DoesNotContain(effects, e => e is WriteTombstone);
        (life, effects) = CustomerLifecycle.ChangesPublished(life, [publish.Changes[0].ChangeId!]);
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
    public void A_saved_customer_starting_again_republishes_its_profile_and_its_unconfirmed_changes()
    {
        var (life, effects) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        var saved = Assert.Single(effects.OfType<Save>()).State;
        var (started, startEffects) = CustomerLifecycle.Start(life.CustomerId, saved, erased: false);
        Assert.Contains(startEffects, e => e is Announce);
        Assert.Contains(startEffects, e => e is BecameDurable);
        // Killed before Kafka confirmed "created": published again, with the same change_id.
        var again = Assert.Single(startEffects.OfType<PublishChanges>());
        Assert.Equal(saved.ChangeOutbox, again.Changes.ToEquatableArray());
        Assert.False(started.Idle);
        (started, _) = CustomerLifecycle.ChangesPublished(started, [again.Changes[0].ChangeId!]);
        // Confirmed, but the saved outbox still holds it: one save before leaving memory, none before.
        Assert.False(started.Idle);
        var (leaving, leaveEffects) = CustomerLifecycle.BeforeLeaving(started, Ctx);
        Assert.True(Assert.Single(leaveEffects.OfType<Save>()).State.ChangeOutbox.IsEmpty);
        (leaving, _) = CustomerLifecycle.Saved(leaving, Ctx);
        Assert.True(leaving.Idle);
        var (_, clean) = CustomerLifecycle.Start(life.CustomerId, leaving.Durable, erased: false);
        Assert.DoesNotContain(clean, e => e is PublishChanges);
        var (tombstone, none) = CustomerLifecycle.Start("c-x", null, erased: true);
        Assert.True(tombstone.Erased);
        Assert.Empty(none);
    }

    // ------------------------------------------------------------ profile-change outbox (issue 17)

    [Fact]
    public void Changes_ride_in_the_saved_state_and_leave_it_only_once_Kafka_acknowledged_them()
    {
        var (life, effects) = Observe(New(), Ev.Join("GR1", Ev.T0), Ev.Tag(Ev.T0, ("shoe_size", "42")));
        var save = Assert.Single(effects.OfType<Save>());
        // Recorded in the very state the save writes (no write of their own), with stable ids.
        Assert.Equal(
            [ProfileChanges.Created, ProfileChanges.JoinedPrivateDomain, ProfileChanges.GroupJoined, ProfileChanges.TagChanged],
            save.State.ChangeOutbox.Select(c => c.Change));
        Assert.Equal(["c-a:1", "c-a:2", "c-a:3", "c-a:4"], save.State.ChangeOutbox.Select(c => c.ChangeId));
        Assert.Empty(effects.OfType<PublishChanges>()); // nothing goes out before the state is durable
        // A durable wake brings the customer back if the process dies before Kafka confirmed them.
        Assert.Equal(Ctx.Now + CustomerLifecycle.ChangesResumeAfter, save.NextWake);

        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        var publish = Assert.Single(effects.OfType<PublishChanges>());
        Assert.False(publish.Tombstone);
        Assert.Equal(4, publish.Changes.Length);

        // More events meanwhile: the next save records only the new change, numbered on.
        (life, effects) = Observe(life, Ev.Leave("GR1", Ev.T0.AddHours(1)));
        save = Assert.Single(effects.OfType<Save>());
        Assert.Equal(
            ["c-a:1", "c-a:2", "c-a:3", "c-a:4", "c-a:5", "c-a:6"],
            save.State.ChangeOutbox.Select(c => c.ChangeId));
        Assert.Equal([ProfileChanges.LeftPrivateDomain, ProfileChanges.GroupLeft], save.State.ChangeOutbox.Skip(4).Select(c => c.Change));

        // A failed publication is tried again; the in-flight ones are not sent twice.
        (life, effects) = CustomerLifecycle.ChangesFailed(life, publish.Changes.Select(c => c.ChangeId!).ToList());
        Assert.Single(effects.OfType<RetryChangesAfter>());
        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Equal(6, Assert.Single(effects.OfType<PublishChanges>()).Changes.Length);
        (life, effects) = CustomerLifecycle.RetryChanges(life);
        Assert.Empty(effects.OfType<PublishChanges>());

        (life, _) = CustomerLifecycle.ChangesPublished(life, save.State.ChangeOutbox.Select(c => c.ChangeId!).ToList());
        Assert.True(life.State.ChangeOutbox.IsEmpty);
        Assert.Empty(effects.OfType<Save>());
        Assert.True(life.SettledUnsaved);

        // The wake saves the shorter outbox and clears itself.
        (life, effects) = CustomerLifecycle.Wake(life, _self, "woken", Ctx);
        save = Assert.Single(effects.OfType<Save>());
        Assert.True(save.State.ChangeOutbox.IsEmpty);
        Assert.Null(save.NextWake);
        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Contains(effects, e => e is Reply { Message: "woken" });
        Assert.True(life.Idle);
    }

    [Fact]
    public void A_crash_before_the_erased_change_was_confirmed_resumes_the_erasure_from_the_saved_state()
    {
        var (life, _) = Observe(New(), Ev.Order("O1", 10m, Ev.T0));
        (life, _) = CustomerLifecycle.Saved(life, Ctx);
        (life, _) = CustomerLifecycle.Erase(life, new EraseCustomer(life.CustomerId), CreateTestProbe().Ref);
        (life, var effects) = CustomerLifecycle.IdsReleased(life, Ctx);
        var erasing = Assert.Single(effects.OfType<Save>()).State;
        var json = System.Text.Encoding.UTF8.GetString(CustomerSnapshot.Serialize(erasing));
        Assert.DoesNotContain("M1", json, StringComparison.Ordinal); // no id, no order: only the change
        Assert.Equal(erasing, CustomerSnapshot.Deserialize(CustomerSnapshot.Serialize(erasing)));

        // kill -9 here: the saved wake brings it back, and it publishes the change again.
        var (started, startEffects) = CustomerLifecycle.Start(life.CustomerId, erasing, erased: false);
        Assert.DoesNotContain(startEffects, e => e is Announce or BecameDurable);
        var publish = Assert.Single(startEffects.OfType<PublishChanges>());
        Assert.True(publish.Tombstone);
        Assert.Equal(erasing.ChangeOutbox[0], Assert.Single(publish.Changes));
        var (_, outcome) = Observe(started, Ev.Order("O2", 1m, Ev.T0));
        Assert.Equal(OutcomeKind.Failed, Assert.Single(Outcomes(outcome)).Kind);
        (started, effects) = CustomerLifecycle.ChangesPublished(started, [publish.Changes[0].ChangeId!]);
        Assert.Single(effects.OfType<WriteTombstone>());
        (started, effects) = CustomerLifecycle.TombstoneSaved(started);
        Assert.Single(effects.OfType<AnnounceErasure>());
        Assert.True(started.Erased);
    }

    [Fact]
    public void An_absorbed_customer_keeps_publishing_its_own_changes_merged_included()
    {
        var (life, _) = Observe(New("c-b"), Ev.Join("GR1", Ev.T0));
        (life, _) = CustomerLifecycle.Saved(life, Ctx);
        (life, var effects) = CustomerLifecycle.MergeInto(life, "c-a", CreateTestProbe().Ref, Ctx);
        var frozen = Assert.Single(effects.OfType<Save>()).State;
        var merged = Assert.Single(frozen.ChangeOutbox, c => c.Change == ProfileChanges.Merged);
        Assert.Equal("c-a", merged.MergedInto);
        (life, _) = CustomerLifecycle.Saved(life, Ctx);
        (life, effects) = CustomerLifecycle.HandedOver(life, Ctx);
        var pointer = Assert.Single(effects.OfType<Save>()).State;
        // The bare pointer still holds what Kafka has not confirmed, and records "merged" once.
        Assert.Equal(frozen.ChangeOutbox, pointer.ChangeOutbox);
        Assert.Equal(frozen.ChangesRecorded, pointer.ChangesRecorded);
        Assert.NotNull(Assert.Single(effects.OfType<Save>()).NextWake);
        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        Assert.Empty(effects.OfType<PublishChanges>()); // already under way since the earlier saves: not sent twice
        (life, _) = CustomerLifecycle.ChangesPublished(life, pointer.ChangeOutbox.Select(c => c.ChangeId!).ToList());
        // Woken by that wake: the pointer saves its confirmed, empty outbox, without a wake.
        (_, effects) = CustomerLifecycle.Wake(life, _self, "woken", Ctx);
        var save = Assert.Single(effects.OfType<Save>());
        Assert.True(save.State.ChangeOutbox.IsEmpty);
        Assert.Null(save.NextWake);
    }

    // ------------------------------------------------------------ erasure of merged customers

    /// <summary>"c-old" after absorbing "c-young" (saved), and "c-young" as the bare pointer it became.</summary>
    private (Life Survivor, Life Pointer) Merged()
    {
        var (young, _) = Observe(New("c-young"), Ev.Order("O9", 9m, Ev.T0));
        (young, _) = CustomerLifecycle.Saved(young, Ctx);
        (young, var effects) = CustomerLifecycle.MergeInto(young, "c-old", CreateTestProbe().Ref, Ctx);
        var handed = Assert.Single(effects.OfType<Save>()).State;
        (young, _) = CustomerLifecycle.Saved(young, Ctx);
        var (old, _) = Observe(New("c-old"), Ev.Order("O1", 1m, Ev.T0));
        (old, _) = CustomerLifecycle.Saved(old, Ctx);
        (old, _) = CustomerLifecycle.Absorb(old, new AbsorbCustomer("c-old", handed with { MergedInto = null, HandOverPending = false }), CreateTestProbe().Ref, Ctx);
        (old, _) = CustomerLifecycle.Saved(old, Ctx);
        (young, _) = CustomerLifecycle.HandedOver(young, Ctx);
        (young, _) = CustomerLifecycle.Saved(young, Ctx);
        Assert.Equal(["c-young"], old.State.MergedFrom);
        Assert.Equal("c-old", young.State.MergedInto);
        // Kafka confirmed what both published so far.
        (old, _) = CustomerLifecycle.ChangesPublished(old, old.PublishingChanges.ToList());
        (young, _) = CustomerLifecycle.ChangesPublished(young, young.PublishingChanges.ToList());
        return (old, young);
    }

    [Fact]
    public void An_erased_customer_erases_the_customers_merged_into_it_before_its_own_row_becomes_a_tombstone()
    {
        var (life, _) = Merged();
        var operator_ = CreateTestProbe().Ref;
        (life, _) = CustomerLifecycle.Erase(life, new EraseCustomer("c-old"), operator_);
        (life, var effects) = CustomerLifecycle.IdsReleased(life, Ctx);
        // The emptied state keeps whom to erase next, so a crash can resume with it.
        Assert.Equal(["c-young"], Assert.Single(effects.OfType<Save>()).State.MergedFrom);
        (life, effects) = CustomerLifecycle.Saved(life, Ctx);
        var publish = Assert.Single(effects.OfType<PublishChanges>());
        (life, effects) = CustomerLifecycle.ChangesPublished(life, [publish.Changes[0].ChangeId!]);
        var fanOut = Assert.Single(effects.OfType<EraseAbsorbedCustomers>());
        Assert.Equal("c-old", fanOut.SurvivorId);
        Assert.Equal(["c-young"], fanOut.Absorbed);
        Assert.DoesNotContain(effects, e => e is WriteTombstone);

        // One of them could not be reached: asked again (Found false from those done already).
        (life, effects) = CustomerLifecycle.EraseFailed(life, new TimeoutException(), Ctx);
        Assert.Single(effects.OfType<RetryChangesAfter>());
        Assert.DoesNotContain(effects, e => e is Reply { Message: CustomerErased });
        (life, effects) = CustomerLifecycle.RetryChanges(life);
        Assert.Single(effects.OfType<EraseAbsorbedCustomers>());

        (life, effects) = CustomerLifecycle.AbsorbedErased(life);
        Assert.Single(effects.OfType<WriteTombstone>());
        (life, effects) = CustomerLifecycle.TombstoneSaved(life);
        Assert.Equal("c-old", Assert.Single(effects.OfType<AnnounceErasure>()).CustomerId);
        Assert.True(life.Erased);
    }

    [Fact]
    public void A_pointer_asked_by_its_erased_survivor_erases_itself_and_a_live_customer_never_does()
    {
        var (_, pointer) = Merged();
        var survivor = CreateTestProbe().Ref;
        (pointer, var effects) = CustomerLifecycle.EraseAbsorbed(pointer, new EraseAbsorbed("c-young", "c-old"), survivor);
        Assert.True(Assert.Single(effects.OfType<ReleaseIds>()).Ids.IsEmpty); // the survivor released them
        (pointer, effects) = CustomerLifecycle.IdsReleased(pointer, Ctx);
        var save = Assert.Single(effects.OfType<Save>());
        Assert.True(save.State.Erasing);
        Assert.Null(save.State.MergedInto); // the link to the erased person goes with the rest
        (pointer, effects) = CustomerLifecycle.Saved(pointer, Ctx);
        var publish = Assert.Single(effects.OfType<PublishChanges>());
        Assert.True(publish.Tombstone); // its siyu.profiles record (merged_into) is replaced by a tombstone
        Assert.Equal(ProfileChanges.Erased, Assert.Single(publish.Changes).Change);
        (pointer, effects) = CustomerLifecycle.ChangesPublished(pointer, [publish.Changes[0].ChangeId!]);
        Assert.Single(effects.OfType<WriteTombstone>()); // nothing merged into a pointer
        (pointer, effects) = CustomerLifecycle.TombstoneSaved(pointer);
        Assert.Contains(effects, e => e is Reply { Message: CustomerErased { Found: true } } r && r.To.Equals(survivor));
        Assert.True(pointer.Erased);
        // Asked again (a retried fan-out): done already.
        (_, effects) = CustomerLifecycle.EraseAbsorbed(pointer, new EraseAbsorbed("c-young", "c-old"), survivor);
        Assert.Contains(effects, e => e is Reply { Message: CustomerErased { Found: false } });

        var (live, _) = Observe(New("c-live"), Ev.Order("O5", 5m, Ev.T0));
        (live, _) = CustomerLifecycle.Saved(live, Ctx);
        (live, effects) = CustomerLifecycle.EraseAbsorbed(live, new EraseAbsorbed("c-live", "c-old"), survivor);
        Assert.Equal([new Reply(survivor, new CustomerErased("c-live", Found: false))], effects);
        Assert.Equal(EraseStage.None, live.Erase);
        Assert.Equal(1, live.State.Stats.Orders);
    }

    [Fact]
    public void A_repeated_hand_over_to_an_erasing_survivor_is_answered_at_once_instead_of_waiting_for_the_erasure()
    {
        var (life, pointer) = Merged();
        (life, _) = CustomerLifecycle.Erase(life, new EraseCustomer("c-old"), CreateTestProbe().Ref);
        (life, _) = CustomerLifecycle.IdsReleased(life, Ctx);
        (life, _) = CustomerLifecycle.Saved(life, Ctx);
        var handOver = CreateTestProbe().Ref;
        var (_, effects) = CustomerLifecycle.Absorb(life, new AbsorbCustomer("c-old", CustomerState.Empty("c-young")), handOver, Ctx);
        Assert.Contains(effects, e => e is Reply { Message: CustomerAbsorbedReply } r && r.To.Equals(handOver));
    }
}
