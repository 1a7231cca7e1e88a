// TEMPORARY: replaced by the real CustomerStore from the store helper (wt-store).
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Logging;

namespace Siyu.Actors.Storage;

public sealed record StoreOptions(string Provider, string ConnectionString);

public readonly record struct IdHash(ulong Hi, ulong Lo)
{
    public static IdHash Of(string typeWireName, string value)
    {
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(typeWireName + ":" + value), hash);
        return new IdHash(System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash), System.Buffers.Binary.BinaryPrimitives.ReadUInt64BigEndian(hash[8..]));
    }
}

public sealed record StoredCustomer(string CustomerId, byte[]? State);
public sealed record CustomerRow(string CustomerId, int Shard, long Version, byte[] State, DateTimeOffset? NextWake);
public readonly record struct OwnerRow(IdHash Key, int Shard, string Owner);

public sealed class StoreWrite
{
    public List<CustomerRow> Customers { get; } = [];
    public List<OwnerRow> Owners { get; } = [];
    public List<IdHash> ReleasedIds { get; } = [];
    public List<(string CustomerId, int Shard)> Erased { get; } = [];
}

public sealed record StoreStatus(DateTimeOffset? FailingSince, long FailedBatches, string? LastError);

public sealed class CustomerStore : IAsyncDisposable
{
    public static Task<CustomerStore> OpenAsync(StoreOptions options, ILogger logger, CancellationToken ct) => throw new NotImplementedException();
    public Task<IReadOnlyList<StoredCustomer>> LoadCustomersAsync(IReadOnlyCollection<string> customerIds, CancellationToken ct) => throw new NotImplementedException();
    public Task<IReadOnlyList<OwnerRow>> LoadOwnersAsync(IReadOnlyCollection<IdHash> keys, CancellationToken ct) => throw new NotImplementedException();
    public Task<IReadOnlyList<string>> DueAsync(int shard, DateTimeOffset now, int limit, CancellationToken ct) => throw new NotImplementedException();
    public Task CommitAsync(StoreWrite write, CancellationToken ct = default) => throw new NotImplementedException();
    public StoreStatus Status => throw new NotImplementedException();
    public Task ProbeAsync(CancellationToken ct) => throw new NotImplementedException();
    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
