using System.Diagnostics;
using System.Runtime;
using System.Text;
using Akka.Actor;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Queries;
using Siyu.Actors.Hosting;
using Siyu.Actors.Identity;
using Siyu.Actors.Ingestion;
using Siyu.Contracts.Events;
using Siyu.Ingest;
using Spectre.Console;

namespace Siyu.Host.Bench;

public sealed record ActorBenchOptions
{
    public int Customers { get; init; } = 20_000;
    public int Events { get; init; } = 200_000;
    public int FlushMs { get; init; } = 200;
    public string Journal { get; init; } = "sqlite";

    /// <summary>Length of the lookup latency run; the journal baseline stops issuing after 3× this.</summary>
    public int Seconds { get; init; } = 10;

    /// <summary>Events (and recoveries) in flight at once: ingest's Kafka:MaxInFlight.</summary>
    public int MaxInFlight { get; init; } = 5_000;

    public int LookupRate { get; init; } = 1_000;

    /// <summary>What-if runs only: HOCON placed over the product's persistence settings (printed with the results).</summary>
    public string? ExtraHocon { get; init; }

    public int Seed { get; init; } = 42;
}

/// <summary>
/// `siyu bench actors`: the customer entities on the embedded stack (single-node cluster,
/// sharding, Akka.Persistence.Sql on a fresh SQLite file). Measures, in one run: the journal
/// write baseline and the in-memory decide/apply rate, events/s through CustomerEventHandler
/// until every acknowledgement (= durable) is in, heap per resident profile, the time to
/// recover every customer after a restart, and open-loop lookup latency.
/// </summary>
public static class ActorBenchmark
{
    private static readonly TimeSpan AskTimeout = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset ProcessingTime = ActorWorkload.T0.AddDays(1);

    public sealed record Throughput(int Issued, int Ok, int Rejected, int Failed, TimeSpan Elapsed, float[] LatencyMs, string? FirstError, TimeSpan Cpu, long Allocated)
    {
        public double AllocatedPerOk => Allocated / (double)Math.Max(1, Ok);

        /// <summary>Share of all cores this process used while the measurement ran.</summary>
        public double CpuShare => Cpu / (Elapsed * Environment.ProcessorCount);

        public double PerSecond => Ok / Elapsed.TotalSeconds;
        public double LatencyPercentile(double p) => Percentile(LatencyMs.AsSpan(0, Issued), p);
    }

    public sealed record Latency(int Requests, int Failed, double[] FromScheduledMs, double[] GeneratorLagMs, bool[] Found, GcStats Gc)
    {
        /// <summary>Requests whose member already had a customer, and their latency from the scheduled time.</summary>
        public int FoundCount => Found.Count(f => f);
        public double FoundP(double p) => Percentile(FromScheduledMs.Where((_, i) => Found[i]).ToArray(), p);
        public double NotFoundP(double p) => Percentile(FromScheduledMs.Where((_, i) => !Found[i]).ToArray(), p);

        public double P(double p) => Percentile(FromScheduledMs, p);
        public double LagP(double p) => Percentile(GeneratorLagMs, p);

        /// <summary>From the moment the request was sent (scheduled time + sender lag).</summary>
        public double SentP(double p) => Percentile(FromScheduledMs.Zip(GeneratorLagMs, (a, b) => a - b).ToArray(), p);
    }

    /// <summary>Garbage collections during a phase: pauses stop every request at once.</summary>
    public readonly record struct GcStats(int Gen0, int Gen1, int Gen2, TimeSpan Paused, long Allocated)
    {
        public static GcStats Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration(),
            GC.GetTotalAllocatedBytes(precise: false));

        public GcStats Since(GcStats start) =>
            new(Gen0 - start.Gen0, Gen1 - start.Gen1, Gen2 - start.Gen2, Paused - start.Paused, Allocated - start.Allocated);

        public override string ToString() => $"{Gen0}/{Gen1}/{Gen2} (gen0/1/2), paused {Paused.TotalMilliseconds:N0} ms";
    }

    /// <summary>The .NET thread pool during a phase: a blocked pool shows as a long queue with idle cores.</summary>
    public sealed record PoolStats(int MinThreads, int MaxThreads, double MeanThreads, long MaxQueue, double MeanQueue);

    private sealed class PoolSampler : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<PoolStats> _sampling;

        public PoolSampler() => _sampling = Task.Run(Sample);

        private async Task<PoolStats> Sample()
        {
            int samples = 0, minThreads = int.MaxValue, maxThreads = 0;
            long threads = 0, queue = 0, maxQueue = 0;
            using var timer = new PeriodicTimer(TimeSpan.FromMilliseconds(100));
            try
            {
                while (await timer.WaitForNextTickAsync(_stop.Token))
                {
                    var t = ThreadPool.ThreadCount;
                    var q = ThreadPool.PendingWorkItemCount;
                    samples++;
                    threads += t;
                    queue += q;
                    minThreads = Math.Min(minThreads, t);
                    maxThreads = Math.Max(maxThreads, t);
                    maxQueue = Math.Max(maxQueue, q);
                }
            }
            catch (OperationCanceledException)
            {
            }
            return samples == 0 ? new PoolStats(0, 0, 0, 0, 0) : new PoolStats(minThreads, maxThreads, threads / (double)samples, maxQueue, queue / (double)samples);
        }

        public async Task<PoolStats> StopAsync()
        {
            await _stop.CancelAsync();
            return await _sampling;
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _sampling;
            _stop.Dispose();
        }
    }

    public readonly record struct Totals(long Orders, long Refunds, decimal Revenue)
    {
        public Totals Add(CustomerState s) => new(Orders + s.Stats.Orders, Refunds + s.Stats.Refunds, Revenue + s.Stats.Revenue);
    }

    public sealed record Results
    {
        public required ActorBenchOptions Options { get; init; }
        public required ActorWorkload Workload { get; init; }
        public required Throughput Baseline { get; init; }
        public required PersistenceCounters.Snapshot BaselineJournal { get; init; }
        public required double BaselineBytesPerEntity { get; init; }
        public required double InMemoryPerSecond { get; init; }
        public required double InMemoryAllocatedPerEvent { get; init; }
        public required double StateBytesPerProfile { get; init; }
        public required double SerializeMicros { get; init; }
        public required Throughput Ingest { get; init; }
        public required PersistenceCounters.Snapshot IngestSaves { get; init; }
        public required PersistenceCounters.Snapshot IngestJournal { get; init; }
        public required double ResidentBytesPerProfile { get; init; }
        public required double CustomerOnlyBytesPerProfile { get; init; }
        public required Latency Lookup { get; init; }
        public required Latency LookupDuringIngest { get; init; }
        public required long SnapshotRows { get; init; }
        public required PoolStats IngestPool { get; init; }
        public required GcStats IngestGc { get; init; }
        public required PersistenceCounters.Snapshot IngestLoads { get; init; }
        public required (double Mean, long Max) SnapshotQueue { get; init; }
        public required (double Mean, long Max) JournalQueue { get; init; }
        public required TimeSpan Stop { get; init; }
        public required TimeSpan Start { get; init; }
        public required Throughput Recovery { get; init; }
        public required PersistenceCounters.Snapshot RecoveryLoads { get; init; }
        public required PersistenceCounters.Snapshot RecoveryJournal { get; init; }
        public required int DistinctCustomers { get; init; }
        public required Totals BeforeRestart { get; init; }
        public required Totals AfterRestart { get; init; }
        public required long DatabaseBytes { get; init; }
        public required string LoadBefore { get; init; }
        public required string LoadAfter { get; init; }
    }

    /// <summary>The 1/5/15-minute load averages: other processes on the machine skew every figure.</summary>
    private static string LoadAverage() => File.Exists("/proc/loadavg")
        ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))
        : "n/a";

    public static async Task<Results> RunAsync(ActorBenchOptions o, Action<string> progress, CancellationToken ct)
    {
        if (o.Journal != "sqlite")
        {
            throw new ArgumentException($"--journal {o.Journal}: only sqlite (the embedded stack) is supported; a PostgreSQL run needs a server");
        }
        var dir = Directory.CreateDirectory(Path.Combine(Path.GetTempPath(), $"siyu-bench-actors-{Guid.NewGuid():N}"));
        try
        {
            return await RunIn(dir.FullName, o, progress, ct);
        }
        finally
        {
            try
            {
                dir.Delete(recursive: true);
            }
            catch (IOException)
            {
                // a file still held open is left for the OS to clean
            }
        }
    }

    private static async Task<Results> RunIn(string dir, ActorBenchOptions o, Action<string> progress, CancellationToken ct)
    {
        var loadBefore = LoadAverage();
        progress($"generating {o.Events:N0} events over {o.Customers:N0} customers");
        var workload = ActorWorkload.Create(o.Customers, o.Events, o.Seed, refundLag: o.MaxInFlight);
        var rules = CustomerRules.Default;
        var entity = new CustomerEntityOptions { FlushInterval = TimeSpan.FromMilliseconds(o.FlushMs), AskTimeout = AskTimeout };
        // Passivation must not empty memory in the middle of the run; everything else is the product's default.
        var sharding = new ShardingOptions { PassivateIdleAfter = TimeSpan.FromHours(1) };

        // --- reference: decide + apply in memory, one thread ---------------------------------
        progress("reference: in-memory Decide + ApplyAll, one thread");
        InMemory(workload, rules, Math.Min(o.Events, 20_000)); // warm-up (JIT, tiering)
        var heap0 = HeapAfterFullGc();
        var (inMemoryRate, inMemoryAllocated, states) = InMemory(workload, rules, o.Events);
        var stateBytes = (HeapAfterFullGc() - heap0) / (double)states.Count(s => s is not null);
        GC.KeepAlive(states);
        var serialize = Stopwatch.StartNew();
        var serialized = 0;
        foreach (var s in states)
        {
            if (s is not null)
            {
                GC.KeepAlive(CustomerSnapshot.Serialize(s));
                serialized++;
            }
        }
        var serializeMicros = serialize.Elapsed.TotalMicroseconds / Math.Max(1, serialized);
        states = [];

        // --- (a) baseline: one journaled event per input event --------------------------------
        progress("(a) journal baseline: Persist one event per input event, one actor per customer");
        Throughput baseline;
        PersistenceCounters.Snapshot baselineJournal;
        double baselineBytes;
        await using (var node = await BenchNode.StartAsync(JournalOptions.Sqlite(Path.Combine(dir, "baseline.db")), entity, sharding, withBaseline: true, o.ExtraHocon))
        {
            var region = node.Baseline;
            await Drive(2_000, 500, i => region.Ask<JournalWritten>(new JournalWrite("W" + (i % 200), Payload(i)), AskTimeout), null, ct);
            var heapBefore = HeapAfterFullGc();
            PersistenceCounters.ResetAll();
            baseline = await Drive(o.Events, o.MaxInFlight,
                i => region.Ask<JournalWritten>(new JournalWrite(workload.MemberIds[workload.CustomerOf[i]], Payload(i)), AskTimeout),
                TimeSpan.FromSeconds(3 * o.Seconds), ct);
            baselineJournal = PersistenceCounters.JournalWrites.Read();
            await Task.Delay(500, ct);
            var entities = workload.CustomerOf.Take(baseline.Issued).Distinct().Count();
            baselineBytes = (HeapAfterFullGc() - heapBefore) / (double)entities;
        }

        // --- (b) the real path, (c) resident memory, (e) lookups ------------------------------
        var dbPath = Path.Combine(dir, "journal.db");
        var journal = JournalOptions.Sqlite(dbPath);
        Throughput ingest;
        PersistenceCounters.Snapshot saves, claims;
        double residentBytes;
        Latency lookup, lookupDuringIngest;
        PoolStats ingestPool;
        GcStats ingestGc;
        PersistenceCounters.Snapshot ingestLoads;
        (double Mean, long Max) snapshotQueue, journalQueue;
        string[] customerIds;
        Totals before;
        var node2 = await BenchNode.StartAsync(journal, entity, sharding, withBaseline: false, o.ExtraHocon);
        var stopWatch = new Stopwatch();
        try
        {
            var handler = Handler(node2, entity, rules);
            progress("warm-up of the real path (2,000 events, 200 other customers)");
            await Drive(2_000, 500, i => handler.HandleAsync(WarmUpEvent(i), CancellationToken.None).AsTask(), null, ct);

            var heapBefore = HeapAfterFullGc();
            PersistenceCounters.ResetAll();
            progress($"(b) CustomerEventHandler.HandleAsync: {o.Events:N0} events, {o.MaxInFlight:N0} in flight, until every ack");
            // The POS looks customers up while ingest runs: the same open loop alongside (b), from 2 s in.
            using var ingestDone = new CancellationTokenSource();
            var during = LookupMembers(workload, o, o.Seed + 2);
            var lookupsDuring = Task.Run(async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(2), ct);
                return await OpenLoop(o.LookupRate, during.Length, i => LookupAsync(node2, during[i]), ct, ingestDone.Token);
            }, ct);
            var gcBefore = GcStats.Now();
            await using (var pool = new PoolSampler())
            {
                ingest = await Drive(o.Events, o.MaxInFlight,
                    i => handler.HandleAsync(workload.Events[i], CancellationToken.None).AsTask(), null, ct);
                ingestPool = await pool.StopAsync();
            }
            ingestGc = GcStats.Now().Since(gcBefore);
            ingestDone.Cancel();
            lookupDuringIngest = await lookupsDuring;
            saves = PersistenceCounters.SnapshotSaves.Read();
            claims = PersistenceCounters.JournalWrites.Read();
            ingestLoads = PersistenceCounters.SnapshotLoads.Read();
            snapshotQueue = PersistenceCounters.SnapshotSaves.Queue();
            journalQueue = PersistenceCounters.JournalWrites.Queue();
            await Task.Delay(500, ct); // the last flush timers and replies settle
            residentBytes = (HeapAfterFullGc() - heapBefore) / (double)o.Customers;

            progress($"(e) lookups: LookupId + GetCustomer, {o.LookupRate:N0}/s open loop for {o.Seconds} s");
            var members = LookupMembers(workload, o, o.Seed + 1);
            lookup = await OpenLoop(o.LookupRate, members.Length, i => LookupAsync(node2, members[i]), ct);

            progress("reading every customer back (ids and totals before the restart)");
            (customerIds, before) = await ReadAll(node2, workload, o.MaxInFlight, ct);
            stopWatch.Start();
        }
        finally
        {
            await node2.DisposeAsync();
        }
        stopWatch.Stop();

        // --- (d) restart on the same database and recover every customer ----------------------
        progress($"(d) restart on the same database, then GetCustomer for all {customerIds.Length:N0} customers");
        var startWatch = Stopwatch.StartNew();
        var node3 = await BenchNode.StartAsync(journal, entity, sharding, withBaseline: false, o.ExtraHocon);
        startWatch.Stop();
        Throughput recovery;
        PersistenceCounters.Snapshot loads, recoveries;
        double customerOnlyBytes;
        var after = new Totals();
        try
        {
            var heapBefore = HeapAfterFullGc();
            PersistenceCounters.ResetAll();
            var recovered = new CustomerState?[customerIds.Length];
            recovery = await Drive(customerIds.Length, o.MaxInFlight, async i =>
                recovered[i] = await node3.Customers.Ask<CustomerState>(new GetCustomer(customerIds[i]), AskTimeout), null, ct);
            loads = PersistenceCounters.SnapshotLoads.Read();
            recoveries = PersistenceCounters.JournalRecoveries.Read();
            foreach (var s in recovered)
            {
                after = s is null ? after : after.Add(s);
            }
            recovered = [];
            customerOnlyBytes = (HeapAfterFullGc() - heapBefore) / (double)customerIds.Length;
        }
        finally
        {
            await node3.DisposeAsync();
        }
        var dbBytes = new[] { dbPath, dbPath + "-wal" }.Where(File.Exists).Sum(f => new FileInfo(f).Length);

        return new Results
        {
            Options = o,
            Workload = workload,
            Baseline = baseline,
            BaselineJournal = baselineJournal,
            BaselineBytesPerEntity = baselineBytes,
            InMemoryPerSecond = inMemoryRate,
            InMemoryAllocatedPerEvent = inMemoryAllocated,
            StateBytesPerProfile = stateBytes,
            SerializeMicros = serializeMicros,
            Ingest = ingest,
            IngestSaves = saves,
            IngestJournal = claims,
            ResidentBytesPerProfile = residentBytes,
            CustomerOnlyBytesPerProfile = customerOnlyBytes,
            Lookup = lookup,
            LookupDuringIngest = lookupDuringIngest,
            SnapshotRows = CountSnapshotRows(dbPath),
            IngestPool = ingestPool,
            IngestGc = ingestGc,
            IngestLoads = ingestLoads,
            SnapshotQueue = snapshotQueue,
            JournalQueue = journalQueue,
            Stop = stopWatch.Elapsed,
            Start = startWatch.Elapsed,
            Recovery = recovery,
            RecoveryLoads = loads,
            RecoveryJournal = recoveries,
            DistinctCustomers = customerIds.Length,
            BeforeRestart = before,
            AfterRestart = after,
            DatabaseBytes = dbBytes,
            LoadBefore = loadBefore,
            LoadAfter = LoadAverage(),
        };
    }

    private static CustomerEventHandler Handler(BenchNode node, CustomerEntityOptions entity, CustomerRules rules) =>
        new(new IdentityResolver(node.Identities, node.Customers, rules, entity.AskTimeout), node.Customers, entity.AskTimeout, TimeSpan.FromSeconds(2));

    private static byte[] Payload(int i) => Encoding.UTF8.GetBytes($"bench-{i:D8}");

    private static IngestedEvent WarmUpEvent(int i)
    {
        var ids = new CustomerIds { MemberId = $"W{i % 200:D4}" };
        InputEvent evt = i % 3 == 0
            ? new GroupJoined { GroupId = "GR-WARM" }
            : new OrderPlaced { OrderId = $"WO{i}", Amount = 9.9m, Items = [new LineItem("WARM", 1, 9.9m)], Payment = Payment.WechatPay };
        evt = evt with { EventId = $"warm-{i}", OccurredAt = ActorWorkload.T0.AddSeconds(i), Channel = i % 3 == 0 ? Channel.Group : Channel.Pos, Ids = ids };
        return new IngestedEvent(evt, new SourcePosition("siyu.pos", 0, i));
    }

    /// <summary>Decide + ApplyAll for every event on one thread; the states, indexed like the members.</summary>
    private static (double PerSecond, double AllocatedPerEvent, CustomerState?[] States) InMemory(ActorWorkload w, CustomerRules rules, int count)
    {
        var states = new CustomerState?[w.MemberIds.Length];
        var allocated = GC.GetTotalAllocatedBytes(precise: true);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            var c = w.CustomerOf[i];
            var state = states[c] ?? CustomerState.Empty("c-" + w.MemberIds[c]);
            var events = CustomerDecider.Decide(state, new Observe(w.Events[i].Event, ProcessingTime), rules);
            states[c] = CustomerDecider.ApplyAll(state, events, rules);
        }
        clock.Stop();
        return (count / clock.Elapsed.TotalSeconds, (GC.GetTotalAllocatedBytes(precise: true) - allocated) / (double)count, states);
    }

    /// <summary>Closed loop: at most <paramref name="maxInFlight"/> started and not finished; stops issuing after <paramref name="cap"/>.</summary>
    private static async Task<Throughput> Drive(int count, int maxInFlight, Func<int, Task> work, TimeSpan? cap, CancellationToken ct)
    {
        var latency = new float[count];
        using var slots = new SemaphoreSlim(maxInFlight);
        int ok = 0, rejected = 0, failed = 0, pending = 1, issued = 0;
        string? firstError = null;
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var cpu = Process.GetCurrentProcess().TotalProcessorTime;
        var allocated = GC.GetTotalAllocatedBytes(precise: false);
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < count; i++)
        {
            if (cap is { } c && clock.Elapsed >= c)
            {
                break;
            }
            await slots.WaitAsync(ct);
            Interlocked.Increment(ref pending);
            issued++;
            var started = Stopwatch.GetTimestamp();
            Task task;
            try
            {
                task = work(i);
            }
            catch (Exception e)
            {
                task = Task.FromException(e);
            }
            var index = i;
            _ = task.ContinueWith(t =>
            {
                latency[index] = (float)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                if (t.IsCompletedSuccessfully)
                {
                    Interlocked.Increment(ref ok);
                }
                else if (t.Exception?.InnerException is EventRejectedException)
                {
                    Interlocked.Increment(ref rejected);
                }
                else
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstError, t.Exception?.InnerException?.Message ?? "cancelled", null);
                }
                slots.Release();
                if (Interlocked.Decrement(ref pending) == 0)
                {
                    done.TrySetResult();
                }
            }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        }
        if (Interlocked.Decrement(ref pending) == 0)
        {
            done.TrySetResult();
        }
        await done.Task.WaitAsync(ct);
        clock.Stop();
        return new Throughput(issued, ok, rejected, failed, clock.Elapsed, latency, firstError, Process.GetCurrentProcess().TotalProcessorTime - cpu,
            GC.GetTotalAllocatedBytes(precise: false) - allocated);
    }

    /// <summary>
    /// Open loop: request i is due at start + i/rate whatever happened to earlier ones, and its
    /// latency runs from that due time, so a stall shows up in every request it delays
    /// (no coordinated omission). The generator thread sleeps 1 ms between rounds and then
    /// sends everything due; its own lateness is part of the latency and reported apart too.
    /// </summary>
    private static async Task<Latency> OpenLoop(int rate, int count, Func<int, Task<CustomerState?>> request, CancellationToken ct, CancellationToken stop = default)
    {
        var gc = GcStats.Now();
        var found = new bool[count];
        var latency = new double[count];
        var lag = new double[count];
        var tasks = new Task?[count];
        var failed = 0;
        var generatorDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = new Thread(() =>
        {
            var start = Stopwatch.GetTimestamp();
            var next = 0;
            while (next < count && !ct.IsCancellationRequested && !stop.IsCancellationRequested)
            {
                var now = Stopwatch.GetTimestamp();
                while (next < count)
                {
                    var due = start + (long)(next * (double)Stopwatch.Frequency / rate);
                    if (due > now)
                    {
                        break;
                    }
                    var index = next++;
                    lag[index] = Stopwatch.GetElapsedTime(due, now).TotalMilliseconds;
                    Task<CustomerState?> t;
                    try
                    {
                        t = request(index);
                    }
                    catch (Exception e)
                    {
                        t = Task.FromException<CustomerState?>(e);
                    }
                    tasks[index] = t.ContinueWith(done =>
                    {
                        latency[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                        if (!done.IsCompletedSuccessfully)
                        {
                            Interlocked.Increment(ref failed);
                        }
                        else
                        {
                            found[index] = done.Result is not null;
                        }
                    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
                Thread.Sleep(1);
            }
            generatorDone.SetResult();
        }) { IsBackground = true, Name = "bench-open-loop" };
        generator.Start();
        await generatorDone.Task.WaitAsync(ct);
        var sent = tasks.OfType<Task>().ToArray();
        await Task.WhenAll(sent);
        return new Latency(sent.Length, failed, latency[..sent.Length], lag[..sent.Length], found[..sent.Length], GcStats.Now().Since(gc));
    }

    private static string[] LookupMembers(ActorWorkload w, ActorBenchOptions o, int seed)
    {
        var pick = new Random(seed);
        return Enumerable.Range(0, o.LookupRate * o.Seconds).Select(_ => w.MemberIds[pick.Next(o.Customers)]).ToArray();
    }

    /// <summary>What the POS lookup does: the identity index, then the customer (following a merge).</summary>
    private static async Task<CustomerState?> LookupAsync(BenchNode node, string memberId)
    {
        var owner = await node.Identities.Ask<IdOwner>(new LookupId(IdKey.Of(IdType.MemberId, memberId)), AskTimeout);
        if (owner.Owner is null)
        {
            return null;
        }
        var state = await node.Customers.Ask<CustomerState>(new GetCustomer(owner.Owner), AskTimeout);
        for (var hops = 0; state.MergedInto is { } next && hops < 16; hops++)
        {
            state = await node.Customers.Ask<CustomerState>(new GetCustomer(next), AskTimeout);
        }
        return state;
    }

    private static async Task<(string[] CustomerIds, Totals Totals)> ReadAll(BenchNode node, ActorWorkload w, int maxInFlight, CancellationToken ct)
    {
        var states = new CustomerState?[w.MemberIds.Length];
        var read = await Drive(w.MemberIds.Length, maxInFlight, async i => states[i] = await LookupAsync(node, w.MemberIds[i]), null, ct);
        if (read.Failed > 0)
        {
            throw new InvalidOperationException($"reading customers back failed {read.Failed} times: {read.FirstError}");
        }
        var totals = new Totals();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var s in states)
        {
            if (s is not null && ids.Add(s.CustomerId))
            {
                totals = totals.Add(s);
            }
        }
        return ([.. ids], totals);
    }

    /// <summary>Customer state rows (one per customer ever created, merged-away ones included).</summary>
    private static long CountSnapshotRows(string dbPath)
    {
        if (!File.Exists(dbPath))
        {
            return -1; // a what-if without the SQL snapshot store
        }
        using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={dbPath};Mode=ReadOnly;Pooling=False");
        db.Open();
        using var count = db.CreateCommand();
        count.CommandText = "SELECT COUNT(*) FROM snapshot WHERE persistence_id LIKE 'customer-%'";
        return (long)count.ExecuteScalar()!;
    }

    private static long HeapAfterFullGc()
    {
        for (var i = 0; i < 2; i++)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: false);
    }

    private static double Percentile(ReadOnlySpan<float> values, double p)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    private static double Percentile(double[] values, double p)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    // ------------------------------------------------------------------------------ output

    public static void Print(Results r)
    {
        var o = r.Options;
        var w = r.Workload;
        AnsiConsole.MarkupLine($"[bold]siyu bench actors[/]  {Markup.Escape(MachineInfo.Describe())}, {(GCSettings.IsServerGC ? "server" : "workstation")} GC, "
            + $"load average {Markup.Escape(r.LoadBefore)} before, {Markup.Escape(r.LoadAfter)} after");
        AnsiConsole.MarkupLine(Markup.Escape(
            $"{o.Events:N0} events over {o.Customers:N0} customers ({w.WithSecondId:N0} with a second id): {w.Orders:N0} orders, {w.Refunds:N0} refunds, "
            + $"{w.GroupJoins:N0} group joins, {w.Tags:N0} tags, {w.PageViews:N0} page views, {w.Contacts:N0} contacts. "
            + $"Single-node cluster, sharding, Akka.Persistence.Sql on a fresh SQLite file (WAL, synchronous=NORMAL), "
            + $"flush {o.FlushMs} ms, {o.MaxInFlight:N0} in flight."));
        if (!string.IsNullOrWhiteSpace(o.ExtraHocon))
        {
            AnsiConsole.MarkupLine($"[yellow]what-if, not the product configuration:[/] {Markup.Escape(o.ExtraHocon.ReplaceLineEndings(" "))}");
        }

        var table = new Table()
            .AddColumn("measure")
            .AddColumn(new TableColumn("result").RightAligned())
            .AddColumn(new TableColumn("vs (a)").RightAligned())
            .AddColumn("target");
        var b = r.Baseline.PerSecond;
        table.AddRow("(a) baseline: 1 Persist per event, 1 actor per customer", $"{b:N0} ev/s", "1.00", "");
        table.AddRow("    reference: in-memory Decide + ApplyAll, 1 thread", $"{r.InMemoryPerSecond:N0} ev/s", Ratio(r.InMemoryPerSecond, b), "");
        table.AddRow("(b) CustomerEventHandler.HandleAsync, until every ack", $"{r.Ingest.PerSecond:N0} ev/s", Ratio(r.Ingest.PerSecond, b),
            Verdict(r.Ingest.PerSecond >= 20_000, ">= 20,000 ev/s"));
        table.AddRow("    ack latency p50 / p99", $"{r.Ingest.LatencyPercentile(0.5):N0} / {r.Ingest.LatencyPercentile(0.99):N0} ms", "", "");
        table.AddRow("(c) heap per resident profile, all entities", Bytes(r.ResidentBytesPerProfile), "",
            Verdict(r.ResidentBytesPerProfile < 3 * 1024, "< 3 KB"));
        table.AddRow("    customer entity alone (after recovery)", Bytes(r.CustomerOnlyBytesPerProfile), "", "");
        table.AddRow("    CustomerState alone (in-memory reference)", Bytes(r.StateBytesPerProfile), "", "");
        table.AddRow("    (a)'s near-empty persistent entity, for scale", Bytes(r.BaselineBytesPerEntity), "", "");
        table.AddRow("(d) restart: stop / start until Up", $"{r.Stop.TotalSeconds:0.0} s / {r.Start.TotalSeconds:0.0} s", "", "");
        table.AddRow($"    recover {r.DistinctCustomers:N0} customers (GetCustomer)",
            $"{r.Recovery.Elapsed.TotalSeconds:0.0} s, {r.Recovery.PerSecond:N0}/s", "", "");
        table.AddRow($"(e) lookup at {o.LookupRate:N0}/s open loop, idle: p50 / p99", $"{r.Lookup.P(0.5):0.00} / {r.Lookup.P(0.99):0.00} ms", "",
            Verdict(r.Lookup.P(0.99) < 5, "p99 < 5 ms"));
        table.AddRow("    p99.9 / max", $"{r.Lookup.P(0.999):0.00} / {r.Lookup.P(1):0.00} ms", "", "");
        var d = r.LookupDuringIngest;
        table.AddRow($"    the same during (b), {d.Requests:N0} requests: p50 / p99", $"{d.P(0.5):0.00} / {d.P(0.99):0.00} ms", "",
            Verdict(d.P(0.99) < 5, "p99 < 5 ms"));
        table.AddRow("    during (b): p99.9 / max", $"{d.P(0.999):0.00} / {d.P(1):0.00} ms", "", "");
        AnsiConsole.Write(table);

        var ingestSeconds = r.Ingest.Elapsed.TotalSeconds;
        var saves = r.IngestSaves;
        var detail = new Table().AddColumn("where the time goes").AddColumn(new TableColumn("figure").RightAligned());
        detail.AddRow("(a) process CPU / baseline events acked", $"{r.Baseline.CpuShare:P0} of {Environment.ProcessorCount} cores / {r.Baseline.Ok:N0} in {r.Baseline.Elapsed.TotalSeconds:0.0} s");
        detail.AddRow("(a) journal write calls, ms each (queue + batch)", $"{r.BaselineJournal.Calls:N0}, {r.BaselineJournal.MeanMs:0.0} ms");
        detail.AddRow("(b) process CPU, CPU per event", $"{r.Ingest.CpuShare:P0} of {Environment.ProcessorCount} cores, {r.Ingest.Cpu.TotalMicroseconds / Math.Max(1, r.Ingest.Ok):N0} µs");
        detail.AddRow("(b) thread pool: threads min-mean-max / queued mean, max",
            $"{r.IngestPool.MinThreads}-{r.IngestPool.MeanThreads:0}-{r.IngestPool.MaxThreads} / {r.IngestPool.MeanQueue:N0}, {r.IngestPool.MaxQueue:N0}");
        detail.AddRow("(b) garbage collections", r.IngestGc.ToString());
        detail.AddRow("allocated per event: (b) / (a) / in-memory reference",
            $"{Bytes(r.Ingest.AllocatedPerOk)} / {Bytes(r.Baseline.AllocatedPerOk)} / {Bytes(r.InMemoryAllocatedPerEvent)}");
        detail.AddRow("(b) snapshot saves, per event, per second", $"{saves.Calls:N0}, {saves.Calls / (double)Math.Max(1, r.Ingest.Ok):0.00}, {saves.Calls / ingestSeconds:N0}/s");
        detail.AddRow("(b) save: ms each, busy share, max concurrent", $"{saves.MeanMs:0.00} ms, {saves.Total.TotalSeconds / ingestSeconds:P0}, {saves.MaxInFlight:N0}");
        detail.AddRow("(b) save: bytes each / serialize a final state", $"{saves.Bytes / (double)Math.Max(1, saves.Calls):N0} B / {r.SerializeMicros:0.0} µs");
        detail.AddRow("(b) snapshot store mailbox (saves + loads) mean / max", $"{r.SnapshotQueue.Mean:N0} / {r.SnapshotQueue.Max:N0}");
        detail.AddRow("(b) entity recoveries (snapshot loads), ms each", $"{r.IngestLoads.Calls:N0}, {r.IngestLoads.MeanMs:0.00} ms");
        detail.AddRow("(b) identity claims journaled, ms each", $"{r.IngestJournal.Items:N0}, {r.IngestJournal.MeanMs:0.0} ms");
        detail.AddRow("(b) journal mailbox mean / max", $"{r.JournalQueue.Mean:N0} / {r.JournalQueue.Max:N0}");
        detail.AddRow("(d) process CPU during recovery", $"{r.Recovery.CpuShare:P0} of {Environment.ProcessorCount} cores");
        detail.AddRow("(d) snapshot loads, ms each, max concurrent", $"{r.RecoveryLoads.Calls:N0}, {r.RecoveryLoads.MeanMs:0.00} ms, {r.RecoveryLoads.MaxInFlight:N0}");
        detail.AddRow("(d) journal highest-seq-nr reads, ms each", $"{r.RecoveryJournal.Calls:N0}, {r.RecoveryJournal.MeanMs:0.00} ms");
        detail.AddRow("(e) idle: sender lag p50 / p99 (inside (e))", $"{r.Lookup.LagP(0.5):0.00} / {r.Lookup.LagP(0.99):0.00} ms");
        detail.AddRow("(e) idle: garbage collections during the run", r.Lookup.Gc.ToString());
        detail.AddRow("(e) idle: from send, p50 / p99 / p99.9", $"{r.Lookup.SentP(0.5):0.00} / {r.Lookup.SentP(0.99):0.00} / {r.Lookup.SentP(0.999):0.00} ms");
        detail.AddRow($"(e) during (b): {d.FoundCount:N0} known members, p50 / p99", $"{d.FoundP(0.5):0.00} / {d.FoundP(0.99):0.00} ms");
        detail.AddRow($"(e) during (b): {d.Requests - d.FoundCount:N0} not seen yet, p50 / p99", $"{d.NotFoundP(0.5):0.00} / {d.NotFoundP(0.99):0.00} ms");
        detail.AddRow("customer state rows (merged-away customers keep one)", $"{r.SnapshotRows:N0}");
        detail.AddRow("database after the run (journal.db + WAL)", Bytes(r.DatabaseBytes));
        AnsiConsole.Write(detail);

        AnsiConsole.MarkupLine(Markup.Escape(
            $"errors: baseline {r.Baseline.Failed}, real path {r.Ingest.Failed} failed + {r.Ingest.Rejected} rejected"
            + (r.Ingest.FirstError is { } e ? $" (first: {e})" : "") + $", lookups {r.Lookup.Failed} + {r.LookupDuringIngest.Failed} during (b), recovery {r.Recovery.Failed}"));
        AnsiConsole.MarkupLine(Markup.Escape(
            $"check: {r.DistinctCustomers:N0} customers found by member_id (of {o.Customers:N0}); totals {r.BeforeRestart.Orders:N0} orders, "
            + $"{r.BeforeRestart.Refunds:N0} refunds, {r.BeforeRestart.Revenue:N2} net revenue (generated {w.Orders:N0}, {w.Refunds:N0}, {w.NetRevenue:N2}); "
            + $"after the restart {(r.AfterRestart == r.BeforeRestart ? "identical" : $"DIFFERENT: {r.AfterRestart.Orders:N0}, {r.AfterRestart.Refunds:N0}, {r.AfterRestart.Revenue:N2}")}"));
    }

    private static string Ratio(double value, double baseline) => baseline > 0 ? $"{value / baseline:0.00}" : "-";

    private static string Verdict(bool met, string target) => met ? $"{target}: [green]met[/]" : $"{target}: [red]missed[/]";

    private static string Bytes(double bytes) => bytes >= 10 * 1024 * 1024
        ? $"{bytes / (1024 * 1024):N0} MiB"
        : bytes >= 10 * 1024 ? $"{bytes / 1024:N1} KiB" : $"{bytes:N0} B";
}
