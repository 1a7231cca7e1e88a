using System.Collections.Concurrent;
using Confluent.Kafka;
using Siyu.Kafka;

namespace Siyu.Host.Demo;

/// <summary>
/// Reads a topic back from the start, as an operator or a downstream service would, and counts
/// its records by a label (the dead-letter reason, the profile change kind). New labels show up
/// without code changes: the board lists whatever it has counted.
/// </summary>
public sealed class TopicTally : IDisposable
{
    private readonly ConcurrentDictionary<string, long> _byLabel = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _total;

    /// <param name="label">The label of one record value; null or an unreadable value counts as "unreadable".</param>
    public TopicTally(string bootstrapServers, string topic, Func<byte[], string?> label)
    {
        Librdkafka.EnsureLoaded();
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = $"siyu-demo-{topic}-{Guid.NewGuid():N}",
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = false,
            SessionTimeoutMs = 6000,
        };
        _loop = Task.Factory.StartNew(() =>
        {
            using var consumer = new ConsumerBuilder<Ignore, byte[]>(config).Build();
            consumer.Subscribe(topic);
            while (!_stop.IsCancellationRequested)
            {
                try
                {
                    var cr = consumer.Consume(_stop.Token);
                    if (cr.Message.Value is not { } value)
                    {
                        continue; // a tombstone
                    }
                    string? name;
                    try
                    {
                        name = label(value);
                    }
                    catch (Exception e) when (e is FormatException or System.Text.Json.JsonException or InvalidOperationException)
                    {
                        name = null;
                    }
                    _byLabel.AddOrUpdate(name ?? "unreadable", 1, (_, n) => n + 1);
                    Interlocked.Increment(ref _total);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
                catch (ConsumeException)
                {
                }
            }
            consumer.Close();
        }, TaskCreationOptions.LongRunning);
    }

    public long Total => Interlocked.Read(ref _total);
    public IReadOnlyDictionary<string, long> ByLabel => _byLabel;

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
