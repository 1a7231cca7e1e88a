using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;

namespace Siyu.Actors.Operations;

/// <summary>
/// Let the clock act: fire due tasks and reminders, close missed tasks, move the churn state,
/// re-evaluate audiences, all as of <paramref name="At"/>. Idempotent: a second Tick at the same
/// time decides nothing.
/// </summary>
public sealed record Tick(DateTimeOffset At) : CustomerCommand(At);

/// <summary>
/// From the due index: the customer asked to be woken at <paramref name="DueAt"/>. Starts a
/// passivated customer, which then ticks; answered with <see cref="CustomerWoken"/> once the
/// tick's outcome is durable.
/// </summary>
public sealed record WakeCustomer(string CustomerId, DateTimeOffset DueAt) : ICustomerMessage;

public sealed record CustomerWoken(string CustomerId, DateTimeOffset DueAt);
