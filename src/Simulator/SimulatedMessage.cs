using Siyu.Contracts.Events;

namespace Siyu.Simulator;

/// <summary>What a simulated message is meant to be, so tests and the demo can check the pipeline's verdict.</summary>
public enum MessageKind
{
    /// <summary>A valid input event (it may be late: see <see cref="SimulatedMessage.Late"/>).</summary>
    Event,

    /// <summary>A second delivery of an earlier event, byte for byte (the pipeline must count it once).</summary>
    Duplicate,

    /// <summary>A message the pipeline must dead-letter with <see cref="SimulatedMessage.ExpectedReason"/>.</summary>
    Invalid,

    /// <summary>A campaign definition for siyu.campaigns, keyed by campaign_id.</summary>
    Campaign,
}

/// <summary>
/// One message for Kafka (or a JSON Lines file): topic, key and value bytes exactly as they are
/// to be produced, plus what the simulator knows about it. <see cref="At"/> is when it is
/// delivered on the simulated clock (local time of the chain); messages come in that order.
/// <see cref="Late"/>: delivered after events that occurred later. <see cref="Sync"/>: part of
/// the initial sync of WeCom contacts and groups that existed before the simulation (late too).
/// </summary>
public sealed record SimulatedMessage(
    string Topic,
    byte[]? Key,
    byte[] Value,
    DateTimeOffset At,
    MessageKind Kind,
    Channel? Channel,
    string? ExpectedReason = null,
    bool Late = false,
    bool Sync = false);
