using Siyu.Actors.Customers;

namespace Siyu.Actors.Publishing;

/// <summary>
/// Where customers announce themselves: the full profile on siyu.profiles (compacted, key
/// customer_id) and what changed on siyu.profile-changes. Called after the state is durable.
/// </summary>
public interface IProfilePublisher
{
    /// <param name="profile">The projected profile (built once per save, shared by the publishers).</param>
    /// <param name="profileJson">Its siyu.profiles value.</param>
    void Publish(CustomerProfile profile, byte[] profileJson, IReadOnlyList<ProfileChange> changes);

    /// <summary>
    /// Profile changes from a customer's saved outbox (each with its change_id), and after them the
    /// profile tombstone (null value) when <paramref name="tombstone"/> (an erasure). Completes
    /// when Kafka acknowledged every record: only then does the customer drop them from its
    /// outbox, so a failure or a crash publishes them again. Publishers that keep no change
    /// events complete at once.
    /// </summary>
    Task PublishChangesAsync(string customerId, IReadOnlyList<ProfileChange> changes, bool tombstone, CancellationToken cancellationToken) =>
        Task.CompletedTask;

    /// <summary>Erasure done (the tombstone and the "erased" change were published before): forget the customer.</summary>
    void Erase(string customerId, DateTimeOffset at);
}

public sealed class NoProfilePublisher : IProfilePublisher
{
    public static readonly NoProfilePublisher Instance = new();

    public void Publish(CustomerProfile profile, byte[] profileJson, IReadOnlyList<ProfileChange> changes)
    {
    }

    public void Erase(string customerId, DateTimeOffset at)
    {
    }
}
