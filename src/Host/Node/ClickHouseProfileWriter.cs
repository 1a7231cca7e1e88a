using Siyu.Actors.Customers;
using Siyu.Actors.Publishing;
using Siyu.Sinks.Rows;

namespace Siyu.Host.Node;

/// <summary>
/// Copies every published profile (after the customer's durable save, like siyu.profiles) to
/// ClickHouse <c>profiles</c>, where the private-domain dashboard reads customers. The table keeps
/// the highest version per customer (ReplacingMergeTree(version)), so rows may land in any order.
/// </summary>
/// <remarks>
/// Never blocks the actor: the row is queued if the sink has room, else handed to a task that waits
/// for room. Erasure of the analytics rows is done by the API (<see cref="Siyu.Sinks.SiyuSinks.EraseCustomerAsync"/>),
/// which can report a failure to its caller; <see cref="Erase"/> has nothing to add.
/// </remarks>
public sealed class ClickHouseProfileWriter(SinkService sinks, ILogger<ClickHouseProfileWriter> log) : IProfilePublisher
{
    public void Publish(CustomerProfile profile, byte[] profileJson, IReadOnlyList<ProfileChange> changes)
    {
        var row = ToRow(profile);
        if (sinks.Ready.IsCompletedSuccessfully && sinks.Ready.Result.Profiles.TryWrite(row))
        {
            return;
        }
        _ = WriteLater(row);
    }

    public void Erase(string customerId, DateTimeOffset at)
    {
    }

    private async Task WriteLater(ProfileRow row)
    {
        try
        {
            var sink = await sinks.Ready;
            await sink.Profiles.WriteAsync(row);
        }
        catch (Exception e)
        {
            // The sink is stopping: the next save of this customer writes its profile again.
            log.LogWarning(e, "Profile {CustomerId} v{Version} not written to ClickHouse", row.CustomerId, row.Version);
        }
    }

    public static ProfileRow ToRow(CustomerProfile p) => new()
    {
        CustomerId = p.CustomerId,
        MergedInto = p.MergedInto ?? "",
        MergedFrom = p.MergedFrom,
        Version = (ulong)p.Version,
        UpdatedAt = p.UpdatedAt,
        InPrivateDomain = p.InPrivateDomain,
        Groups = p.Groups,
        GuideId = p.GuideId ?? "",
        Frequency = p.Segment.Frequency,
        State = p.Segment.State,
        Orders = (uint)Math.Max(0, p.Stats.Orders),
        Revenue = p.Stats.Revenue,
        Refunds = (uint)Math.Max(0, p.Stats.Refunds),
        RefundAmount = p.Stats.RefundAmount,
        FirstOrderAt = p.Stats.FirstOrderAt,
        LastOrderAt = p.Stats.LastOrderAt,
        ByChannel = new Dictionary<string, uint>
        {
            ["pos"] = (uint)Math.Max(0, p.Stats.ByChannel.Pos.Orders),
            ["miniprogram"] = (uint)Math.Max(0, p.Stats.ByChannel.MiniProgram.Orders),
            ["app"] = (uint)Math.Max(0, p.Stats.ByChannel.App.Orders),
        },
        Tags = p.Tags,
    };
}
