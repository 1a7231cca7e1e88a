using System.Net.Sockets;
using System.Runtime.InteropServices;
using Confluent.Kafka;

namespace Siyu.Kafka;

public sealed record EmbeddedKafkaOptions
{
    /// <summary>Number of brokers (ids 1..Brokers).</summary>
    public int Brokers { get; init; } = 1;

    /// <summary>0 = random ports. Otherwise broker N is reachable on Port + N - 1 (see <see cref="EmbeddedKafka"/>).</summary>
    public int Port { get; init; }

    /// <summary>Partitions for <see cref="EmbeddedKafka.CreateTopic"/> when none are given. Topics the mock
    /// auto-creates on first produce always get its built-in 4, so create topics explicitly.</summary>
    public int DefaultPartitions { get; init; } = 8;

    /// <summary>Broker-side group.initial.rebalance.delay.ms: how long the first member of an empty group
    /// waits for others before the assignment. Kafka and the mock default to 3000, which makes every
    /// fresh dev consumer start 3 s late.</summary>
    public int GroupInitialRebalanceDelayMs { get; init; } = 100;
}

/// <summary>
/// In-process dev broker: librdkafka's mock cluster, speaking the real Kafka protocol on loopback.
/// Not a real Kafka: each partition keeps only ~5 MiB / 100k messages (older data is dropped
/// silently), there is no compaction and no Admin API, and any group rebalance while members
/// exist waits about session.timeout.ms - 1 s, so clients should use a short session timeout.
/// </summary>
public sealed class EmbeddedKafka : IDisposable
{
    readonly EmbeddedKafkaOptions _options;
    readonly List<TcpForwarder> _forwarders = [];
    IntPtr _rk;
    IntPtr _cluster;

    /// <summary>Comma-separated host:port list for the clients' bootstrap.servers.</summary>
    public string BootstrapServers { get; }

    EmbeddedKafka(EmbeddedKafkaOptions options)
    {
        _options = options;
        try
        {
            _rk = NewHandle();
            _cluster = MockNative.rd_kafka_mock_cluster_new(_rk, options.Brokers);
            if (_cluster == IntPtr.Zero)
                throw new InvalidOperationException("rd_kafka_mock_cluster_new failed (see librdkafka log on stderr).");
            MockNative.rd_kafka_mock_group_initial_rebalance_delay_ms(_cluster, options.GroupInitialRebalanceDelayMs);

            var mockBootstraps = Marshal.PtrToStringUTF8(MockNative.rd_kafka_mock_cluster_bootstraps(_cluster))!;
            BootstrapServers = options.Port == 0 ? mockBootstraps : ForwardFixedPorts(mockBootstraps);
        }
        catch
        {
            Dispose();
            throw;
        }
    }

    public static EmbeddedKafka Start(EmbeddedKafkaOptions? options = null)
    {
        options ??= new EmbeddedKafkaOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Brokers, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.DefaultPartitions, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(options.GroupInitialRebalanceDelayMs);
        if (options.Port != 0)
        {
            ArgumentOutOfRangeException.ThrowIfLessThan(options.Port, 1);
            ArgumentOutOfRangeException.ThrowIfGreaterThan(options.Port + options.Brokers - 1, 65535);
        }
        Librdkafka.EnsureLoaded();
        return new EmbeddedKafka(options);
    }

    /// <summary>Creates a topic (replication factor 1). Throws <see cref="KafkaException"/> if it exists.</summary>
    public void CreateTopic(string name, int? partitions = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
        var err = MockNative.rd_kafka_mock_topic_create(_cluster, name, partitions ?? _options.DefaultPartitions, 1);
        if (err != 0)
            throw new KafkaException(new Error((ErrorCode)err, $"Creating topic '{name}': {MockNative.ErrorText(err)}"));
    }

    /// <summary>
    /// Takes broker <paramref name="brokerId"/> (1-based) down: its connections are closed and new
    /// ones refused until <see cref="SetBrokerUp"/>, so clients see an unreachable broker (fault tests).
    /// </summary>
    public void SetBrokerDown(int brokerId = 1) => Check(() => MockNative.rd_kafka_mock_broker_set_down(_cluster, brokerId), $"Taking broker {brokerId} down");

    /// <summary>Brings broker <paramref name="brokerId"/> back after <see cref="SetBrokerDown"/>.</summary>
    public void SetBrokerUp(int brokerId = 1) => Check(() => MockNative.rd_kafka_mock_broker_set_up(_cluster, brokerId), $"Bringing broker {brokerId} up");

    void Check(Func<int> call, string what)
    {
        ObjectDisposedException.ThrowIf(_cluster == IntPtr.Zero, this);
        var err = call();
        if (err != 0)
            throw new KafkaException(new Error((ErrorCode)err, $"{what}: {MockNative.ErrorText(err)}"));
    }

    public void Dispose()
    {
        foreach (var f in _forwarders) f.Dispose();
        _forwarders.Clear();
        // The cluster lives inside _rk: it must go first (librdkafka asserts on the reverse order).
        if (_cluster != IntPtr.Zero) MockNative.rd_kafka_mock_cluster_destroy(_cluster);
        _cluster = IntPtr.Zero;
        if (_rk != IntPtr.Zero) MockNative.rd_kafka_destroy(_rk);
        _rk = IntPtr.Zero;
    }

    // The mock needs an rd_kafka_t for its thread, timers and logging; it is never used as a client.
    static unsafe IntPtr NewHandle()
    {
        var conf = MockNative.rd_kafka_conf_new();
        var errstr = stackalloc byte[512];
        // log_level 4 (warning) hides the notice that this producer has no bootstrap.servers,
        // while mock errors (listener/bind failures are LOG_CRIT) still reach stderr.
        foreach (var (name, value) in (ReadOnlySpan<(string, string)>)[("client.id", "siyu-embedded-kafka"), ("log_level", "4")])
        {
            if (MockNative.rd_kafka_conf_set(conf, name, value, errstr, 512) == MockNative.RD_KAFKA_CONF_OK) continue;
            MockNative.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException(Marshal.PtrToStringUTF8((IntPtr)errstr));
        }
        var rk = MockNative.rd_kafka_new(MockNative.RD_KAFKA_PRODUCER, conf, errstr, 512);
        if (rk == IntPtr.Zero)
        {
            MockNative.rd_kafka_conf_destroy(conf);
            throw new InvalidOperationException("rd_kafka_new failed: " + Marshal.PtrToStringUTF8((IntPtr)errstr));
        }
        return rk;
    }

    // librdkafka's mock has no way to bind a chosen port (it always binds 127.0.0.1:0), so broker N
    // gets a forwarder on Port + N - 1 and advertises that port, keeping every client hop on it.
    string ForwardFixedPorts(string mockBootstraps)
    {
        var mockPorts = mockBootstraps.Split(',').Select(hp => int.Parse(hp[(hp.LastIndexOf(':') + 1)..])).ToArray();
        var servers = new List<string>();
        for (var id = 1; id <= mockPorts.Length; id++)
        {
            var port = _options.Port + id - 1;
            try { _forwarders.Add(new TcpForwarder(port, mockPorts[id - 1])); }
            catch (SocketException e)
            {
                throw new InvalidOperationException($"Embedded Kafka broker {id} cannot listen on 127.0.0.1:{port}: {e.Message}", e);
            }
            MockNative.rd_kafka_mock_broker_set_host_port(_cluster, id, "127.0.0.1", port);
            servers.Add($"127.0.0.1:{port}");
        }
        return string.Join(",", servers);
    }
}
