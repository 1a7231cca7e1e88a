using System.Collections.Concurrent;
using System.Threading.Channels;
using Akka.Actor;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Identity;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Siyu.Ingest;

namespace Siyu.Actors.Ingestion;

/// <summary>
/// Ingest's handler in production. Batches go through one loop in arrival order: everything
/// queued since the last round is resolved to customers together (<see cref="IdentityResolver"/>),
/// then sent as one <see cref="CustomerBatch"/> per customer shard. Each event's task completes
/// when its customer answers that the state covering it is durable, which is what lets ingest
/// commit the offset. The answers come back one per event to a small actor of this node.
/// </summary>
public sealed class CustomerEventHandler : IEventHandler, IDisposable
{
    private sealed class Work(IngestedEvent ingested, TaskCompletionSource done)
    {
        public readonly IngestedEvent Ingested = ingested;
        public readonly TaskCompletionSource Done = done;
        public int Resolutions;
        public bool RefundRetried;
        public string? CustomerId;
        public IReadOnlyList<LinkedId> Ids = [];
        public long Deadline;
    }

    private const int MaxResolutions = 3;
    private readonly IdentityResolver _resolver;
    private readonly IActorRef _customers;
    private readonly int _maxShards;
    private readonly TimeSpan _timeout;
    private readonly TimeSpan _refundGrace;
    private readonly System.Threading.Channels.Channel<Work> _queue = System.Threading.Channels.Channel.CreateUnbounded<Work>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<long, Work> _pending = new();
    private readonly IActorRef _replies;
    private readonly CancellationTokenSource _stop = new();
    private readonly Timer _sweeper;
    private long _tickets;

    public CustomerEventHandler(IdentityResolver resolver, IActorRef customers, IActorRefFactory? factory, int maxShards, TimeSpan timeout, TimeSpan refundGrace)
    {
        _resolver = resolver;
        _customers = customers;
        _maxShards = maxShards;
        _timeout = timeout;
        _refundGrace = refundGrace;
        _replies = (factory ?? throw new ArgumentNullException(nameof(factory))).ActorOf(Props.Create(() => new Replies(this)), "ingest-replies-" + Guid.NewGuid().ToString("N")[..8]);
        _ = Task.Run(RunAsync);
        // An event whose customer never answers (a node that died with it) is retried by ingest.
        _sweeper = new Timer(_ => Sweep(), null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1));
    }

    /// <summary>Events handed to customers and not yet answered.</summary>
    public int InFlight => _pending.Count;

    public IReadOnlyList<Task> Handle(IReadOnlyList<IngestedEvent> batch, CancellationToken cancellationToken)
    {
        var tasks = new Task[batch.Count];
        for (var i = 0; i < batch.Count; i++)
        {
            var work = new Work(batch[i], new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
            tasks[i] = work.Done.Task;
            if (!_queue.Writer.TryWrite(work))
            {
                work.Done.TrySetException(new OperationCanceledException("the handler is stopped"));
            }
        }
        return tasks;
    }

    private async Task RunAsync()
    {
        var round = new List<Work>();
        var ids = new List<CustomerIds>();
        try
        {
            while (await _queue.Reader.WaitToReadAsync(_stop.Token))
            {
                while (round.Count < 20_000 && _queue.Reader.TryRead(out var work))
                {
                    round.Add(work);
                    ids.Add(work.Ingested.Event.Ids);
                }
                await Dispatch(round, ids);
                round.Clear();
                ids.Clear();
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
        }
    }

    private async Task Dispatch(List<Work> round, List<CustomerIds> ids)
    {
        Resolution[] resolved;
        try
        {
            resolved = await _resolver.ResolveAsync(ids, _stop.Token);
        }
        catch (Exception e)
        {
            foreach (var w in round)
            {
                w.Done.TrySetException(e); // retried by ingest
            }
            return;
        }
        var byShard = new Dictionary<int, List<BatchItem>>();
        var deadline = Environment.TickCount64 + (long)_timeout.TotalMilliseconds;
        for (var i = 0; i < round.Count; i++)
        {
            var work = round[i];
            var r = resolved[i];
            if (r.Error is NoUsableIdsException nu)
            {
                work.Done.TrySetException(new EventRejectedException(RejectReason.NoUsableIds, nu.Message));
                continue;
            }
            if (r.Error is { } error)
            {
                work.Done.TrySetException(error);
                continue;
            }
            work.CustomerId = r.CustomerId;
            work.Ids = r.Ids;
            work.Resolutions++;
            var item = Item(work, deadline);
            var shard = CustomerShards.Of(item.CustomerId, _maxShards);
            if (!byShard.TryGetValue(shard, out var items))
            {
                byShard[shard] = items = [];
            }
            items.Add(item);
        }
        foreach (var (shard, items) in byShard)
        {
            _customers.Tell(new CustomerBatch(shard, _replies, items));
        }
    }

    private BatchItem Item(Work work, long deadline)
    {
        var ticket = Interlocked.Increment(ref _tickets);
        work.Deadline = deadline;
        _pending[ticket] = work;
        var evt = work.Ingested.Event;
        if (!SameIds(evt.Ids, work.Ids))
        {
            evt = evt with { Ids = ToCustomerIds(work.Ids) };
        }
        return new BatchItem(ticket, work.CustomerId!, evt, work.Ingested.MaybeSeen || work.Resolutions > 1 || work.RefundRetried);
    }

    private void OnOutcome(EventOutcome outcome)
    {
        if (!_pending.TryRemove(outcome.Ticket, out var work))
        {
            return; // answered after it timed out: ingest retries it anyway
        }
        switch (outcome.Kind)
        {
            case OutcomeKind.Accepted:
                work.Done.TrySetResult();
                break;
            case OutcomeKind.Rejected:
                work.Done.TrySetException(new EventRejectedException(outcome.Reason ?? RejectReason.OrderRejected, outcome.Detail ?? ""));
                break;
            case OutcomeKind.Unknown when work.Resolutions < MaxResolutions:
                // Its customer was erased: the ids are free again, resolve them afresh.
                _resolver.Forget(work.Ids);
                _queue.Writer.TryWrite(work);
                break;
            case OutcomeKind.RefundUnmatched when !work.RefundRetried:
                work.RefundRetried = true;
                _ = RetryRefundLater(work);
                break;
            case OutcomeKind.RefundUnmatched:
                work.Done.TrySetException(new EventRejectedException(RejectReason.RefundUnmatched,
                    $"{outcome.Detail} still unmatched after {_refundGrace.TotalSeconds:0} s"));
                break;
            default:
                work.Done.TrySetException(new CustomerUnavailableException($"customer {outcome.CustomerId}: {outcome.Detail ?? outcome.Kind.ToString()}"));
                break;
        }
    }

    /// <summary>
    /// A refund may arrive before its order (another topic, a late till): wait, then ask once
    /// more. Its order may also be earlier in the same partition and still under way, e.g. handed
    /// to a customer on a node that then died: wait for those too.
    /// </summary>
    private async Task RetryRefundLater(Work work)
    {
        try
        {
            await Task.WhenAll(Task.Delay(_refundGrace, _stop.Token), work.Ingested.EarlierEventsDone().WaitAsync(_stop.Token));
            var item = Item(work, Environment.TickCount64 + (long)_timeout.TotalMilliseconds);
            _customers.Tell(new CustomerBatch(CustomerShards.Of(item.CustomerId, _maxShards), _replies, new List<BatchItem> { item }));
        }
        catch (Exception e)
        {
            work.Done.TrySetException(e);
        }
    }

    private void Sweep()
    {
        var now = Environment.TickCount64;
        foreach (var (ticket, work) in _pending)
        {
            if (now > work.Deadline && _pending.TryRemove(ticket, out _))
            {
                work.Done.TrySetException(new TimeoutException($"customer {work.CustomerId} did not answer within {_timeout.TotalSeconds:0} s"));
            }
        }
    }

    private static bool SameIds(CustomerIds ids, IReadOnlyList<LinkedId> kept)
    {
        var count = 0;
        foreach (var _ in ids.All())
        {
            count++;
        }
        return count == kept.Count;
    }

    private static CustomerIds ToCustomerIds(IEnumerable<LinkedId> ids)
    {
        var result = new CustomerIds();
        foreach (var id in ids)
        {
            result = id.Type switch
            {
                IdType.MemberId => result with { MemberId = id.Value },
                IdType.Phone => result with { Phone = id.Value },
                IdType.UnionId => result with { UnionId = id.Value },
                IdType.OpenId => result with { OpenId = id.Value },
                IdType.ExternalUserId => result with { ExternalUserId = id.Value },
                IdType.AppUserId => result with { AppUserId = id.Value },
                IdType.DeviceId => result with { DeviceId = id.Value },
                _ => result,
            };
        }
        return result;
    }

    public void Dispose()
    {
        _sweeper.Dispose();
        _stop.Cancel();
        _queue.Writer.TryComplete();
        foreach (var (_, work) in _pending)
        {
            work.Done.TrySetCanceled();
        }
    }

    /// <summary>Receives the customers' answers on this node and completes the events' tasks.</summary>
    private sealed class Replies : ReceiveActor
    {
        public Replies(CustomerEventHandler handler) => Receive<EventOutcome>(handler.OnOutcome);
    }
}

/// <summary>A customer could not make an event durable this time (a failed save, an erasure under way); ingest retries.</summary>
public sealed class CustomerUnavailableException(string message) : Exception(message);
