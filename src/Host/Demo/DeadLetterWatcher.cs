using System.Collections.Concurrent;
using Confluent.Kafka;
using Siyu.Contracts.Json;
using Siyu.Ingest;

namespace Siyu.Host.Demo;

/// <summary>Reads the dead-letter topic back, as an operator would, to show what was rejected and why.</summary>
public sealed class DeadLetterWatcher : IDisposable
{
    private readonly ConcurrentDictionary<string, int> _byReason = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _total;

    public DeadLetterWatcher(string bootstrapServers, string topic)
    {
        var config = new ConsumerConfig
        {
            BootstrapServers = bootstrapServers,
            GroupId = "siyu-demo-deadletter-watch",
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
                    var record = DeadLetterPublisher.Read(cr.Message.Value);
                    _byReason.AddOrUpdate(record.Reason, 1, (_, n) => n + 1);
                    Last = record;
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
    public IReadOnlyDictionary<string, int> ByReason => _byReason;
    public DeadLetterRecord? Last { get; private set; }

    public void Dispose()
    {
        _stop.Cancel();
        _loop.Wait(TimeSpan.FromSeconds(10));
        _stop.Dispose();
    }
}
