using Akka.Actor;
using Akka.Event;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Lifecycle;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Identity;
using Siyu.Actors.Operations;
using Siyu.Actors.Storage;

namespace Siyu.Actors.Customers;

/// <summary>
/// Where a customer lives: one plain actor per resident customer, a child of its shard
/// (<see cref="CustomerShard"/>). The business rules are <see cref="CustomerDecider"/>, the
/// save / acknowledge / merge / erasure cycle is <see cref="CustomerLifecycle"/>; this class only
/// carries out what they decide (saves through the node's <see cref="Committer"/>, replies,
/// publications, messages to other customers and to the identity index).
/// </summary>
public sealed class CustomerActor : UntypedActor, IWithTimers
{
    private readonly CustomerEntityOptions _options;
    private readonly CustomerRegions _regions;
    private readonly int _shard;
    private readonly ILoggingAdapter _log = Context.GetLogger();
    private Life _life;
    private List<Effect>? _startEffects;

    public ITimerScheduler Timers { get; set; } = null!;

    public CustomerActor(string customerId, int shard, StoredCustomer? stored, CustomerEntityOptions options, CustomerRegions regions)
    {
        _options = options;
        _regions = regions;
        _shard = shard;
        var saved = stored?.State is { } bytes ? CustomerSnapshot.Deserialize(bytes) : null;
        (_life, _startEffects) = CustomerLifecycle.Start(customerId, saved, erased: stored is { State: null });
    }

    // A switch, not ReceiveActor's handlers: those are built per actor instance, and customers
    // come and go by the thousand (profiled: 5% of the node's allocations).
    protected override void OnReceive(object message)
    {
        switch (message)
        {
            case Deliver d:
                Run(CustomerLifecycle.Observe(_life, d.Items, d.ReplyTo, Self, Ctx()));
                break;
            case SaveSucceeded:
                Run(CustomerLifecycle.Saved(_life, Ctx()));
                break;
            case WakeCustomer w:
                Run(CustomerLifecycle.Wake(_life, Sender, new CustomerWoken(_life.CustomerId, w.DueAt), Ctx()));
                break;
            case GetCustomer:
                Sender.Tell(_life.State);
                break;
            case GetIdentity:
                Sender.Tell(new CustomerIdentity(_life.CustomerId, _life.State.IsNew ? null : _life.State.CreatedAt,
                    _life.State.MergedInto, _life.State.Ids, _life.State.HandOverPending));
                break;
            case MergeInto m:
                Run(CustomerLifecycle.MergeInto(_life, m.SurvivorId, Sender, Ctx()));
                break;
            case AbsorbCustomer m:
                Run(CustomerLifecycle.Absorb(_life, m, Sender, Ctx()));
                break;
            case EraseCustomer m:
                Run(CustomerLifecycle.Erase(_life, m, Sender));
                break;
            case EraseAbsorbed m:
                Run(CustomerLifecycle.EraseAbsorbed(_life, m, Sender));
                break;
            case AbsorbedErased:
                Run(CustomerLifecycle.AbsorbedErased(_life));
                break;
            case SaveFailed f:
                if (_life.FailedSaves == 0)
                {
                    _log.Warning(f.Cause, "Saving customer {0} failed; its events stay unacknowledged and the save is retried with backoff", _life.CustomerId);
                }
                Run(CustomerLifecycle.SaveFailed(_life, f.RowsWritten, Ctx()));
                break;
            case RetrySave:
                Run(CustomerLifecycle.RetrySave(_life, Ctx()));
                break;
            case HandedOver:
                Run(CustomerLifecycle.HandedOver(_life, Ctx()));
                break;
            case HandOverFailed f:
                _log.Warning(f.Cause, "Handing customer {0} over to {1} failed; retrying in {2}", _life.CustomerId, _life.State.MergedInto, CustomerLifecycle.HandOverRetry);
                Run(CustomerLifecycle.HandOverFailed(_life, f.Cause));
                break;
            case ResumeHandOver:
                Run(CustomerLifecycle.ResumeHandOver(_life, Ctx()));
                break;
            case IdsReleased:
                Run(CustomerLifecycle.IdsReleased(_life, Ctx()));
                break;
            case TombstoneSaved:
                Run(CustomerLifecycle.TombstoneSaved(_life));
                break;
            case EraseFailed f:
                _log.Warning(f.Cause, "Erasing customer {0} failed; it can be asked again", _life.CustomerId);
                Run(CustomerLifecycle.EraseFailed(_life, f.Cause, Ctx()));
                break;
            case OutboxPublished p:
                Run(CustomerLifecycle.OutboxPublished(_life, p.Ids, Ctx()));
                break;
            case OutboxFailed f:
                _log.Warning(f.Cause, "Publishing operations of customer {0} failed; retried after its next save", _life.CustomerId);
                _life = CustomerLifecycle.OutboxFailed(_life, f.Ids);
                break;
            case ChangesPublished p:
                Run(CustomerLifecycle.ChangesPublished(_life, p.Ids));
                break;
            case ChangesFailed f:
                _log.Warning(f.Cause, "Publishing profile changes of customer {0} failed; retried in {1}", _life.CustomerId, CustomerLifecycle.ChangesRetry);
                Run(CustomerLifecycle.ChangesFailed(_life, f.Ids));
                break;
            case RetryChanges:
                Run(CustomerLifecycle.RetryChanges(_life));
                break;
            case Passivate:
                if (_life.Idle)
                {
                    Context.Parent.Tell(new Passivated(_life.CustomerId, Self));
                    Context.Stop(Self);
                }
                else
                {
                    Run(CustomerLifecycle.BeforeLeaving(_life, Ctx())); // saves a shorter change outbox, then leaves next time
                    Context.Parent.Tell(new PassivationRefused(_life.CustomerId));
                }
                break;
            default:
                Unhandled(message);
                break;
        }
    }

    public static Props PropsFor(string customerId, int shard, StoredCustomer? stored, CustomerEntityOptions options, CustomerRegions regions) =>
        Props.CreateBy(new Producer(customerId, shard, stored, options, regions));

    // A plain constructor call: Props.Create(() => ...) invokes the constructor by reflection with an argument array.
    private sealed class Producer(string customerId, int shard, StoredCustomer? stored, CustomerEntityOptions options, CustomerRegions regions) : IIndirectActorProducer
    {
        public Type ActorType => typeof(CustomerActor);

        public ActorBase Produce() => new CustomerActor(customerId, shard, stored, options, regions);

        public void Release(ActorBase actor)
        {
        }
    }

    protected override void PreStart()
    {
        if (_startEffects is { } effects)
        {
            _startEffects = null;
            Carry(effects);
        }
    }

    private CustomerLifecycle.Context Ctx() => new(_options.Clock.GetUtcNow(), _options.Rules, _options.Campaigns());

    private void Run((Life Life, List<Effect> Effects) step)
    {
        _life = step.Life;
        Carry(step.Effects);
    }

    private void Carry(List<Effect> effects)
    {
        foreach (var effect in effects)
        {
            switch (effect)
            {
                case Reply r:
                    r.To.Tell(r.Message);
                    break;
                case Save s:
                    Save(s);
                    break;
                case BecameDurable d:
                    _options.Resident.Set(d.State);
                    break;
                case Announce a:
                    Announce(a);
                    break;
                case PublishNotices p:
                    var ids = p.Notices.Select(n => n.Id).ToList();
                    _options.Operations.PublishAsync(p.CustomerId, p.Notices, CancellationToken.None)
                        .PipeTo(Self, success: () => new OutboxPublished(ids), failure: e => new OutboxFailed(e, ids));
                    break;
                case PublishChanges p:
                    var changeIds = new List<string>(p.Changes.Length);
                    foreach (var c in p.Changes)
                    {
                        changeIds.Add(c.ChangeId!);
                    }
                    _options.Publisher.PublishChangesAsync(p.CustomerId, p.Changes, p.Tombstone, CancellationToken.None)
                        .PipeTo(Self, success: () => new ChangesPublished(changeIds), failure: e => new ChangesFailed(e, changeIds));
                    break;
                case RetryChangesAfter r:
                    Timers.StartSingleTimer("changes", RetryChanges.Instance, r.Delay);
                    break;
                case RetrySaveAfter r:
                    Timers.StartSingleTimer("save", RetrySave.Instance, r.Delay);
                    break;
                case HandOver h:
                    _regions.Customers.Ask<CustomerAbsorbedReply>(new AbsorbCustomer(h.SurvivorId, h.Handed), _options.AskTimeout)
                        .PipeTo(Self, success: _ => HandedOver.Instance, failure: e => new HandOverFailed(e));
                    break;
                case RetryHandOverAfter r:
                    Timers.StartSingleTimer("hand-over", ResumeHandOver.Instance, r.Delay);
                    break;
                case Repoint r:
                    foreach (var request in IdentityRequests(r.Ids, id => new IdOp(IdOpKind.Repoint, IdKeys.Of(id), r.From, r.To)))
                    {
                        _regions.Identities.Tell(request);
                    }
                    break;
                case Forward f:
                    Forward(f);
                    break;
                case Redeliver r:
                    foreach (var held in r.Messages)
                    {
                        Self.Tell(held.Message, held.Sender);
                    }
                    break;
                case ReleaseIds r:
                    var releases = IdentityRequests(r.Ids, id => new IdOp(IdOpKind.Release, IdKeys.Of(id), r.Owner))
                        .Select(request => _regions.Identities.Ask<IdentityReply>(request, _options.AskTimeout));
                    Task.WhenAll(releases).PipeTo(Self, success: _ => IdsReleased.Instance, failure: e => new EraseFailed(e));
                    break;
                case WriteTombstone t:
                    _options.RequireCommitter().TombstoneAsync(t.CustomerId, _shard)
                        .PipeTo(Self, success: () => TombstoneSaved.Instance, failure: e => new EraseFailed(e));
                    break;
                case EraseAbsorbedCustomers e:
                    Task.WhenAll(e.Absorbed.Select(a => _regions.Customers.Ask<CustomerErased>(new EraseAbsorbed(a, e.SurvivorId), _options.AskTimeout)))
                        .PipeTo(Self, success: _ => AbsorbedErased.Instance, failure: ex => new EraseFailed(ex));
                    break;
                case AnnounceErasure e:
                    _options.Publisher.Erase(e.CustomerId, _options.Clock.GetUtcNow());
                    _options.Resident.Remove(e.CustomerId);
                    break;
                default:
                    throw new InvalidOperationException($"unknown effect {effect.GetType().Name}");
            }
        }
    }

    private void Save(Save s)
    {
        var row = new CustomerRow(s.State.CustomerId, _shard, s.State.Version, CustomerSnapshot.Serialize(s.State), s.NextWake);
        _options.RequireCommitter().SaveAsync(row, s.Sales, s.Touches, s.CheckRows)
            .PipeTo(Self, success: () => SaveSucceeded.Instance, failure: e => new SaveFailed(e, e is CommitFailedException { RowsWritten: true }));
    }

    /// <summary>One profile per save, never for state that is not yet durable: bursts coalesce. Its changes go through the outbox.</summary>
    private void Announce(Announce a)
    {
        var profile = Profile.Project(a.Saved, _options.Clock.GetUtcNow(), _options.Rules);
        _options.Publisher.Publish(profile, Profile.ToJson(profile), []);
    }

    private void Forward(Forward f)
    {
        switch (f.Held.Message)
        {
            case Deliver d:
                var items = d.Items.Select(i => i with { CustomerId = f.SurvivorId }).ToList();
                _regions.Customers.Tell(new CustomerBatch(CustomerShards.Of(f.SurvivorId, _options.MaxShards), d.ReplyTo, items));
                break;
            case AbsorbCustomer a:
                _regions.Customers.Tell(a with { CustomerId = f.SurvivorId }, f.Held.Sender);
                break;
            case EraseCustomer e:
                _regions.Customers.Tell(e with { CustomerId = f.SurvivorId }, f.Held.Sender);
                break;
            default:
                throw new InvalidOperationException($"cannot forward {f.Held.Message.GetType().Name}");
        }
    }

    private IEnumerable<IdentityRequest> IdentityRequests(EquatableArray<LinkedId> ids, Func<LinkedId, IdOp> op) =>
        ids.Select(op).GroupBy(o => IdentityShards.Of(o.Key, _options.MaxShards)).Select(g => new IdentityRequest(g.Key, g.ToList()));

    // Messages between the customer, its shard and its own asynchronous work.
    internal sealed record SaveSucceeded
    {
        public static readonly SaveSucceeded Instance = new();
    }

    internal sealed record SaveFailed(Exception Cause, bool RowsWritten);

    internal sealed record RetrySave
    {
        public static readonly RetrySave Instance = new();
    }

    internal sealed record HandedOver
    {
        public static readonly HandedOver Instance = new();
    }

    internal sealed record HandOverFailed(Exception Cause);

    internal sealed record ResumeHandOver
    {
        public static readonly ResumeHandOver Instance = new();
    }

    internal sealed record IdsReleased
    {
        public static readonly IdsReleased Instance = new();
    }

    internal sealed record AbsorbedErased
    {
        public static readonly AbsorbedErased Instance = new();
    }

    internal sealed record TombstoneSaved
    {
        public static readonly TombstoneSaved Instance = new();
    }

    internal sealed record EraseFailed(Exception Cause);

    internal sealed record OutboxPublished(IReadOnlyCollection<string> Ids);

    internal sealed record OutboxFailed(Exception Cause, IReadOnlyCollection<string> Ids);

    internal sealed record ChangesPublished(IReadOnlyCollection<string> Ids);

    internal sealed record ChangesFailed(Exception Cause, IReadOnlyCollection<string> Ids);

    internal sealed record RetryChanges
    {
        public static readonly RetryChanges Instance = new();
    }

    /// <summary>From the shard: leave memory if idle (answered <see cref="Passivated"/> or <see cref="PassivationRefused"/>).</summary>
    internal sealed record Passivate
    {
        public static readonly Passivate Instance = new();
    }

    internal sealed record Passivated(string CustomerId, IActorRef Actor);

    internal sealed record PassivationRefused(string CustomerId);
}
