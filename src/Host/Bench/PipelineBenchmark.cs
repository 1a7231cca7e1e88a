using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Akka.Actor;
using Akka.Hosting;
using Confluent.Kafka;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Hosting;
using Siyu.Actors.Identity;
using Siyu.Contracts;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Siyu.Host.Api.Security;
using Siyu.Host.Configuration;
using Siyu.Host.Node;
using Siyu.Ingest;
using Siyu.Kafka;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Sinks.Sink;

namespace Siyu.Host.Bench;

public sealed record PipelineBenchOptions
{
    public int Customers { get; init; } = 20_000;
    public int Events { get; init; } = 100_000;
    public int SteadyRate { get; init; } = 5_000;
    public int SteadySeconds { get; init; } = 20;
    public int LookupRate { get; init; } = 1_000;
    public int LookupSeconds { get; init; } = 10;
    public int Seed { get; init; } = 42;
    public string? ConfigFile { get; init; }

    /// <summary>Kafka:MaxInFlight of the node; null keeps the product's setting.</summary>
    public int? MaxInFlight { get; init; }

    /// <summary>What-if: HOCON over the product's Akka settings; the whole run is repeated with it after the product's.</summary>
    public string? CompareHocon { get; init; }

    /// <summary>Where to write every figure as JSON under stable names (a script compares runs); null: none.</summary>
    public string? JsonFile { get; init; }

    /// <summary>How often (b) records throughput and memory as the population grows.</summary>
    public TimeSpan GrowthInterval { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>One sample of (b): events handled so far, the rate since the last sample, the heap, what is resident.</summary>
public sealed record GrowthSample(double Seconds, long Processed, double EventsPerSecond, long HeapBytes, int ResidentCustomers, int IndexKeys);

/// <summary>The baseline: what a consumer of the same broker does at least (consume, parse).</summary>
public sealed record BaselineResult(string Name, int Messages, TimeSpan Elapsed, TimeSpan Cpu)
{
    public double PerSecond => Messages / Elapsed.TotalSeconds;
}

/// <summary>One node's figures (the product, or a what-if configuration).</summary>
public sealed record NodeResult
{
    public required string Label { get; init; }
    public string? Hocon { get; init; }

    // (b) the full pipeline, a backlog of Events
    public required int Events { get; init; }
    public required TimeSpan IngestElapsed { get; init; }
    public double IngestPerSecond => Events / IngestElapsed.TotalSeconds;
    public required double CpuPerEventMicros { get; init; }
    public required double CpuShare { get; init; }
    public required double AllocatedPerEvent { get; init; }
    public required TimeSpan GcPaused { get; init; }
    public required double SinkRowsPerSecondBacklog { get; init; }
    public required LatencyRun LookupDuringIngest { get; init; }

    // (e)
    public required int ResidentCustomers { get; init; }
    public required double HeapPerProfile { get; init; }

    // (d) idle
    public required LatencyRun LookupIdle { get; init; }

    // (c) steady rate
    public required int SteadyEvents { get; init; }
    public required double SteadyPerSecond { get; init; }
    public required int FreshnessTracked { get; init; }
    public required double[] FreshnessMs { get; init; }
    public required double SinkRowsPerSecond { get; init; }
    public required long MaxBehind { get; init; }

    // (f) restart
    public required TimeSpan Stop { get; init; }
    public required TimeSpan Start { get; init; }
    public required TimeSpan Recovery { get; init; }
    public required int RecoveredCustomers { get; init; }
    public required int RecoveryFailed { get; init; }
    public required (long Orders, decimal Revenue) TotalsBefore { get; init; }
    public required (long Orders, decimal Revenue) TotalsAfter { get; init; }
    public required long OrdersProduced { get; init; }
    public required long DeadLettered { get; init; }

    public required string LoadBefore { get; init; }
    public required string LoadAfter { get; init; }

    /// <summary>(b) sampled every <see cref="PipelineBenchOptions.GrowthInterval"/>: throughput and memory as customers arrive.</summary>
    public required IReadOnlyList<GrowthSample> Growth { get; init; }
}

public sealed record PipelineBenchResults(PipelineBenchOptions Options, string Machine, BaselineResult Baseline, BaselineResult ParseReference,
    IReadOnlyList<NodeResult> Nodes, int Partitions, int MaxInFlight);

/// <summary>
/// `siyu bench`: one run on one machine of the embedded stack (in-process Kafka mock broker,
/// SQLite journal, embedded ClickHouse), measuring (a) a raw consume + JSON parse baseline from the
/// broker, (b) the whole pipeline (ingest, identity, customers with the durable journal, ClickHouse
/// sink) on a backlog, (c) freshness at a steady rate, (d) lookups through the HTTP API at a fixed
/// rate during (b) and idle, (e) heap per resident profile, (f) a restart and recovery of every customer.
/// </summary>
public static class PipelineBenchmark
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(60);
    // Long enough for the JIT's tiered compilation to reach optimized code on the hot path
    // (measured: with 2,000 events, the JIT still took 12% of (b)'s CPU), on other customers.
    private const int WarmUpEvents = 20_000;

    /// <summary>How long (c) waits after its last message for the rest to become visible.</summary>
    public static readonly TimeSpan FreshnessWait = TimeSpan.FromSeconds(60);

    public static async Task<PipelineBenchResults> RunAsync(PipelineBenchOptions o, Action<string> progress, CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory("siyu-bench-");
        try
        {
            Librdkafka.EnsureLoaded();
            var defaults = SettingsLoader.Load(SettingsLoader.Build(o.ConfigFile), embedded: true).Kafka;
            var partitions = defaults.EmbeddedPartitions;
            using var broker = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = partitions });
            var variants = new List<(string Label, string? Hocon)> { ("product", null) };
            if (!string.IsNullOrWhiteSpace(o.CompareHocon))
            {
                variants.Add(("what-if", o.CompareHocon));
            }
            BaselineResult? baseline = null, parse = null;
            var nodes = new List<NodeResult>();
            for (var v = 0; v < variants.Count; v++)
            {
                var topics = new Topics($"bench{v}.");
                foreach (var topic in topics.All)
                {
                    broker.CreateTopic(topic, partitions);
                }
                var traffic = new BenchTraffic(o.Seed, o.Customers, $"b{v}-");
                if (v == 0)
                {
                    // (a) on a copy of the backlog (b) is going to consume: same messages, same broker.
                    var copy = new Topics("bench-baseline.");
                    foreach (var topic in copy.Inputs)
                    {
                        broker.CreateTopic(topic, partitions);
                    }
                    progress($"(a) producing {o.Events:N0} messages for the baseline");
                    Produce(broker.BootstrapServers, copy, new BenchTraffic(o.Seed, o.Customers, "b0-"), o.Events);
                    progress("(a) baseline: Confluent.Kafka consume + JsonDocument.Parse");
                    baseline = ConsumeBaseline(broker.BootstrapServers, copy, o.Events, "baseline-json", bytes =>
                    {
                        try
                        {
                            using var doc = JsonDocument.Parse(bytes);
                        }
                        catch (JsonException)
                        {
                        }
                    });
                    progress("(a) reference: Confluent.Kafka consume + EventParser.Parse (parse, validate, typed record)");
                    var parser = new EventParser(new EventParserOptions());
                    parse = ConsumeBaseline(broker.BootstrapServers, copy, o.Events, "baseline-parse", bytes => parser.Parse(bytes, Channel.Pos));
                }
                nodes.Add(await RunNode(o, variants[v].Label, variants[v].Hocon, broker, topics, traffic, Path.Combine(work.FullName, $"journal{v}.db"),
                    Path.Combine(work.FullName, "chdb"), progress, ct));
            }
            return new PipelineBenchResults(o, MachineInfo.Describe(), baseline!, parse!, nodes, partitions, o.MaxInFlight ?? defaults.MaxInFlight);
        }
        finally
        {
            try
            {
                work.Delete(recursive: true);
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }

    private static IProducer<byte[]?, byte[]> Producer(string bootstrap) =>
        new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = bootstrap, LingerMs = 5, Acks = Acks.All }).Build();

    private static long Produce(string bootstrap, Topics topics, BenchTraffic traffic, int count)
    {
        using var producer = Producer(bootstrap);
        long orders = 0;
        for (var i = 0; i < count; i++)
        {
            var m = traffic.Next(DateTimeOffset.UtcNow);
            orders += m.IsOrder ? 1 : 0;
            Send(producer, topics.Input(m.Channel), m);
        }
        producer.Flush(TimeSpan.FromSeconds(60));
        return orders;
    }

    private static void Send(IProducer<byte[]?, byte[]> producer, string topic, BenchTraffic.Message m)
    {
        while (true)
        {
            try
            {
                producer.Produce(topic, new Message<byte[]?, byte[]> { Key = m.Key, Value = m.Value });
                return;
            }
            catch (ProduceException<byte[]?, byte[]> e) when (e.Error.Code == ErrorCode.Local_QueueFull)
            {
                producer.Poll(TimeSpan.FromMilliseconds(50));
            }
        }
    }

    /// <summary>A plain consumer of the input topics from the start, timed from its first message to its last.</summary>
    private static BaselineResult ConsumeBaseline(string bootstrap, Topics topics, int count, string group, Action<byte[]> parse)
    {
        using var consumer = new ConsumerBuilder<byte[]?, byte[]?>(new ConsumerConfig
        {
            BootstrapServers = bootstrap,
            GroupId = group,
            AutoOffsetReset = AutoOffsetReset.Earliest,
            EnableAutoCommit = true,
        }).Build();
        consumer.Subscribe(topics.Inputs);
        var deadline = Stopwatch.StartNew();
        var clock = new Stopwatch();
        var cpu = TimeSpan.Zero;
        var received = 0;
        while (received < count && deadline.Elapsed < TimeSpan.FromMinutes(3))
        {
            var cr = consumer.Consume(TimeSpan.FromMilliseconds(200));
            if (cr?.Message?.Value is not { } value)
            {
                continue;
            }
            if (received == 0)
            {
                clock.Start();
                cpu = Process.GetCurrentProcess().TotalProcessorTime;
            }
            parse(value);
            received++;
        }
        clock.Stop();
        cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        consumer.Close();
        return new BaselineResult(group, received, clock.Elapsed, cpu);
    }

    /// <summary>A key for this process's node only (settings hold its hash).</summary>
    private static readonly string BenchApiKey = ApiKeys.Generate();

    private static IConfigurationRoot NodeConfiguration(PipelineBenchOptions o, Topics topics, string journal, string chdb, int port) =>
        SettingsLoader.Build(o.ConfigFile, new Dictionary<string, string?>
        {
            ["Journal:Provider"] = "sqlite",
            ["Journal:ConnectionString"] = $"Data Source={journal}",
            ["ClickHouse:Engine"] = "embedded",
            ["ClickHouse:DataPath"] = chdb,
            ["Kafka:TopicPrefix"] = topics.Prefix,
            ["Kafka:GroupId"] = topics.Prefix + "ingest",
            // The mock broker waits a session timeout on every rejoin (the restart of (f)).
            ["Kafka:SessionTimeoutMs"] = "6000",
            ["Api:Urls"] = $"http://127.0.0.1:{port}",
            // Lookups are measured as a POS makes them: with a key, the rate limit out of the way.
            ["Api:Keys:bench:Role"] = "pos",
            ["Api:Keys:bench:Hash"] = ApiKeys.Hash(BenchApiKey),
            ["Api:RatePerSecond"] = "1000000",
            ["Api:RateBurst"] = "1000000",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Kafka:MaxInFlight"] = o.MaxInFlight?.ToString(CultureInfo.InvariantCulture),
        }.Where(kv => kv.Value is not null).ToDictionary());

    private static long Processed(Topics topics) => (long)topics.Inputs.Sum(t =>
        IngestMetrics.Messages.WithLabels(t, "accepted").Value + IngestMetrics.Messages.WithLabels(t, "dead_lettered").Value);

    private static long DeadLettered(Topics topics) => (long)topics.Inputs.Sum(t => IngestMetrics.Messages.WithLabels(t, "dead_lettered").Value);

    private static double SinkRows() => SinkMetrics.Rows.GetAllLabelValues().Sum(l => SinkMetrics.Rows.WithLabels(l).Value);

    private static async Task WaitProcessed(Topics topics, long target, TimeSpan timeout, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        while (Processed(topics) < target)
        {
            if (clock.Elapsed > timeout)
            {
                throw new TimeoutException($"{Processed(topics):N0} of {target:N0} messages processed after {timeout.TotalSeconds:N0} s");
            }
            await Task.Delay(10, ct);
        }
    }

    private static async Task<NodeResult> RunNode(PipelineBenchOptions o, string label, string? hocon, EmbeddedKafka broker, Topics topics, BenchTraffic traffic,
        string journal, string chdb, Action<string> progress, CancellationToken ct)
    {
        var loadBefore = Measure.LoadAverage();
        var port = FreePort();
        var configuration = NodeConfiguration(o, topics, journal, chdb, port);
        var settings = SettingsLoader.Load(configuration, embedded: true);
        var nodeOptions = new SiyuNode.Options(broker.BootstrapServers, JsonLogs: false, MinimumLogLevel: LogLevel.Warning, AkkaHocon: hocon);
        using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 2_000 }) { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Add(ApiKeys.Header, BenchApiKey);
        var app = SiyuNode.Build(settings, configuration, nodeOptions);
        progress($"[{label}] starting the node (ingest, customers on SQLite, ClickHouse sink, API on :{port})");
        await app.StartAsync(ct);

        // Warm-up: other customers, so JIT, connections and the schema are ready before anything is timed.
        var warm = new BenchTraffic(o.Seed + 7, 500, $"w{label}-", memberPrefix: "W");
        using (var producer = Producer(broker.BootstrapServers))
        {
            for (var i = 0; i < WarmUpEvents; i++)
            {
                var m = warm.Next(DateTimeOffset.UtcNow);
                Send(producer, topics.Input(m.Channel), m);
            }
            producer.Flush(TimeSpan.FromSeconds(30));
        }
        await WaitProcessed(topics, WarmUpEvents, TimeSpan.FromMinutes(3), ct);
        await Task.Delay(1000, ct);
        var heapBefore = Measure.HeapAfterFullGc();

        // (b) the backlog alone, so its CPU and allocations per event are the pipeline's.
        progress($"[{label}] (b) {o.Events:N0} events through ingest -> identity -> customers (SQLite) -> ClickHouse");
        var random = new Random(o.Seed + 1);
        var gcPaused = GC.GetTotalPauseDuration();
        var allocated = GC.GetTotalAllocatedBytes();
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var rows = SinkRows();
        var clock = Stopwatch.StartNew();
        using var sampling = new CancellationTokenSource();
        var growth = SampleGrowth(app.Services, topics, WarmUpEvents, o.GrowthInterval, sampling.Token);
        var orders = Produce(broker.BootstrapServers, topics, traffic, o.Events);
        await WaitProcessed(topics, WarmUpEvents + o.Events, TimeSpan.FromMinutes(30), ct);
        clock.Stop();
        await sampling.CancelAsync();
        var samples = await growth;
        var ingestCpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        allocated = GC.GetTotalAllocatedBytes() - allocated;
        gcPaused = GC.GetTotalPauseDuration() - gcPaused;
        var sinkBacklog = (SinkRows() - rows) / clock.Elapsed.TotalSeconds;

        // (e) heap per resident profile: every customer of (b) is resident (passivation is 2 min idle).
        await Task.Delay(1000, ct);
        var heapAfter = Measure.HeapAfterFullGc();
        var members = Enumerable.Range(0, o.Customers).Select(i => BenchTraffic.Member(i)).ToArray();
        var registry = app.Services.GetRequiredService<ActorRegistry>();
        var owners = new string?[members.Length];
        await Measure.ClosedLoop(members.Length, 2_000, async i =>
            owners[i] = await app.Services.GetRequiredService<Siyu.Actors.Lookups.CustomerLookup>().OwnerOfAsync(IdType.MemberId, members[i], CancellationToken.None));
        var customerIds = owners.OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
        var resident = customerIds.Length;
        var heapPerProfile = (heapAfter - heapBefore) / (double)Math.Max(1, customerIds.Length);

        // (d) idle lookups, after 2 s of them not counted: the lookup path (HTTP, routing, the
        // profile's JSON) is compiled on its first calls, which a node that has served a POS
        // for hours has long done, like the 20k-event warm-up before (b).
        await Measure.OpenLoop(o.LookupRate, o.LookupRate * 2, _ => Lookup(http, BenchTraffic.Member(random.Next(o.Customers))), CancellationToken.None);
        progress($"[{label}] (d) lookups through GET /v1/customers/lookup at {o.LookupRate:N0}/s for {o.LookupSeconds} s, idle node");
        var idle = await Measure.OpenLoop(o.LookupRate, o.LookupRate * o.LookupSeconds,
            _ => Lookup(http, BenchTraffic.Member(random.Next(o.Customers))), CancellationToken.None);

        // (c) steady rate, freshness of every order; the POS looks customers up meanwhile (d).
        progress($"[{label}] (c) {o.SteadyRate:N0} events/s for {o.SteadySeconds} s; freshness = produced -> row visible in ClickHouse; "
            + $"(d) lookups at {o.LookupRate:N0}/s alongside");
        using var steadyDone = new CancellationTokenSource();
        var lookupsDuring = Task.Run(() => Measure.OpenLoop(o.LookupRate, o.LookupRate * o.SteadySeconds,
            _ => Lookup(http, BenchTraffic.Member(random.Next(o.Customers))), steadyDone.Token), ct);
        var steady = await Steady(o, broker, topics, traffic, WarmUpEvents + o.Events, ct);
        await steadyDone.CancelAsync();
        var during = await lookupsDuring;
        orders += steady.Orders;

        // (f) restart
        progress($"[{label}] (f) reading {customerIds.Length:N0} customers, stopping, starting again on the same journal, reading them back");
        await WaitProcessed(topics, WarmUpEvents + o.Events + steady.Events, TimeSpan.FromMinutes(30), ct);
        await Task.Delay(1000, ct);
        // Again: (c) brought customers (b) had not seen.
        await Measure.ClosedLoop(members.Length, 2_000, async i =>
            owners[i] = await app.Services.GetRequiredService<Siyu.Actors.Lookups.CustomerLookup>().OwnerOfAsync(IdType.MemberId, members[i], CancellationToken.None));
        customerIds = owners.OfType<string>().Distinct(StringComparer.Ordinal).ToArray();
        var before = await Totals(registry, customerIds);
        var stopClock = Stopwatch.StartNew();
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();
        stopClock.Stop();
        var deadLettered = DeadLettered(topics);
        app = SiyuNode.Build(settings, configuration, nodeOptions);
        var startClock = Stopwatch.StartNew();
        await app.StartAsync(ct);
        registry = app.Services.GetRequiredService<ActorRegistry>();
        await registry.GetAsync<CustomerRegion>(ct);
        var up = new TaskCompletionSource();
        Akka.Cluster.Cluster.Get(app.Services.GetRequiredService<ActorSystem>()).RegisterOnMemberUp(() => up.TrySetResult());
        await up.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        startClock.Stop();
        var states = new CustomerState?[customerIds.Length];
        var recovery = await Measure.ClosedLoop(customerIds.Length, 5_000, async i =>
            states[i] = await registry.Get<CustomerRegion>().Ask<CustomerState>(new GetCustomer(customerIds[i]), AskTimeout));
        var after = (states.Sum(s => (long?)s?.Stats.Orders ?? 0), states.Sum(s => s?.Stats.Revenue ?? 0m));
        await app.StopAsync(CancellationToken.None);
        await app.DisposeAsync();

        return new NodeResult
        {
            Label = label,
            Hocon = hocon,
            Events = o.Events,
            IngestElapsed = clock.Elapsed,
            CpuPerEventMicros = ingestCpu.TotalMicroseconds / o.Events,
            CpuShare = ingestCpu / (clock.Elapsed * Environment.ProcessorCount),
            AllocatedPerEvent = allocated / (double)o.Events,
            GcPaused = gcPaused,
            SinkRowsPerSecondBacklog = sinkBacklog,
            LookupDuringIngest = during,
            ResidentCustomers = resident,
            HeapPerProfile = heapPerProfile,
            LookupIdle = idle,
            SteadyEvents = steady.Events,
            SteadyPerSecond = steady.PerSecond,
            FreshnessTracked = steady.Tracked,
            FreshnessMs = steady.FreshnessMs,
            SinkRowsPerSecond = steady.SinkRowsPerSecond,
            MaxBehind = steady.MaxBehind,
            Stop = stopClock.Elapsed,
            Start = startClock.Elapsed,
            Recovery = recovery.Elapsed,
            RecoveredCustomers = customerIds.Length,
            RecoveryFailed = recovery.Failed,
            TotalsBefore = before,
            TotalsAfter = after,
            OrdersProduced = orders,
            DeadLettered = deadLettered,
            LoadBefore = loadBefore,
            LoadAfter = Measure.LoadAverage(),
            Growth = samples,
        };
    }

    /// <summary>Every <paramref name="interval"/> until cancelled: handled events, rate, heap (no forced GC), resident customers and index keys.</summary>
    private static async Task<List<GrowthSample>> SampleGrowth(IServiceProvider services, Topics topics, long before, TimeSpan interval, CancellationToken ct)
    {
        var samples = new List<GrowthSample>();
        var clock = Stopwatch.StartNew();
        var last = (Seconds: 0.0, Processed: 0L);
        var profiles = services.GetRequiredService<Siyu.Actors.Lookups.ResidentProfiles>();
        var index = services.GetRequiredService<Siyu.Actors.Identity.ResidentIndex>();
        void Sample()
        {
            var seconds = clock.Elapsed.TotalSeconds;
            var processed = Processed(topics) - before;
            samples.Add(new GrowthSample(seconds, processed, (processed - last.Processed) / Math.Max(1e-3, seconds - last.Seconds),
                GC.GetTotalMemory(false), profiles.Count, index.Count));
            last = (seconds, processed);
        }
        try
        {
            while (true)
            {
                await Task.Delay(interval, ct);
                Sample();
            }
        }
        catch (OperationCanceledException)
        {
            Sample();
        }
        return samples;
    }

    private sealed record SteadyResult(int Events, long Orders, double PerSecond, int Tracked, double[] FreshnessMs, double SinkRowsPerSecond, long MaxBehind);

    /// <summary>
    /// Produces at a fixed rate with occurred_at = now, and polls attributed_sales every 100 ms for
    /// the orders produced: freshness of an order = first poll that sees its row - the moment it
    /// was produced (so it includes up to one poll interval). The row and the per-minute
    /// aggregates are written by the same insert (materialized views), so a visible row is a
    /// counted sale.
    /// </summary>
    private static async Task<SteadyResult> Steady(PipelineBenchOptions o, EmbeddedKafka broker, Topics topics, BenchTraffic traffic, long processedBefore, CancellationToken ct)
    {
        var total = o.SteadyRate * o.SteadySeconds;
        var produced = new ConcurrentDictionary<string, long>(StringComparer.Ordinal); // order event_id -> Stopwatch timestamp
        var freshness = new ConcurrentBag<double>();
        var engine = ChDbEngine.Current ?? throw new InvalidOperationException("the embedded ClickHouse engine is not open");
        var start = DateTimeOffset.UtcNow.AddSeconds(-1);
        using var stopPolling = new CancellationTokenSource();
        var poller = Task.Run(async () =>
        {
            var parameters = new Dictionary<string, string>
            {
                ["from"] = start.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss.fff", CultureInfo.InvariantCulture),
                ["prefix"] = ClickHouseParam.Of(traffic.EventPrefix),
            };
            while (!stopPolling.IsCancellationRequested)
            {
                if (!produced.IsEmpty)
                {
                    var text = await engine.QueryAsync(
                        "SELECT event_id FROM siyu.attributed_sales WHERE occurred_at >= {from:DateTime64(3)} AND startsWith(event_id, {prefix:String})",
                        parameters, "TabSeparated", CancellationToken.None);
                    var seenAt = Stopwatch.GetTimestamp();
                    foreach (var id in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    {
                        if (produced.TryRemove(id, out var at))
                        {
                            freshness.Add(Stopwatch.GetElapsedTime(at, seenAt).TotalMilliseconds);
                        }
                    }
                }
                await Task.Delay(100, CancellationToken.None);
            }
        }, CancellationToken.None);

        var rows = SinkRows();
        long orders = 0, maxBehind = 0;
        var tracked = 0;
        var clock = Stopwatch.StartNew();
        using (var producer = Producer(broker.BootstrapServers))
        {
            var sent = 0;
            while (sent < total)
            {
                var due = Math.Min(total, (int)(clock.Elapsed.TotalSeconds * o.SteadyRate));
                for (; sent < due; sent++)
                {
                    var m = traffic.Next(DateTimeOffset.UtcNow);
                    if (m.IsOrder)
                    {
                        orders++;
                        tracked++;
                        produced[m.EventId] = Stopwatch.GetTimestamp();
                    }
                    Send(producer, topics.Input(m.Channel), m);
                }
                maxBehind = Math.Max(maxBehind, processedBefore + sent - Processed(topics));
                await Task.Delay(5, ct);
            }
            producer.Flush(TimeSpan.FromSeconds(30));
        }
        var producing = clock.Elapsed;
        // An order not visible FreshnessWait after the last was produced counts as later than that.
        var wait = Stopwatch.StartNew();
        while ((!produced.IsEmpty || Processed(topics) < processedBefore + total) && wait.Elapsed < FreshnessWait)
        {
            await Task.Delay(100, ct);
        }
        var processed = Processed(topics) - processedBefore;
        var processedIn = clock.Elapsed;
        var sinkRowsPerSecond = (SinkRows() - rows) / processedIn.TotalSeconds;
        await stopPolling.CancelAsync();
        await poller;
        return new SteadyResult(total, orders, processed / processedIn.TotalSeconds, tracked, [.. freshness], sinkRowsPerSecond, maxBehind);
    }

    private static async Task<bool> Lookup(HttpClient http, string member)
    {
        using var response = await http.GetAsync($"/v1/customers/lookup?member_id={member}", HttpCompletionOption.ResponseContentRead);
        return response.StatusCode switch
        {
            HttpStatusCode.OK => true,
            HttpStatusCode.NotFound => false, // not seen yet: still a served lookup
            var other => throw new HttpRequestException($"lookup answered {(int)other}"),
        };
    }

    private static async Task<(long Orders, decimal Revenue)> Totals(ActorRegistry registry, string[] customerIds)
    {
        var states = new CustomerState?[customerIds.Length];
        var read = await Measure.ClosedLoop(customerIds.Length, 2_000, async i =>
            states[i] = await registry.Get<CustomerRegion>().Ask<CustomerState>(new GetCustomer(customerIds[i]), AskTimeout));
        if (read.Failed > 0)
        {
            throw new InvalidOperationException($"reading customers failed {read.Failed} times: {read.FirstError}");
        }
        return (states.Sum(s => (long?)s?.Stats.Orders ?? 0), states.Sum(s => s?.Stats.Revenue ?? 0m));
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
