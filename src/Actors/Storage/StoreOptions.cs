namespace Siyu.Actors.Storage;

/// <summary>
/// Where <see cref="CustomerStore"/> keeps customers and the id index: the same database as the
/// Akka journal (<c>Journal:Provider</c>, <c>Journal:ConnectionString</c>).
/// </summary>
/// <param name="Provider">"sqlite" or "postgresql".</param>
/// <param name="ConnectionString">A Microsoft.Data.Sqlite or Npgsql connection string.</param>
public sealed record StoreOptions(string Provider, string ConnectionString)
{
    /// <summary>
    /// How long one statement may wait (SQLite: for the write lock as well) before it fails. A
    /// database that hangs fails the calls after this instead of holding them for ever.
    /// </summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most rows (customers, owners, released ids, erasures) one group-commit transaction takes
    /// from the queue; a single larger write still goes in one transaction of its own.
    /// </summary>
    public int MaxBatchRows { get; init; } = 20_000;

    /// <summary>Ids per load query (IN list / ANY array); larger requests run one query per chunk.</summary>
    public int LoadChunk { get; init; } = 500;

    internal void Validate()
    {
        if (Provider is not ("sqlite" or "postgresql"))
        {
            throw new ArgumentException($"Journal:Provider '{Provider}' is not sqlite or postgresql");
        }
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new ArgumentException("Journal:ConnectionString is empty");
        }
        if (CommandTimeout <= TimeSpan.Zero || MaxBatchRows < 1 || LoadChunk < 1)
        {
            throw new ArgumentException("StoreOptions: CommandTimeout, MaxBatchRows and LoadChunk must be positive");
        }
    }

    /// <summary>ADO.NET command timeouts are whole seconds (0 would mean "no limit").</summary>
    internal int CommandTimeoutSeconds => Math.Max(1, (int)Math.Ceiling(CommandTimeout.TotalSeconds));
}
