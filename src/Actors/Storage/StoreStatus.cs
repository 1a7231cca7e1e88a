namespace Siyu.Actors.Storage;

/// <summary>
/// How the store's writes are going, for /health and metrics: written by the writer thread after
/// each transaction, read from anywhere. While writes fail no customer state is durable, so the
/// callers acknowledge nothing and no offset moves.
/// </summary>
public sealed class StoreStatus
{
    /// <summary>Transactions failing since <paramref name="Since"/>: <paramref name="Batches"/> of them, the latest with <paramref name="Error"/>.</summary>
    public sealed record Failure(DateTimeOffset Since, long Batches, string Error);

    private Failure? _failing;
    private long _transactions;
    private long _failedTransactions;
    private long _writes;
    private long _rows;

    /// <summary>Null while the latest transaction was committed.</summary>
    public Failure? Failing => Volatile.Read(ref _failing);

    /// <summary>Group-commit transactions committed since the store was opened.</summary>
    public long Transactions => Interlocked.Read(ref _transactions);

    /// <summary>Group-commit transactions that failed (rolled back) since the store was opened.</summary>
    public long FailedTransactions => Interlocked.Read(ref _failedTransactions);

    /// <summary><see cref="StoreWrite"/>s committed since the store was opened.</summary>
    public long CommittedWrites => Interlocked.Read(ref _writes);

    /// <summary>Rows (after later-wins folding) written by committed transactions.</summary>
    public long CommittedRows => Interlocked.Read(ref _rows);

    /// <summary>Returns the outage this commit ends (null: none).</summary>
    internal Failure? Committed(int writes, int rows)
    {
        var previous = _failing; // one writer thread
        Interlocked.Add(ref _writes, writes);
        Interlocked.Add(ref _rows, rows);
        Interlocked.Increment(ref _transactions);
        if (previous is not null)
        {
            Volatile.Write(ref _failing, null);
        }
        return previous;
    }

    /// <summary>Returns the failure before this one (null: this one starts an outage).</summary>
    internal Failure? Failed(Exception e, DateTimeOffset now)
    {
        var previous = _failing; // one writer thread
        Interlocked.Increment(ref _failedTransactions);
        Volatile.Write(ref _failing, new Failure(previous?.Since ?? now, (previous?.Batches ?? 0) + 1, $"{e.GetType().Name}: {e.Message}"));
        return previous;
    }
}
