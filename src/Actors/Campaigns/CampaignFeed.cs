using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Siyu.Kafka;

namespace Siyu.Actors.Campaigns;

/// <summary>
/// Keeps this node's <see cref="CampaignCatalog"/> current from siyu.campaigns. Every node reads
/// the whole topic from the start (a group of its own, nothing committed), so every node sees the
/// same set; which definition of a campaign wins is <see cref="CampaignDefinitions"/>' rule (the
/// latest by Kafka timestamp), which does not depend on the order partitions are read in. No
/// message is skipped silently: one that is not applied is a warning saying why.
/// </summary>
public sealed class CampaignFeed(string bootstrapServers, string topic, IReadOnlyDictionary<string, string> client, ILogger<CampaignFeed> log, KafkaHealth? health = null)
{
    private CampaignCatalog _current = CampaignCatalog.Empty;
    private readonly CampaignDefinitions _definitions = new();
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CampaignCatalog Current => Volatile.Read(ref _current);

    /// <summary>After a campaign is added, replaced (the campaign) or removed (null), with the stamp of the message that did it.</summary>
    public event Action<string, Campaign?, DefinitionStamp>? Changed;

    /// <summary>Completes once the feed has read to the end of the topic as it was at start-up.</summary>
    public Task CaughtUp => _caughtUp.Task;

    public Task RunAsync(CancellationToken stoppingToken) =>
        Task.Factory.StartNew(() => Run(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);

    private void Run(CancellationToken stoppingToken)
    {
        Librdkafka.EnsureLoaded();
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"siyu-campaigns-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            EnablePartitionEof = true,
            StatisticsIntervalMs = health is null ? 0 : KafkaHealth.StatisticsIntervalMs,
        };
        foreach (var (key, value) in client)
        {
            config.Set(key, value);
        }
        var builder = new ConsumerBuilder<string?, byte[]?>(config);
        using var consumer = (health is null ? builder : health.Attach(builder, "campaign feed")).Build();
        consumer.Subscribe(topic);
        var atEnd = new HashSet<int>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var cr = consumer.Consume(stoppingToken);
                if (cr.IsPartitionEOF)
                {
                    atEnd.Add(cr.Partition.Value);
                    if (atEnd.Count >= consumer.Assignment.Count)
                    {
                        _caughtUp.TrySetResult();
                    }
                    continue;
                }
                var stamp = new DefinitionStamp(cr.Message.Timestamp.UnixTimestampMs, cr.Partition.Value, cr.Offset.Value);
                var outcome = _definitions.Apply(cr.Message.Key, cr.Message.Value, stamp);
                if (outcome.Warning is { } warning)
                {
                    log.LogWarning("Campaign message at {Topic}/{Partition}@{Offset}: {Problem}", cr.Topic, cr.Partition.Value, cr.Offset.Value, warning);
                }
                if (!outcome.Applied)
                {
                    continue;
                }
                Volatile.Write(ref _current, _definitions.Catalog);
                Changed?.Invoke(outcome.CampaignId!, outcome.Definition, stamp);
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _caughtUp.TrySetResult();
            consumer.Close();
        }
    }
}
