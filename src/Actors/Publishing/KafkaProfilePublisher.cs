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

    public void Erase(string customerId, DateTimeOffset at)
    {
        var key = Encoding.UTF8.GetBytes(customerId);
        Produce(topics.Profiles, key, null);
        Produce(topics.ProfileChanges, key, Profile.ToJson(new ProfileChange { CustomerId = customerId, Change = "erased", At = at }));
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
