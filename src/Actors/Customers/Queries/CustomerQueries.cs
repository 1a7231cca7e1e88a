using Siyu.Actors.Customers.Commands;

namespace Siyu.Actors.Customers.Queries;

/// <summary>Answered with the current <see cref="CustomerState"/> (the empty state for an unknown customer).</summary>
public sealed record GetCustomer(string CustomerId) : ICustomerMessage;

/// <summary>What the identity resolver needs to pick a merge survivor; answered with <see cref="CustomerIdentity"/>.</summary>
public sealed record GetIdentity(string CustomerId) : ICustomerMessage;

/// <param name="HandOverPending">Merged into <paramref name="MergedInto"/>, but its history is still on its way there.</param>
public sealed record CustomerIdentity(string CustomerId, DateTimeOffset? CreatedAt, string? MergedInto, EquatableArray<LinkedId> Ids, bool HandOverPending = false);
