using System.Globalization;
using System.Text;
using Siyu.Actors.Campaigns;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Json;

namespace Siyu.Simulator;

/// <summary>
/// Generates contract-valid private-domain traffic for a fruit chain (see the shared domain
/// notes): stores with WeCom groups and guides, customers in three frequency tiers whose ids get
/// linked over time, the daily routine (morning arrivals, afternoon solitaire, flash sales with
/// limited stock), the weekly coupon-day surge, refunds, and late, duplicate and broken messages.
/// <para>
/// Deterministic: one <see cref="Random"/> per simulated day, seeded from the options' seed, and
/// a delivery queue ordered by (simulated time, sequence). The enumeration is lazy: a day is
/// planned only when the queue reaches it, so an endless simulation (<c>Days = 0</c>) runs in
/// the memory of about one day of messages.
/// </para>
/// </summary>
public sealed partial class TrafficSimulator
{
    /// <summary>
    /// Average messages per customer and simulated day with the default ratios, measured over a
    /// week (the Simulator tests check it). For sizing a run: messages ≈ stores × customers × days × this.
    /// </summary>
    public const double MessagesPerCustomerDay = 1.4;

    private readonly SimulationOptions _options;
    private readonly Topics _topics;
    private readonly PriorityQueue<SimulatedMessage, (long Ticks, long Seq)> _queue = new();
    private readonly Dictionary<Channel, long> _eventSeq = Enum.GetValues<Channel>().ToDictionary(c => c, _ => 0L);
    private readonly List<Campaign> _campaigns = [];
    private long _pushSeq;
    private long _orderSeq;
    private bool _started;

    public TrafficSimulator(SimulationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options.Validate();
        _topics = new Topics(options.TopicPrefix);
        Population = Population.Create(options, new Random(options.Seed));
    }

    public SimulationOptions Options => _options;

    /// <summary>The chain and its people; their state (contacts, groups, links) follows the enumeration.</summary>
    public Population Population { get; }

    /// <summary>Campaigns published so far, in publication order.</summary>
    public IReadOnlyList<Campaign> Campaigns => _campaigns;

    /// <summary>The messages for <paramref name="options"/>: the simple entry point for tools and benchmarks.</summary>
    public static IEnumerable<SimulatedMessage> Generate(SimulationOptions options) => new TrafficSimulator(options).Messages();

    /// <summary>The messages in delivery order. Enumerate once: the simulation's state advances with it.</summary>
    public IEnumerable<SimulatedMessage> Messages()
    {
        if (_started)
        {
            throw new InvalidOperationException("a TrafficSimulator plays once; create another for a second run");
        }
        _started = true;
        return Run();
    }

    private IEnumerable<SimulatedMessage> Run()
    {
        InitialSync();
        var nextDay = 0;
        while (true)
        {
            var moreDays = _options.Days == 0 || nextDay < _options.Days;
            if (moreDays && (_queue.Count == 0 || _queue.Peek().At >= _options.DayStart(nextDay)))
            {
                PlanDay(nextDay++);
                continue;
            }
            if (_queue.Count == 0)
            {
                yield break;
            }
            yield return _queue.Dequeue();
        }
    }

    /// <summary>What part of the daily routine a local time of day falls in (for boards and logs).</summary>
    public static string PhaseOf(TimeSpan timeOfDay) => timeOfDay.TotalHours switch
    {
        < 7 => "night: stores closed",
        < 10.5 => "morning: new arrivals posted in the groups",
        < 14 => "midday: store visits and mini-program orders",
        < 15 => "afternoon: hot-item solitaire in the groups",
        < 17 => "afternoon: solitaire and flash sales",
        < 20 => "evening: flash sales and store visits",
        < 22.5 => "evening: mini-program orders",
        _ => "night: stores closed",
    };

    // ------------------------------------------------------------------ emitting

    private void Push(SimulatedMessage message) =>
        _queue.Enqueue(message, (message.At.UtcTicks, _pushSeq++));

    /// <summary>Stamps the envelope on <paramref name="evt"/>, queues it, and maybe a late delivery or a duplicate. Returns when it is delivered.</summary>
    private DateTimeOffset Emit(Day day, DateTimeOffset at, Channel channel, Store store, CustomerIds ids, InputEvent evt, bool faults = true)
    {
        var full = evt with { EventId = NextEventId(channel, store), OccurredAt = Ms(at), Channel = channel, StoreId = store.StoreId, Ids = ids };
        var bytes = EventWriter.ToUtf8Json(full);
        var key = Key(channel, ids);
        var deliver = full.OccurredAt;
        var late = false;
        if (faults && day.Rng.NextDouble() < _options.LateRatio)
        {
            deliver = Ms(deliver + TimeSpan.FromMinutes(day.Uniform(2, 45)));
            late = true;
        }
        Push(new SimulatedMessage(_topics.Input(channel), key, bytes, deliver, MessageKind.Event, channel, Late: late));
        if (faults && day.Rng.NextDouble() < _options.DuplicateRatio)
        {
            Push(new SimulatedMessage(_topics.Input(channel), key, bytes, Ms(deliver + TimeSpan.FromSeconds(day.Uniform(5, 300))), MessageKind.Duplicate, channel));
        }
        day.ValidEvents++;
        return deliver;
    }

    private void PublishCampaign(Campaign campaign, DateTimeOffset at)
    {
        _campaigns.Add(campaign);
        Push(new SimulatedMessage(_topics.Campaigns, Encoding.UTF8.GetBytes(campaign.CampaignId), campaign.ToJson(), Ms(at), MessageKind.Campaign, null));
    }

    private string NextEventId(Channel channel, Store store) =>
        $"{channel.WireName()}-{store.StoreId}-{++_eventSeq[channel]:D8}";

    private string NextOrderId(Day day, Store store) =>
        $"O{day.Date:yyMMdd}-{store.StoreId}-{++_orderSeq:D7}";

    /// <summary>The contract keys input topics by any id of the customer; each channel uses its own main id, so one customer's events of a channel stay in order.</summary>
    private static byte[]? Key(Channel channel, CustomerIds ids)
    {
        var id = channel switch
        {
            Channel.Pos => ids.MemberId,
            Channel.MiniProgram => ids.OpenId,
            Channel.App => ids.DeviceId,
            Channel.Group => ids.ExternalUserId,
            _ => null,
        } ?? ids.All().Select(i => i.Value).FirstOrDefault();
        return id is null ? null : Encoding.UTF8.GetBytes(id);
    }

    /// <summary>Milliseconds, the precision of occurred_at on the wire, so At and occurred_at agree.</summary>
    private static DateTimeOffset Ms(DateTimeOffset t) => new(t.Ticks - (t.Ticks % TimeSpan.TicksPerMillisecond), t.Offset);

    // ------------------------------------------------------------------ ids per channel

    private static CustomerIds PosIds(Person p) => new() { MemberId = p.MemberId, Phone = p.Phone };

    private static CustomerIds MiniProgramIds(Person p) => new() { OpenId = p.OpenId, UnionId = p.UnionId };

    private static CustomerIds AppIds(Person p) => p.LoggedIn
        ? new CustomerIds { AppUserId = p.AppUserId, DeviceId = p.DeviceId }
        : new CustomerIds { DeviceId = p.DeviceId };

    /// <summary>WeCom gives the brand the external_userid and, for WeChat users of its mini-program, the unionid.</summary>
    private static CustomerIds WeComIds(Person p) => new() { ExternalUserId = p.ExternalUserId, UnionId = p.UnionId };

    private static string Date(DateOnly d) => d.ToString("yyyyMMdd", CultureInfo.InvariantCulture);
}
