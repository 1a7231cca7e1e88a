using Akka.Actor;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Identity;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Siyu.Ingest;

namespace Siyu.Actors.Ingestion;

/// <summary>
/// Ingest's handler in production: finds the customer an event belongs to and hands it over.
/// The returned task completes when the customer's state covering the event is durable, which
/// is what lets ingest commit the offset.
/// </summary>
public sealed class CustomerEventHandler(IdentityResolver resolver, IActorRef customers, TimeSpan askTimeout, TimeSpan refundGrace) : IEventHandler
{
    public async ValueTask HandleAsync(IngestedEvent ingested, CancellationToken cancellationToken)
    {
        Resolution resolution;
        try
        {
            resolution = await resolver.ResolveAsync(ingested.Event.Ids, cancellationToken);
        }
        catch (NoUsableIdsException e)
        {
            throw new EventRejectedException(RejectReason.NoUsableIds, e.Message);
        }
        var evt = ingested.Event with { Ids = ToCustomerIds(resolution.Ids) };
        var accepted = await Observe(resolution.CustomerId, evt, cancellationToken);
        if (accepted.Notices.OfType<RefundUnmatched>().Any())
        {
            // A refund may arrive before its order (another topic, a late till): wait, then try once more.
            // Its order may also be earlier in the same partition and still under way, e.g. handed to
            // a customer on a node that then died and retried after the ask timeout: wait for those
            // too (after a kill -9 in the two-node test, refunds were dead-lettered while their
            // orders were still being retried, tests/Siyu.Reliability.Tests).
            await Task.WhenAll(Task.Delay(refundGrace, cancellationToken), ingested.EarlierEventsDone().WaitAsync(cancellationToken));
            accepted = await Observe(resolution.CustomerId, evt, cancellationToken);
        }
        foreach (var notice in accepted.Notices)
        {
            switch (notice)
            {
                case RefundUnmatched u:
                    throw new EventRejectedException(RejectReason.RefundUnmatched,
                        $"refund of order {u.OrderId} ({u.Reason}) still unmatched after {refundGrace.TotalSeconds:0} s");
                case OrderRejected o:
                    throw new EventRejectedException(RejectReason.OrderRejected, $"order {o.OrderId}: {o.Reason}");
            }
        }
    }

    private Task<EventAccepted> Observe(string customerId, InputEvent evt, CancellationToken ct) =>
        customers.Ask<EventAccepted>(new ObserveEvent(customerId, evt), askTimeout, ct);

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
}
