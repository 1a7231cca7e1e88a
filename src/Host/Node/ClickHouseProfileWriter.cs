using Siyu.Actors.Customers;
using Siyu.Actors.Publishing;
using Siyu.Sinks.Rows;

namespace Siyu.Host.Node;

/// <summary>
/// Copies published profiles (after the customer's durable save, like siyu.profiles) to
/// ClickHouse <c>profiles</c>, where the private-domain dashboard reads customers. The table keeps
/// the highest version per customer (ReplacingMergeTree(version)), so only the latest profile of
/// each customer matters: profiles are gathered for <see cref="Window"/> and only each customer's
/// newest goes to the sink. A busy customer saving every few milliseconds thus costs one row per
/// window instead of one per save (a profiles row was as costly to insert as deciding an event).
/// </summary>
/// <remarks>
/// Never blocks the actor. Erasure: <see cref="ForgetAsync"/> (called by the erasure API before it
/// flushes the sinks and deletes the customer's rows) drops a gathered profile and waits for a
/// hand-over to the sink under way, so no row of an erased customer can land after the delete.
/// Stopped (a hosted service, after the actors and before the sinks) it hands everything over.
/// </remarks>
public sealed class ClickHouseProfileWriter : IProfilePublisher, IHostedService
{
    public static readonly TimeSpan Window = TimeSpan.FromSeconds(1);

    private readonly SinkService _sinks;
    private readonly ILogger<ClickHouseProfileWriter> _log;
    private readonly Lock _lock = new();
    private Dictionary<string, CustomerProfile> _gathered = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _handing = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private Task _loop = Task.CompletedTask;

    public ClickHouseProfileWriter(SinkService sinks, ILogger<ClickHouseProfileWriter> log)
    {
        _sinks = sinks;
        _log = log;
    }

    public void Publish(CustomerProfile profile, byte[] profileJson, IReadOnlyList<ProfileChange> changes)
    {
        lock (_lock)
        {
            if (!_gathered.TryGetValue(profile.CustomerId, out var held) || held.Version <= profile.Version)
            {
                _gathered[profile.CustomerId] = profile;
            }
        }
    }

    public void Erase(string customerId, DateTimeOffset at)
    {
        lock (_lock)
        {
            _gathered.Remove(customerId);
        }
    }

    /// <summary>Drops the customer's gathered profile and waits until no hand-over to the sink is under way.</summary>
    public async Task ForgetAsync(string customerId, CancellationToken ct)
    {
        await _handing.WaitAsync(ct);
        try
        {
            Erase(customerId, default);
        }
        finally
        {
            _handing.Release();
        }
    }

    /// <summary>
    /// Hands over what is gathered now and waits until ClickHouse has it (tests and tools that
    /// read the profiles table right after the events they sent were acknowledged).
    /// </summary>
    public async Task FlushAsync(CancellationToken ct)
    {
        await HandOverAsync(ct);
        await (await _sinks.Ready.WaitAsync(ct)).Profiles.FlushAsync(ct);
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _loop = Task.Run(async () =>
        {
            using var timer = new PeriodicTimer(Window);
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    await HandOverAsync(_stop.Token);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
            }
        }, CancellationToken.None);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync();
        await _loop;
        await HandOverAsync(cancellationToken); // what the actors' last saves announced
    }

    private async Task HandOverAsync(CancellationToken ct)
    {
        await _handing.WaitAsync(ct);
        try
        {
            Dictionary<string, CustomerProfile> gathered;
            lock (_lock)
            {
                if (_gathered.Count == 0)
                {
                    return;
                }
                gathered = _gathered;
                _gathered = new Dictionary<string, CustomerProfile>(gathered.Count, StringComparer.Ordinal);
            }
            var sink = await _sinks.Ready.WaitAsync(ct);
            foreach (var profile in gathered.Values)
            {
                await sink.Profiles.WriteAsync(ToRow(profile), ct); // waits for room while ClickHouse is slow or down
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // The sink is stopping: the customers' next saves write their profiles again.
            _log.LogWarning(e, "Profiles not handed to ClickHouse");
        }
        finally
        {
            _handing.Release();
        }
    }

    public static ProfileRow ToRow(CustomerProfile p) => new()
    {
        CustomerId = p.CustomerId,
        MergedInto = p.MergedInto ?? "",
        MergedFrom = p.MergedFrom,
        Version = (ulong)p.Version,
        UpdatedAt = p.UpdatedAt,
        CreatedAt = p.CreatedAt == default ? null : p.CreatedAt,
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
