using System.Text;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Siyu.Actors.Customers;
using Siyu.Contracts;

namespace Siyu.Actors.Publishing;

/// <summary>
/// Publishes profiles and change events keyed by customer_id, so a compacted topic keeps the
/// latest profile of every customer and a tombstone removes an erased one.
/// </summary>
public sealed class KafkaProfilePublisher(IProducer<byte[]?, byte[]> producer, Topics topics, ILogger<KafkaProfilePublisher> log) : IProfilePublisher
{
    public void Publish(CustomerProfile profile, byte[] profileJson, IReadOnlyList<ProfileChange> changes)
    {
        var key = Encoding.UTF8.GetBytes(profile.CustomerId);
        Produce(topics.Profiles, key, profileJson);
        foreach (var change in changes)
        {
            Produce(topics.ProfileChanges, key, Profile.ToJson(change));
        }
    }

    /// <summary>Awaited deliveries (the customer's outbox keeps them until then); one partition per key keeps their order.</summary>
    public Task PublishChangesAsync(string customerId, IReadOnlyList<ProfileChange> changes, bool tombstone, CancellationToken cancellationToken)
    {
        var key = Encoding.UTF8.GetBytes(customerId);
        var deliveries = new Task[changes.Count + (tombstone ? 1 : 0)];
        for (var i = 0; i < changes.Count; i++)
        {
            deliveries[i] = producer.ProduceAsync(topics.ProfileChanges, new Message<byte[]?, byte[]> { Key = key, Value = Profile.ToJson(changes[i]) }, cancellationToken);
        }
        if (tombstone)
        {
            deliveries[^1] = producer.ProduceAsync(topics.Profiles, new Message<byte[]?, byte[]> { Key = key, Value = null! }, cancellationToken);
        }
        return deliveries.Length == 1 ? deliveries[0] : Task.WhenAll(deliveries);
    }

    /// <summary>The tombstone and the "erased" change went out, acknowledged, through <see cref="PublishChangesAsync"/>.</summary>
    public void Erase(string customerId, DateTimeOffset at)
    {
    }

    private void Produce(string topic, byte[] key, byte[]? value)
    {
        // Non-blocking: the actor must not wait on the broker. A failed delivery is logged; the
        // next change of the customer publishes the full profile again.
        producer.Produce(topic, new Message<byte[]?, byte[]> { Key = key, Value = value! }, report =>
        {
            if (report.Error.IsError)
            {
                log.LogWarning("Publishing to {Topic} failed: {Reason}", topic, report.Error.Reason);
            }
        });
    }
}
