using System.Runtime.InteropServices;

namespace Siyu.Kafka;

// The slice of librdkafka's C API (rdkafka.h, rdkafka_mock.h) that Confluent.Kafka does not wrap.
// "librdkafka" is resolved by Librdkafka.EnsureLoaded to the handle Confluent.Kafka uses.
internal static unsafe partial class MockNative
{
    const string Lib = "librdkafka";

    public const int RD_KAFKA_PRODUCER = 0;
    public const int RD_KAFKA_CONF_OK = 0;

    [LibraryImport(Lib)] public static partial IntPtr rd_kafka_conf_new();
    [LibraryImport(Lib)] public static partial void rd_kafka_conf_destroy(IntPtr conf);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_conf_set(IntPtr conf, string name, string value, byte* errstr, nuint errstrSize);

    // On success the rd_kafka_t owns conf; on failure (NULL) the caller still does.
    [LibraryImport(Lib)] public static partial IntPtr rd_kafka_new(int type, IntPtr conf, byte* errstr, nuint errstrSize);
    [LibraryImport(Lib)] public static partial void rd_kafka_destroy(IntPtr rk);
    [LibraryImport(Lib)] public static partial IntPtr rd_kafka_err2str(int err);

    [LibraryImport(Lib)] public static partial IntPtr rd_kafka_mock_cluster_new(IntPtr rk, int brokerCount);
    [LibraryImport(Lib)] public static partial void rd_kafka_mock_cluster_destroy(IntPtr mcluster);
    [LibraryImport(Lib)] public static partial IntPtr rd_kafka_mock_cluster_bootstraps(IntPtr mcluster);

    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial int rd_kafka_mock_topic_create(IntPtr mcluster, string topic, int partitionCount, int replicationFactor);

    [LibraryImport(Lib)] public static partial void rd_kafka_mock_group_initial_rebalance_delay_ms(IntPtr mcluster, int delayMs);

    // Changes only what Metadata/FindCoordinator advertise; the listener stays where it was bound.
    [LibraryImport(Lib, StringMarshalling = StringMarshalling.Utf8)]
    public static partial void rd_kafka_mock_broker_set_host_port(IntPtr mcluster, int brokerId, string host, int port);

    // Down: the broker's connections are closed and new ones refused, as when its host is lost.
    [LibraryImport(Lib)] public static partial int rd_kafka_mock_broker_set_down(IntPtr mcluster, int brokerId);
    [LibraryImport(Lib)] public static partial int rd_kafka_mock_broker_set_up(IntPtr mcluster, int brokerId);

    public static string ErrorText(int err) => Marshal.PtrToStringUTF8(rd_kafka_err2str(err)) ?? $"error {err}";
}
