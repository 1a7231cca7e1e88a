using Akka.Actor;
using Akka.Cluster.Sharding;
using Akka.Persistence;

namespace Siyu.Host.Bench;

/// <summary>Registry key of the baseline's shard region.</summary>
public sealed class JournalBaselineRegion;

/// <summary>Persist <see cref="Payload"/> as one journal event of <see cref="CustomerId"/>'s baseline actor; answered with <see cref="JournalWritten"/>.</summary>
public sealed record JournalWrite(string CustomerId, byte[] Payload);

public sealed record JournalWritten
{
    public static readonly JournalWritten Instance = new();
}

public sealed class JournalBaselineExtractor(int maxShards) : HashCodeMessageExtractor(maxShards)
{
    public override string? EntityId(object message) => (message as JournalWrite)?.CustomerId;
}

/// <summary>
/// The journal-write baseline of `siyu bench actors`: what one persistent actor per customer
/// costs when every input event becomes one journaled event (a small byte array, so the
/// serializer is as cheap as the customer snapshot's), acknowledged after the write. This is
/// the design the customer actor's group commit replaced.
/// </summary>
public sealed class JournalBaselineActor : ReceivePersistentActor
{
    private long _events;

    public override string PersistenceId { get; }

    public JournalBaselineActor(string customerId)
    {
        PersistenceId = "bench-journal-" + customerId;
        Recover<byte[]>(_ => _events++);
        Command<JournalWrite>(w =>
        {
            var replyTo = Sender;
            Persist(w.Payload, _ =>
            {
                _events++;
                replyTo.Tell(JournalWritten.Instance);
            });
        });
    }

    public static Props PropsFor(string customerId) => Props.Create(() => new JournalBaselineActor(customerId));
}
