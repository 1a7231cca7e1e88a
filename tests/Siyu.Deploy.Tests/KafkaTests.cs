using System.Diagnostics;
using System.Globalization;
using Siyu.Deploy.Tests.Support;

namespace Siyu.Deploy.Tests;

/// <summary>The single-node KRaft broker and the kafka-init topic creation.</summary>
public sealed class KafkaTests
{
    private const string CreateTopicsScript = "deploy/kafka/create-topics.sh";

    private readonly Compose _compose = Compose.Load();

    private Service Kafka => _compose["kafka"];

    private Service Init => _compose["kafka-init"];

    [Fact]
    public void Kafka_runs_in_kraft_mode_as_a_single_combined_node()
    {
        var env = Kafka.Environment;
        Assert.DoesNotContain(env.Keys, k => k.Contains("ZOOKEEPER", StringComparison.OrdinalIgnoreCase));

        var roles = Kafka.Env("KAFKA_PROCESS_ROLES").Split(',', StringSplitOptions.TrimEntries);
        Assert.Contains("broker", roles);
        Assert.Contains("controller", roles);

        // 1@kafka:9093 — this node, on this service, on the CONTROLLER listener.
        var controllerNames = Kafka.Env("KAFKA_CONTROLLER_LISTENER_NAMES").Split(',', StringSplitOptions.TrimEntries);
        var listeners = Listeners(Kafka.Env("KAFKA_LISTENERS"));
        var voter = Assert.Single(Kafka.Env("KAFKA_CONTROLLER_QUORUM_VOTERS").Split(',', StringSplitOptions.TrimEntries));
        var at = voter.IndexOf('@', StringComparison.Ordinal);
        Assert.Equal(Kafka.Env("KAFKA_NODE_ID"), voter[..at]);
        var (voterHost, voterPort) = HostPort(voter[(at + 1)..]);
        Assert.True(_compose.IsServiceHost(voterHost, Kafka), $"quorum voter host {voterHost} is not the kafka service");
        Assert.Contains(controllerNames, name => listeners.TryGetValue(name, out var l) && l.Port == voterPort);

        // CLUSTER_ID must be a base64url-encoded 16-byte UUID or the storage format step fails.
        var clusterId = Kafka.Env("CLUSTER_ID");
        Assert.Equal(22, clusterId.Length);
        var bytes = Convert.FromBase64String(clusterId.Replace('-', '+').Replace('_', '/') + "==");
        Assert.Equal(16, bytes.Length);
    }

    [Fact]
    public void Listeners_advertised_and_mapped_consistently()
    {
        var protocolMap = Kafka.Env("KAFKA_LISTENER_SECURITY_PROTOCOL_MAP")
            .Split(',', StringSplitOptions.TrimEntries)
            .ToDictionary(p => p.Split(':')[0], p => p.Split(':')[1]);
        var listeners = Listeners(Kafka.Env("KAFKA_LISTENERS"));
        var advertised = Listeners(Kafka.Env("KAFKA_ADVERTISED_LISTENERS"));

        foreach (var name in listeners.Keys.Concat(advertised.Keys))
        {
            Assert.True(protocolMap.ContainsKey(name), $"listener {name} has no entry in KAFKA_LISTENER_SECURITY_PROTOCOL_MAP");
        }

        foreach (var (name, address) in advertised)
        {
            Assert.True(listeners.TryGetValue(name, out var bound), $"advertised listener {name} is not in KAFKA_LISTENERS");
            Assert.Equal(bound.Port, address.Port);
        }

        // Containers on the compose network use the inter-broker listener at kafka:9092.
        var internalName = Kafka.Env("KAFKA_INTER_BROKER_LISTENER_NAME");
        var internalAddress = advertised[internalName];
        Assert.True(_compose.IsServiceHost(internalAddress.Host, Kafka), $"{internalName} is advertised as {internalAddress.Host}, not the kafka service");
        Assert.Equal(9092, internalAddress.Port);

        // A second listener for clients on the host, published on the same port it advertises.
        var host = Assert.Single(advertised, a => a.Key != internalName);
        Assert.Equal("localhost", host.Value.Host);
        Assert.Contains(Kafka.Ports, p => p.HostPort == host.Value.Port && p.ContainerPort == listeners[host.Key].Port);
        Assert.DoesNotContain(Kafka.Ports, p => p.ContainerPort == internalAddress.Port); // kafka:9092 means nothing on the host
    }

    [Fact]
    public void Single_node_settings_do_not_need_three_brokers()
    {
        // Kafka defaults these to 3; with one broker, consumer groups and transactions would never work.
        Assert.Equal("1", Kafka.Env("KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"));
        Assert.Equal("1", Kafka.Env("KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR"));
        Assert.Equal("1", Kafka.Env("KAFKA_TRANSACTION_STATE_LOG_MIN_ISR"));
        Assert.Equal("1", Init.Env("REPLICATION"));
        Assert.Equal("false", Kafka.Env("KAFKA_AUTO_CREATE_TOPICS_ENABLE"));

        var logDirs = Kafka.Env("KAFKA_LOG_DIRS");
        Assert.Contains(Kafka.Volumes, v => !v.IsBind && v.Target == logDirs);
    }

    [Fact]
    public void Kafka_healthcheck_probes_an_advertised_address()
    {
        var probe = string.Join(' ', Kafka.HealthcheckTest);
        var advertised = Listeners(Kafka.Env("KAFKA_ADVERTISED_LISTENERS"));
        Assert.Contains(advertised.Values, a => probe.Contains($"{a.Host}:{a.Port}", StringComparison.Ordinal));
    }

    [Fact]
    public void Init_creates_every_contract_topic_with_the_configured_prefix()
    {
        var prefix = SiyuSettings.LoadProductionConfig().Require(SiyuSettings.KafkaTopicPrefix, SiyuSettings.ProductionConfig);
        var expected = SiyuSettings.ContractTopics.Select(t => prefix + t).Order().ToList();

        var plain = Words(Init.Env("TOPICS"));
        var compacted = Words(Init.Env("COMPACTED_TOPICS"));
        var retained = Words(Init.Env("RETAINED_TOPICS"));
        var all = plain.Concat(compacted).Concat(retained).ToList();

        Assert.Equal(all.Count, all.Distinct().Count());
        Assert.Equal(expected, all.Order().ToList());
        foreach (var topic in SiyuSettings.CompactedContractTopics)
        {
            Assert.Contains(prefix + topic, compacted);
        }

        // Same broker the pipeline uses, reached only after it is healthy.
        var siyu = SiyuSettings.Effective(SiyuSettings.LoadProductionConfig(), _compose["siyu"].Environment);
        Assert.Equal(siyu.Require(SiyuSettings.KafkaBootstrapServers, "siyu"), Init.Env("BOOTSTRAP"));
        Assert.Equal("service_healthy", Init.DependsOn["kafka"]);

        // The entrypoint runs the script mounted from deploy/kafka.
        var mount = Assert.Single(Init.Volumes, v => v.IsBind && Repo.Normalize(v.Source) == CreateTopicsScript);
        Assert.Contains(mount.Target, Init.Entrypoint);
    }

    [Fact]
    public void Create_topics_script_creates_and_enforces_policies()
    {
        var calls = RunCreateTopics(Init.Environment, failTopics: false, out var exitCode, out var output);
        Assert.True(exitCode == 0, $"create-topics.sh failed ({exitCode}): {output}");

        var creates = calls.Where(c => c.StartsWith("topics ", StringComparison.Ordinal) && c.Contains("--create", StringComparison.Ordinal)).ToList();
        var alters = calls.Where(c => c.StartsWith("configs ", StringComparison.Ordinal)).ToList();
        var partitions = Init.Env("PARTITIONS");
        var bootstrap = Init.Env("BOOTSTRAP");

        foreach (var topic in Words(Init.Env("TOPICS")).Concat(Words(Init.Env("COMPACTED_TOPICS"))).Concat(Words(Init.Env("RETAINED_TOPICS"))))
        {
            var create = Assert.Single(creates, c => Arg(c, "--topic") == topic);
            Assert.Contains("--if-not-exists", create, StringComparison.Ordinal);
            Assert.Equal(bootstrap, Arg(create, "--bootstrap-server"));
            Assert.Equal(partitions, Arg(create, "--partitions"));
            Assert.Equal(Init.Env("REPLICATION"), Arg(create, "--replication-factor"));
        }

        foreach (var topic in Words(Init.Env("COMPACTED_TOPICS")))
        {
            Assert.Equal("cleanup.policy=compact", Arg(Assert.Single(creates, c => Arg(c, "--topic") == topic), "--config"));
            // --if-not-exists leaves an existing topic alone, so the policy is also altered in place.
            var alter = Assert.Single(alters, c => Arg(c, "--entity-name") == topic);
            Assert.Equal("cleanup.policy=compact", Arg(alter, "--add-config"));
        }

        foreach (var topic in Words(Init.Env("TOPICS")))
        {
            Assert.DoesNotContain("cleanup.policy=compact", Assert.Single(creates, c => Arg(c, "--topic") == topic), StringComparison.Ordinal);
        }

        foreach (var topic in Words(Init.Env("RETAINED_TOPICS")))
        {
            var alter = Assert.Single(alters, c => Arg(c, "--entity-name") == topic);
            Assert.Equal("retention.ms=" + Init.Env("RETAINED_MS"), Arg(alter, "--add-config"));
        }
    }

    [Fact]
    public void Create_topics_script_fails_when_the_broker_refuses()
    {
        // kafka-init must exit non-zero so that siyu (service_completed_successfully) never starts without topics.
        RunCreateTopics(Init.Environment, failTopics: true, out var exitCode, out _);
        Assert.NotEqual(0, exitCode);
    }

    private static List<string> RunCreateTopics(IReadOnlyDictionary<string, string> environment, bool failTopics, out int exitCode, out string output)
    {
        var dir = Directory.CreateTempSubdirectory("siyu-kafka-init-");
        try
        {
            var log = Path.Combine(dir.FullName, "calls.log");
            WriteStub(Path.Combine(dir.FullName, "kafka-topics.sh"), "topics", failOnCreate: failTopics);
            WriteStub(Path.Combine(dir.FullName, "kafka-configs.sh"), "configs", failOnCreate: false);

            var start = new ProcessStartInfo("bash", [Repo.PathOf(CreateTopicsScript)])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var (key, value) in environment)
            {
                start.Environment[key] = value;
            }

            start.Environment["KAFKA_BIN"] = dir.FullName;
            start.Environment["STUB_LOG"] = log;

            using var process = Process.Start(start)!;
            var stdout = process.StandardOutput.ReadToEndAsync();
            var stderr = process.StandardError.ReadToEndAsync();
            Assert.True(process.WaitForExit(TimeSpan.FromSeconds(30)), "create-topics.sh did not finish in 30s");
            exitCode = process.ExitCode;
            output = stdout.Result + stderr.Result;
            return File.Exists(log) ? File.ReadAllLines(log).ToList() : [];
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>A stand-in for a Kafka CLI that logs its arguments; optionally only --create fails, as a refusing broker would.</summary>
    private static void WriteStub(string path, string name, bool failOnCreate)
    {
        var fail = failOnCreate ? "case \"$*\" in *--create*) exit 1 ;; esac\n" : string.Empty;
        File.WriteAllText(path, $"#!/bin/sh\necho \"{name} $*\" >> \"$STUB_LOG\"\n{fail}exit 0\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string? Arg(string call, string flag)
    {
        var tokens = call.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var i = Array.IndexOf(tokens, flag);
        return i >= 0 && i + 1 < tokens.Length ? tokens[i + 1] : null;
    }

    private static List<string> Words(string value) => value.Split(' ', StringSplitOptions.RemoveEmptyEntries).ToList();

    internal static Dictionary<string, (string Host, int Port)> Listeners(string value) =>
        value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).ToDictionary(
            l => l[..l.IndexOf("://", StringComparison.Ordinal)],
            l => HostPort(l[(l.IndexOf("://", StringComparison.Ordinal) + 3)..]));

    internal static (string Host, int Port) HostPort(string value)
    {
        var colon = value.LastIndexOf(':');
        Assert.True(colon >= 0, $"'{value}' is not host:port");
        return (value[..colon], int.Parse(value[(colon + 1)..], CultureInfo.InvariantCulture));
    }
}
