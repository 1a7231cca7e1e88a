namespace Siyu.Actors.Operations;

/// <summary>
/// Where a customer's operations notices go: service_due, churn_risk and reminders to
/// siyu.profile-changes, audience moves to siyu.audiences, compliance and guide-touch rows to
/// ClickHouse. The task completes when all of them are stored; only then does the customer drop
/// them from its outbox, so a failure or a crash publishes them again (each has a stable id).
/// </summary>
public interface IOperationsPublisher
{
    Task PublishAsync(string customerId, IReadOnlyList<OperationsNotice> notices, CancellationToken cancellationToken);
}

public sealed class NoOperationsPublisher : IOperationsPublisher
{
    public static readonly NoOperationsPublisher Instance = new();

    public Task PublishAsync(string customerId, IReadOnlyList<OperationsNotice> notices, CancellationToken cancellationToken) => Task.CompletedTask;
}
