using System.Text.Json;
using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;
using Siyu.Contracts.Events;
using Siyu.Contracts.Privacy;
using Siyu.Contracts.Validation;
using Siyu.Kafka;

namespace Siyu.Ingest;

/// <summary>
/// Where every event enters Siyu: one consumer group over the four input topics. Each message is
/// parsed and validated; valid events go to the <see cref="IEventHandler"/>, invalid ones to the
/// dead-letter topic. An offset is committed only after everything before it in its partition is
/// durably handled (at-least-once); at most <see cref="IngestOptions.MaxInFlight"/> messages are
/// in flight, so a slow handler slows consumption instead of filling memory.
/// </summary>
public sealed class IngestPipeline
{
    private readonly IngestOptions _options;
    private readonly IEventHandler _handler;
    private readonly EventParser _parser;
    private readonly PhoneHasher _phones;
    private readonly ILogger _log;
    private readonly OffsetTracker _tracker = new();
    private readonly Action<TopicPartition, long> _store;
    private int _storing; // offsets completed but not yet stored (see ProcessAsync)
    private readonly InFlightLimit _slots;
    private readonly ResiliencePipeline _retry;
    private IConsumer<byte[]?, byte[]?>? _consumer;
    private DeadLetterPublisher? _deadLetters;

    public IngestPipeline(IngestOptions options, IEventHandler handler, EventParser parser, PhoneHasher phones, ILogger<IngestPipeline> log)
    {
        _options = options;
        _handler = handler;
        _parser = parser;
        _phones = phones;
        _log = log;
        _store = Store;
        _slots = new InFlightLimit(options.MaxInFlight);
        IngestMetrics.InFlight.Set(0); // exported from start-up, not from the first message on
        // A valid event is never dropped for a downstream hiccup: retry until it lands or we shut down
        // (then it is not committed and is redelivered on restart).
        _retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(100),
                MaxDelay = TimeSpan.FromSeconds(10),
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => e is not (OperationCanceledException or EventRejectedException)),
                OnRetry = args =>
                {
                    OnRetry(args.Outcome.Exception!, args.RetryDelay, args.AttemptNumber + 1);
                    return default;
                },
            })
            .Build();
    }

    private void OnRetry(Exception error, TimeSpan delay, int attempt)
    {
        IngestMetrics.Retries.Inc();
        _slots.Failed();
        IngestMetrics.InFlightLimit.Set(_slots.Limit);
        LogRetry(error, delay, attempt);
    }

    private long _lastRetryWarningMs; // Environment.TickCount64 of the last warning, 0: none yet
    private long _retriesSinceWarning;

    // A downstream outage (ClickHouse, the journal) fails every event in flight, thousands at once and
    // again each retry: one warning per RetryWarningInterval with the count and the error, the
    // details at debug level, instead of a stack trace per event and attempt.
    private void LogRetry(Exception error, TimeSpan delay, int attempt)
    {
        var retries = Interlocked.Increment(ref _retriesSinceWarning);
        var now = Environment.TickCount64;
        var last = Interlocked.Read(ref _lastRetryWarningMs);
        if ((last == 0 || now - last >= RetryWarningInterval.TotalMilliseconds) && Interlocked.CompareExchange(ref _lastRetryWarningMs, now, last) == last)
        {
            Interlocked.Add(ref _retriesSinceWarning, -retries);
            _log.LogWarning("Events in flight fail and are retried: {ErrorType}: {Error}. {Retries} retries since the last warning; each event is retried with backoff (up to 10 s apart) and stays uncommitted until it succeeds",
                error.GetType().Name, error.Message, retries);
        }
        _log.LogDebug(error, "Retrying in {Delay} (attempt {Attempt})", delay, attempt);
    }

    /// <summary>At most one warning this often about failing events (the rest at debug level).</summary>
    public static readonly TimeSpan RetryWarningInterval = TimeSpan.FromSeconds(30);

    /// <summary>Consumes until <paramref name="stoppingToken"/> fires, then drains, commits and leaves the group.</summary>
    public Task RunAsync(IProducer<byte[]?, byte[]> producer, CancellationToken stoppingToken) =>
        // Consume() blocks, so the loop gets a thread of its own rather than a pool thread.
        Task.Factory.StartNew(() => Run(producer, stoppingToken), CancellationToken.None,
            TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(IProducer<byte[]?, byte[]> producer, CancellationToken stoppingToken)
    {
        Librdkafka.EnsureLoaded();
        var deadLetters = new DeadLetterPublisher(producer, _options.Topics.DeadLetter);
        _deadLetters = deadLetters;
        using var consumer = BuildConsumer();
        // Events already handed over finish during the drain: cancelling them with the stopping
        // token left them in flight until the drain timed out, uncommitted (found by the SIGTERM
        // test in tests/Siyu.Reliability.Tests). They are given up only when the drain times out.
        using var abandon = new CancellationTokenSource();
        var batch = new List<ConsumeResult<byte[]?, byte[]?>>(MaxBatch);
        _consumer = consumer;
        consumer.Subscribe(_options.Topics.Inputs);
        _log.LogInformation("Ingest consuming {Topics} as group {Group} from {Bootstrap}",
            string.Join(",", _options.Topics.Inputs), _options.GroupId, _options.BootstrapServers);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                ConsumeResult<byte[]?, byte[]?>? cr;
                try
                {
                    cr = consumer.Consume(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (ConsumeException ex)
                {
                    _log.LogError(ex, "Consume failed: {Reason}", ex.Error.Reason);
                    continue;
                }
                if (cr is null || cr.IsPartitionEOF)
                {
                    continue;
                }
                try
                {
                    _slots.Wait(stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break; // not started, not committed: redelivered after restart
                }
                batch.Add(cr);
                // A poll batch: whatever the client has already fetched, without waiting for more.
                while (batch.Count < MaxBatch && _slots.TryWait())
                {
                    ConsumeResult<byte[]?, byte[]?>? more;
                    try
                    {
                        more = consumer.Consume(TimeSpan.Zero);
                    }
                    catch (ConsumeException ex)
                    {
                        _slots.Release(false);
                        _log.LogError(ex, "Consume failed: {Reason}", ex.Error.Reason);
                        break;
                    }
                    if (more is null || more.IsPartitionEOF)
                    {
                        _slots.Release(false);
                        if (more is null)
                        {
                            break;
                        }
                        continue;
                    }
                    batch.Add(more);
                }
                Dispatch(consumer, batch, deadLetters, abandon.Token);
                batch.Clear();
            }
        }
        finally
        {
            Drain();
            abandon.Cancel();
            try
            {
                consumer.Commit();
            }
            catch (KafkaException ex) when (ex.Error.Code is ErrorCode.Local_NoOffset)
            {
            }
            catch (KafkaException ex)
            {
                _log.LogWarning(ex, "Final commit failed; the uncommitted tail will be redelivered");
            }
            consumer.Close();
            _consumer = null;
            _log.LogInformation("Ingest stopped: offsets committed, group left");
        }
    }

    /// <summary>Messages taken from the client at once and handed to the handler as one batch.</summary>
    public const int MaxBatch = 2_000;

    // Parsing and the handler's dispatch run synchronously on the consume thread, in offset order;
    // only the wait for durability is asynchronous.
    private void Dispatch(IConsumer<byte[]?, byte[]?> consumer, List<ConsumeResult<byte[]?, byte[]?>> batch, DeadLetterPublisher deadLetters, CancellationToken ct)
    {
        List<IngestedEvent>? valid = null;
        List<ConsumeResult<byte[]?, byte[]?>>? validResults = null;
        foreach (var cr in batch)
        {
            _tracker.Begin(cr.TopicPartition, cr.Offset.Value);
            IngestMetrics.InFlight.Inc();
            if (!_options.Topics.TryGetChannel(cr.Topic, out var channel))
            {
                _ = Settle(cr, DeadLetter(deadLetters, cr, RejectReason.UnknownTopic, $"{cr.Topic} is not an input topic", ct), null, ct);
                continue;
            }
            var result = _parser.Parse(cr.Message.Value, channel);
            if (!result.IsValid)
            {
                _ = Settle(cr, DeadLetter(deadLetters, cr, result.Reason, result.Error, ct), null, ct);
                continue;
            }
            var evt = result.Event;
            foreach (var refused in result.RefusedIds)
            {
                IngestMetrics.RefusedIds.WithLabels(refused.Type.WireName(), refused.Reason).Inc();
            }
            if (evt.Ids.Phone is { } phone)
            {
                evt = evt with { Ids = evt.Ids with { Phone = _phones.Hash(phone) } };
            }
            (valid ??= []).Add(new IngestedEvent(evt, new SourcePosition(cr.Topic, cr.Partition.Value, cr.Offset.Value))
            {
                EarlierEventsDone = () => _tracker.EarlierCompleted(cr.TopicPartition, cr.Offset.Value),
                MaybeSeen = MaybeSeen(consumer, cr),
            });
            (validResults ??= []).Add(cr);
        }
        if (valid is null)
        {
            return;
        }
        var handled = _handler.Handle(valid, ct);
        for (var i = 0; i < valid.Count; i++)
        {
            _ = Settle(validResults![i], handled[i], valid[i], ct);
        }
    }

    private async Task DeadLetter(DeadLetterPublisher deadLetters, ConsumeResult<byte[]?, byte[]?> cr, string reason, string error, CancellationToken ct)
    {
        await _retry.ExecuteAsync(async t => await deadLetters.PublishAsync(cr, reason, error, t), ct);
        Count(cr.Topic, reason);
    }

    /// <summary>Waits for one message's outcome (retrying a failed event alone), then releases its slot and stores its offset.</summary>
    private async Task Settle(ConsumeResult<byte[]?, byte[]?> cr, Task first, IngestedEvent? ingested, CancellationToken ct)
    {
        var completed = false;
        try
        {
            if (ingested is null)
            {
                await first;
            }
            else
            {
                try
                {
                    try
                    {
                        await first;
                    }
                    catch (Exception e) when (e is not (OperationCanceledException or EventRejectedException))
                    {
                        // A downstream hiccup: never dropped, retried alone until it lands or we shut down
                        // (then it is not committed and is redelivered on restart). It may have been
                        // applied already, so its effects are checked for on the way.
                        OnRetry(e, TimeSpan.Zero, 0);
                        var again = ingested with { MaybeSeen = true };
                        await _retry.ExecuteAsync(async t => await _handler.HandleAsync(again, t), ct);
                    }
                    IngestMetrics.Messages.WithLabels(cr.Topic, "accepted").Inc();
                }
                catch (EventRejectedException rejected)
                {
                    await DeadLetter(_deadLetters!, cr, rejected.Reason, rejected.Message, ct);
                }
            }
            completed = true;
        }
        catch (OperationCanceledException)
        {
            // Shutting down: left uncommitted on purpose.
        }
        catch (Exception ex)
        {
            _log.LogError(ex, "Unexpected failure at {Topic}/{Partition}@{Offset}; it stays uncommitted", cr.Topic, cr.Partition.Value, cr.Offset.Value);
        }
        finally
        {
            IngestMetrics.InFlight.Dec();
            _slots.Release(completed);
            IngestMetrics.InFlightLimit.Set(_slots.Limit);
            if (completed)
            {
                // Counted before Complete, so the drain never sees "nothing in flight" while an
                // offset is still to be stored, and the final commit includes it.
                Interlocked.Increment(ref _storing);
                try
                {
                    _tracker.Complete(cr.TopicPartition, cr.Offset.Value, _store);
                }
                finally
                {
                    Interlocked.Decrement(ref _storing);
                }
            }
        }
    }

    // The end of each partition when this consumer first read from it after being assigned it:
    // messages before it may have been handled by the previous owner (or this process before a
    // crash), messages after it cannot.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<TopicPartition, long> _seenBelow = new();

    private bool MaybeSeen(IConsumer<byte[]?, byte[]?> consumer, ConsumeResult<byte[]?, byte[]?> cr)
    {
        if (!_seenBelow.TryGetValue(cr.TopicPartition, out var boundary))
        {
            // Cached from the fetch that brought this message: at least the end at assignment.
            var high = consumer.GetWatermarkOffsets(cr.TopicPartition).High;
            boundary = high.IsSpecial ? long.MaxValue : high.Value;
            _seenBelow[cr.TopicPartition] = boundary;
        }
        return cr.Offset.Value < boundary;
    }

    private static void Count(string topic, string reason)
    {
        IngestMetrics.Messages.WithLabels(topic, "dead_lettered").Inc();
        IngestMetrics.DeadLetters.WithLabels(reason).Inc();
    }

    private void Store(TopicPartition tp, long next)
    {
        if (_consumer is not { } consumer)
        {
            return;
        }
        try
        {
            // Stored here, in order (under the tracker's lock), committed by librdkafka's
            // auto-commit timer and at shutdown/revoke.
            consumer.StoreOffset(new TopicPartitionOffset(tp, next));
        }
        catch (KafkaException ex)
        {
            // The partition moved to another member meanwhile; it re-reads from the last commit.
            _log.LogDebug(ex, "Offset {Offset} for {Partition} not stored", next, tp);
        }
    }

    private IConsumer<byte[]?, byte[]?> BuildConsumer()
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = _options.BootstrapServers,
            GroupId = _options.GroupId,
            EnableAutoCommit = true,
            EnableAutoOffsetStore = false,
            AutoCommitIntervalMs = _options.AutoCommitIntervalMs,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            SessionTimeoutMs = _options.SessionTimeoutMs,
            StatisticsIntervalMs = _options.StatisticsIntervalMs,
            PartitionAssignmentStrategy = PartitionAssignmentStrategy.CooperativeSticky,
        };
        foreach (var (key, value) in _options.Client)
        {
            config.Set(key, value);
        }
        return new ConsumerBuilder<byte[]?, byte[]?>(config)
            .SetLogHandler((_, m) => _options.Health?.OnLog("ingest consumer", m))
            .SetErrorHandler((_, e) =>
            {
                if (_options.Health is { } health)
                {
                    health.OnError("ingest consumer", e);
                }
                else
                {
                    _log.LogWarning("Kafka consumer error: {Code} {Reason}", e.Code, e.Reason);
                }
            })
            .SetStatisticsHandler((_, json) =>
            {
                RecordLag(json);
                _options.Health?.OnStatistics(json);
            })
            .SetPartitionsAssignedHandler((_, parts) =>
                _log.LogInformation("Assigned {Count} partitions: {Partitions}", parts.Count, Describe(parts)))
            .SetPartitionsRevokedHandler((c, parts) => OnRevoked(c, parts.Select(p => p.TopicPartition).ToList()))
            .SetPartitionsLostHandler((_, parts) =>
            {
                foreach (var p in parts)
                {
                    _tracker.Forget(p.TopicPartition);
                    _seenBelow.TryRemove(p.TopicPartition, out long _);
                }
            })
            .Build();
    }

    // Before giving partitions up, let their in-flight events finish so their offsets are committed
    // here rather than re-processed by the next owner.
    private void OnRevoked(IConsumer<byte[]?, byte[]?> consumer, List<TopicPartition> revoked)
    {
        var deadline = DateTime.UtcNow + _options.DrainTimeout;
        while (revoked.Any(tp => _tracker.InFlight(tp) > 0) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }
        try
        {
            consumer.Commit();
        }
        catch (KafkaException ex) when (ex.Error.Code is ErrorCode.Local_NoOffset)
        {
        }
        catch (KafkaException ex)
        {
            _log.LogWarning(ex, "Commit on revoke failed");
        }
        foreach (var tp in revoked)
        {
            _tracker.Forget(tp);
            _seenBelow.TryRemove(tp, out _);
        }
        _log.LogInformation("Revoked {Count} partitions: {Partitions}", revoked.Count, Describe(revoked));
    }

    // "siyu.pos[0-15] siyu.app[0-15]" rather than 64 separate entries.
    private static string Describe(IEnumerable<TopicPartition> parts) => string.Join(" ", parts
        .GroupBy(p => p.Topic)
        .Select(g => $"{g.Key}[{string.Join(",", g.Select(p => p.Partition.Value).Order())}]"));

    private void Drain()
    {
        var deadline = DateTime.UtcNow + _options.DrainTimeout;
        while ((_tracker.InFlightTotal > 0 || Volatile.Read(ref _storing) > 0) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(5);
        }
        if (_tracker.InFlightTotal > 0)
        {
            _log.LogWarning("{Count} events still in flight after {Timeout}; they will be redelivered", _tracker.InFlightTotal, _options.DrainTimeout);
        }
    }

    private void RecordLag(string statisticsJson)
    {
        try
        {
            using var doc = JsonDocument.Parse(statisticsJson);
            if (!doc.RootElement.TryGetProperty("topics", out var topics))
            {
                return;
            }
            foreach (var topic in topics.EnumerateObject())
            {
                foreach (var partition in topic.Value.GetProperty("partitions").EnumerateObject())
                {
                    if (partition.Name == "-1" || !partition.Value.TryGetProperty("consumer_lag", out var lag) || lag.GetInt64() < 0)
                    {
                        continue;
                    }
                    IngestMetrics.ConsumerLag.WithLabels(topic.Name, partition.Name).Set(lag.GetInt64());
                }
            }
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            _log.LogDebug(ex, "Unreadable librdkafka statistics");
        }
    }
}
