using System.Text;
using Confluent.Kafka;
using Siyu.Actors.Operations;
using Siyu.Contracts;
using Siyu.Sinks.Rows;

namespace Siyu.Host.Node;

/// <summary>
/// The customers' <see cref="IOperationsPublisher"/>: service_due, churn_risk and reminders to
/// siyu.profile-changes, audience moves to siyu.audiences (key customer_id), and every notice but
/// audience moves to ClickHouse (siyu.operations). Completes when Kafka acknowledged the records
/// and ClickHouse inserted the rows: only then does the customer drop them from its outbox.
/// </summary>
public sealed class OperationsPublisher(IProducer<byte[]?, byte[]> producer, Topics topics, SinkService sinks) : IOperationsPublisher
{
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(50);
    private readonly Lock _lock = new();
    private Task? _nextFlush;

    public async Task PublishAsync(string customerId, IReadOnlyList<OperationsNotice> notices, CancellationToken cancellationToken)
    {
        var key = Encoding.UTF8.GetBytes(customerId);
        var deliveries = new List<Task>();
        foreach (var n in notices)
        {
            if (NoticeKinds.IsProfileChange(n.Kind))
            {
                deliveries.Add(producer.ProduceAsync(topics.ProfileChanges,
                    new Message<byte[]?, byte[]> { Key = key, Value = OperationsJson.ChangeJson(customerId, n) }, cancellationToken));
            }
            else if (n.Kind == NoticeKinds.Audience)
            {
                deliveries.Add(producer.ProduceAsync(topics.Audiences,
                    new Message<byte[]?, byte[]> { Key = key, Value = OperationsJson.AudienceJson(customerId, n) }, cancellationToken));
            }
        }
        var rows = notices.Where(n => n.Kind != NoticeKinds.Audience).Select(n => ToRow(customerId, n)).ToList();
        if (rows.Count > 0)
        {
            var sink = await sinks.Ready;
            await sink.Operations.WriteAllAsync(rows, cancellationToken);
            deliveries.Add(SharedFlush(cancellationToken));
        }
        await Task.WhenAll(deliveries);
    }

    private Task SharedFlush(CancellationToken ct)
    {
        lock (_lock)
        {
            // Customers publishing within one short window share an insert (as ClickHouseSalesWriter does).
            return _nextFlush ??= FlushSoon(ct);
        }
    }

    private async Task FlushSoon(CancellationToken ct)
    {
        await Task.Delay(Window, ct);
        lock (_lock)
        {
            _nextFlush = null;
        }
        await (await sinks.Ready).Operations.FlushAsync(ct);
    }

    public static OperationsRow ToRow(string customerId, OperationsNotice n) => new()
    {
        NoticeId = n.Id,
        Kind = n.Kind,
        At = n.At,
        CustomerId = customerId,
        GuideId = n.GuideId ?? "",
        Task = n.Task ?? "",
        OrderId = n.OrderId ?? "",
        DueAt = n.DueAt,
        DoneAt = n.DoneAt,
        Outcome = n.Outcome ?? "",
        State = n.State ?? "",
        TouchesInWindow = (ushort)Math.Min(n.TouchesInWindow ?? 0, ushort.MaxValue),
        ContactCap = (ushort)Math.Min(n.ContactCap ?? 0, ushort.MaxValue),
    };
}
