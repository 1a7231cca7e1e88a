using Confluent.Kafka;
using Microsoft.Extensions.Logging;
using Siyu.Kafka;

namespace Siyu.Actors.Campaigns;

/// <summary>
/// Keeps this node's <see cref="CampaignCatalog"/> current from siyu.campaigns. Every node reads
/// the whole topic from the start (a group of its own, nothing committed), so every node sees the
/// same set; the latest definition of a campaign wins and a tombstone removes it.
/// </summary>
public sealed class CampaignFeed(string bootstrapServers, string topic, IReadOnlyDictionary<string, string> client, ILogger<CampaignFeed> log, KafkaHealth? health = null)
{
    private CampaignCatalog _current = CampaignCatalog.Empty;
    private readonly TaskCompletionSource _caughtUp = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CampaignCatalog Current => Volatile.Read(ref _current);

    /// <summary>After a campaign is added, replaced (the campaign) or removed (null).</summary>
    public event Action<string, Campaign?>? Changed;

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
                var update = Current.ApplyMessage(cr.Message.Key, cr.Message.Value);
                if (update.Error is { } error)
                {
                    log.LogWarning("Campaign at {Topic}/{Partition}@{Offset} ignored: {Error}", cr.Topic, cr.Partition.Value, cr.Offset.Value, error);
                    continue;
                }
                Volatile.Write(ref _current, update.Catalog);
                if (cr.Message.Key is { } id)
                {
                    Changed?.Invoke(id, update.Catalog.Find(id));
                }
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
