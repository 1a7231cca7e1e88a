using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;

namespace Siyu.Kafka;

/// <summary>
/// Every Kafka client of the process reports here: librdkafka's log lines go through the
/// structured logger at mapped levels (never raw to stderr), and connection failures are folded
/// into one state, "broker X unreachable for N s (Kafka:BootstrapServers)", warned about once per
/// <see cref="WarnEvery"/> and shown on /health, instead of one line per client per reconnect.
/// A broker counts as reachable again when a client's statistics show one up.
/// </summary>
public sealed class KafkaHealth
{
    public const string Setting = "Kafka:BootstrapServers";

    private readonly ILogger _log;
    private readonly TimeProvider _clock;
    private readonly Lock _gate = new();
    private DateTimeOffset? _failingSince;
    private DateTimeOffset _lastWarning;
    private string _lastError = "";
    private long _failures;

    public KafkaHealth(string bootstrapServers, ILogger<KafkaHealth> log, TimeProvider? clock = null)
    {
        BootstrapServers = bootstrapServers;
        _log = log;
        _clock = clock ?? TimeProvider.System;
    }

    public string BootstrapServers { get; }

    /// <summary>At most one warning this often while brokers stay unreachable.</summary>
    public TimeSpan WarnEvery { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How often clients send statistics (how soon a reconnect is noticed).</summary>
    public const int StatisticsIntervalMs = 5_000;

    /// <summary>Null while the brokers answer; otherwise what /health says.</summary>
    public string? Problem
    {
        get
        {
            lock (_gate)
            {
                return _failingSince is { } since
                    ? $"broker {BootstrapServers} unreachable for {(_clock.GetUtcNow() - since).TotalSeconds:0} s ({Setting}): {_lastError}"
                    : null;
            }
        }
    }

    public ConsumerBuilder<TKey, TValue> Attach<TKey, TValue>(ConsumerBuilder<TKey, TValue> builder, string client, bool errors = true, bool statistics = true)
    {
        builder.SetLogHandler((_, m) => OnLog(client, m));
        if (errors)
        {
            builder.SetErrorHandler((_, e) => OnError(client, e));
        }
        if (statistics)
        {
            builder.SetStatisticsHandler((_, json) => OnStatistics(json));
        }
        return builder;
    }

    public ProducerBuilder<TKey, TValue> Attach<TKey, TValue>(ProducerBuilder<TKey, TValue> builder, string client) => builder
        .SetLogHandler((_, m) => OnLog(client, m))
        .SetErrorHandler((_, e) => OnError(client, e))
        .SetStatisticsHandler((_, json) => OnStatistics(json));

    /// <summary>A librdkafka log line: connection failures feed the unreachable state, the rest is logged at its level.</summary>
    public void OnLog(string client, LogMessage m)
    {
        if (m.Facility is "FAIL" && m.Level <= SyslogLevel.Warning)
        {
            Failing(client, m.Message);
            return;
        }
        var level = m.Level switch
        {
            <= SyslogLevel.Critical => LogLevel.Critical,
            SyslogLevel.Error => LogLevel.Error,
            SyslogLevel.Warning => LogLevel.Warning,
            SyslogLevel.Notice or SyslogLevel.Info => LogLevel.Information,
            _ => LogLevel.Debug,
        };
        _log.Log(level, "librdkafka {Client} {Facility}: {KafkaMessage}", client, m.Facility, m.Message);
    }

    /// <summary>A client error: transport ones feed the unreachable state, others are warnings (fatal ones errors).</summary>
    public void OnError(string client, Error e)
    {
        if (e.Code is ErrorCode.Local_Transport or ErrorCode.Local_AllBrokersDown or ErrorCode.Local_Resolve or ErrorCode.Local_TimedOut && !e.IsFatal)
        {
            Failing(client, e.Reason);
            return;
        }
        _log.Log(e.IsFatal ? LogLevel.Error : LogLevel.Warning, "Kafka {Client} error {Code}: {Reason}", client, e.Code, e.Reason);
    }

    /// <summary>Client statistics: a broker in state UP means Kafka is reachable (again).</summary>
    public void OnStatistics(string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json);
            if (!doc.RootElement.TryGetProperty("brokers", out var brokers))
            {
                return;
            }
            foreach (var b in brokers.EnumerateObject())
            {
                if (b.Value.TryGetProperty("state", out var state) && state.GetString() == "UP")
                {
                    Reachable();
                    return;
                }
            }
        }
        catch (JsonException)
        {
        }
    }

    /// <summary>Kafka answered (a client got a message, an assignment or an acknowledgement).</summary>
    public void Reachable()
    {
        DateTimeOffset? since;
        long failures;
        lock (_gate)
        {
            since = _failingSince;
            failures = _failures;
            _failingSince = null;
            _failures = 0;
        }
        if (since is { } s)
        {
            _log.LogInformation("Kafka broker {Bootstrap} reachable again after {Seconds:0} s ({Failures} connection failures meanwhile)",
                BootstrapServers, (_clock.GetUtcNow() - s).TotalSeconds, failures);
        }
    }

    private void Failing(string client, string error)
    {
        var now = _clock.GetUtcNow();
        bool warn;
        DateTimeOffset since;
        long failures;
        lock (_gate)
        {
            _failingSince ??= now;
            since = _failingSince.Value;
            _lastError = error;
            failures = ++_failures;
            warn = now - _lastWarning >= WarnEvery;
            if (warn)
            {
                _lastWarning = now;
            }
        }
        _log.LogDebug("Kafka {Client} connection failure: {Error}", client, error);
        if (warn)
        {
            _log.LogWarning("Kafka broker {Bootstrap} unreachable for {Seconds:0} s ({Setting}): {Error}; {Failures} connection failures so far, clients keep retrying (next warning in {Interval:0} s)",
                BootstrapServers, (now - since).TotalSeconds, Setting, error, failures, WarnEvery.TotalSeconds);
        }
    }
}
