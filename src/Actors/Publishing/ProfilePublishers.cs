using Siyu.Actors.Customers;

namespace Siyu.Actors.Publishing;

/// <summary>
/// Several publications of the same profile (the Kafka topics and the ClickHouse profiles table),
/// in order; each one is non-blocking, as <see cref="IProfilePublisher"/> requires.
/// </summary>
public sealed class ProfilePublishers(params IProfilePublisher[] publishers) : IProfilePublisher
{
    public void Publish(CustomerProfile profile, byte[] profileJson, IReadOnlyList<ProfileChange> changes)
    {
        foreach (var p in publishers)
        {
            p.Publish(profile, profileJson, changes);
        }
    }

    public Task PublishChangesAsync(string customerId, IReadOnlyList<ProfileChange> changes, bool tombstone, CancellationToken cancellationToken)
    {
        if (publishers.Length == 1)
        {
            return publishers[0].PublishChangesAsync(customerId, changes, tombstone, cancellationToken);
        }
        var tasks = new Task[publishers.Length];
        for (var i = 0; i < publishers.Length; i++)
        {
            tasks[i] = publishers[i].PublishChangesAsync(customerId, changes, tombstone, cancellationToken);
        }
        return Task.WhenAll(tasks);
    }

    public void Erase(string customerId, DateTimeOffset at)
    {
        foreach (var p in publishers)
        {
            p.Erase(customerId, at);
        }
    }
}
