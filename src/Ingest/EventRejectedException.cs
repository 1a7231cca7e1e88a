namespace Siyu.Ingest;

/// <summary>
/// Thrown by a handler for a valid event that the business rules cannot take (no usable id, a
/// refund whose order never arrived...). The pipeline dead-letters it with this reason instead of
/// retrying: retrying would never succeed.
/// </summary>
public sealed class EventRejectedException(string reason, string error) : Exception(error)
{
    public string Reason { get; } = reason;
}
