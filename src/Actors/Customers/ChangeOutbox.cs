using System.Globalization;

namespace Siyu.Actors.Customers;

/// <summary>
/// The customer's siyu.profile-changes outbox (<see cref="CustomerState.ChangeOutbox"/>): the
/// changes a save makes are recorded in the state that save writes, published once it is durable,
/// and dropped only after Kafka acknowledged them, so a crash between the save and the
/// publication republishes them (same change_id) instead of losing them. Pure; called once per
/// save, not per event, and without LINQ.
/// </summary>
public static class ChangeOutbox
{
    /// <summary>
    /// <paramref name="after"/> with the changes since <paramref name="before"/> (the state whose
    /// changes are already recorded; null: none yet, the customer is created) appended, each with
    /// the next change_id. The same instance when nothing changed.
    /// </summary>
    public static CustomerState Record(CustomerState? before, CustomerState after, DateTimeOffset now, CustomerRules rules)
    {
        ArgumentNullException.ThrowIfNull(after);
        if (after.Erasing)
        {
            return after;
        }
        var changes = Profile.Changes(before, after, now, rules);
        if (changes.Count == 0)
        {
            return after;
        }
        var outbox = after.ChangeOutbox.AsSpan();
        var next = new ProfileChange[outbox.Length + changes.Count];
        outbox.CopyTo(next);
        var seq = after.ChangesRecorded;
        for (var i = 0; i < changes.Count; i++)
        {
            next[outbox.Length + i] = changes[i] with { ChangeId = Id(after.CustomerId, ++seq) };
        }
        return after with { ChangeOutbox = EquatableArray.Own(next), ChangesRecorded = seq };
    }

    /// <summary>"{customer_id}:{n}": unique per customer, since n only grows and is saved with the outbox.</summary>
    public static string Id(string customerId, long seq) =>
        string.Concat(customerId, ":", seq.ToString(CultureInfo.InvariantCulture));

    /// <summary>
    /// What an erased customer keeps until Kafka confirmed its "erased" change: no personal data,
    /// only the customers it absorbed (they are erased after it) and that change. Changes still
    /// unpublished are dropped: they describe a person who is now erased.
    /// </summary>
    public static CustomerState Erasing(CustomerState state, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(state);
        var seq = state.ChangesRecorded + 1;
        return CustomerState.Empty(state.CustomerId) with
        {
            Version = state.Version + 1,
            UpdatedAt = now,
            MergedFrom = state.MergedFrom,
            Erasing = true,
            ChangesRecorded = seq,
            ChangeOutbox = [new ProfileChange { CustomerId = state.CustomerId, Change = ProfileChanges.Erased, At = now, ChangeId = Id(state.CustomerId, seq) }],
        };
    }

    /// <summary><paramref name="state"/> without the changes Kafka acknowledged (the same instance when it held none of them).</summary>
    public static CustomerState Published(CustomerState state, IReadOnlyCollection<string> ids)
    {
        ArgumentNullException.ThrowIfNull(state);
        var outbox = state.ChangeOutbox.AsSpan();
        var kept = 0;
        foreach (var c in outbox)
        {
            if (!ids.Contains(c.ChangeId!))
            {
                kept++;
            }
        }
        if (kept == outbox.Length)
        {
            return state;
        }
        var next = new ProfileChange[kept];
        var n = 0;
        foreach (var c in outbox)
        {
            if (!ids.Contains(c.ChangeId!))
            {
                next[n++] = c;
            }
        }
        return state with { ChangeOutbox = EquatableArray.Own(next) };
    }

    public static bool Holds(EquatableArray<ProfileChange> outbox, string id)
    {
        foreach (var c in outbox.AsSpan())
        {
            if (c.ChangeId == id)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Whether <paramref name="saved"/> holds a change <paramref name="current"/> no longer does (acknowledged, not yet saved shorter).</summary>
    public static bool HasSettled(CustomerState? saved, CustomerState current)
    {
        if (saved is null)
        {
            return false;
        }
        foreach (var c in saved.ChangeOutbox.AsSpan())
        {
            if (!Holds(current.ChangeOutbox, c.ChangeId!))
            {
                return true;
            }
        }
        return false;
    }
}
