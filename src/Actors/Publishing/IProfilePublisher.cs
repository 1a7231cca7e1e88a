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

    /// <summary>Erasure: a tombstone (null value) on the profiles topic and an "erased" change.</summary>
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
