using Akka.Actor;
using BenchmarkDotNet.Attributes;
using Confluent.Kafka;
using Siyu.Actors.Campaigns;
using Siyu.Actors.Customers;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Customers.Lifecycle;
using Siyu.Actors.Identity;
using Siyu.Actors.Operations;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Siyu.Host.Bench;
using Siyu.Host.Node;
using Siyu.Kafka;
using Siyu.Sinks.ClickHouse.Embedded;
using Siyu.Sinks.ClickHouse.Schema;
using Siyu.Sinks.Rows;

namespace Siyu.Benchmarks;

/// <summary>
/// The floor of each stage of the per-event path alone (issue #14), on the events `siyu bench`
/// produces (its generator, 20,000 customers): every figure is per event (OperationsPerInvoke).
/// Together they say what one event costs at least; `siyu bench` says what it costs in the node.
/// </summary>
[MemoryDiagnoser]
public class StageBenchmarks
{
    private const int Events = 10_000;
    private const int Customers = 20_000;
    private readonly EventParser _parser = new(new EventParserOptions());
    private readonly CustomerRules _rules = CustomerRules.Default;
    private static readonly DateTimeOffset Now = DateTimeOffset.UtcNow;
    private byte[][] _payloads = [];
    private Channel[] _channels = [];
    private InputEvent[] _events = [];
    private string[] _customerOf = [];
    private CustomerState[] _saved = [];
    private IProducer<byte[]?, byte[]>? _producer;
    private EmbeddedKafka? _kafka;
    // chDB runs one engine per process: shared by every benchmark instance of the run.
    private static ChDbEngine? s_chdb;
    private SaleRow[] _sales = [];
    private ProfileRow[] _profiles = [];
    private byte[][] _profileJson = [];

    [GlobalSetup]
    public void Setup()
    {
        var traffic = new BenchTraffic(42, Customers, "s-");
        var messages = Enumerable.Range(0, Events * 2).Select(_ => traffic.Next(Now)).Where(m => m.Value.Length > 0).ToList();
        var valid = messages.Select(m => (m, r: _parser.Parse(m.Value, m.Channel))).Where(x => x.r.IsValid).Take(Events).ToList();
        _payloads = [.. valid.Select(x => x.m.Value)];
        _channels = [.. valid.Select(x => x.m.Channel)];
        _events = [.. valid.Select(x => x.r.Event!)];
        // A customer per member id, as the resolver would find.
        var ids = new Dictionary<string, string>(StringComparer.Ordinal);
        _customerOf = [.. _events.Select(e => ids.TryGetValue(e.Ids.MemberId!, out var c) && c is not null ? c : ids[e.Ids.MemberId!] = IdentityResolver.NewCustomerId(Now))];
        var sales = new List<AttributedSale>();
        var lives = Decide(sales);
        _saved = [.. _customerOf.Select(c => lives[c].State)];
        _profileJson = [.. _saved.Select(s => Profile.ToJson(s, Now, _rules))];
        _sales = [.. sales.Select(ClickHouseSalesWriter.ToRow)];
        _profiles = [.. _saved.Select(s => ClickHouseProfileWriter.ToRow(Profile.Project(s, Now, _rules)))];
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _producer?.Dispose();
        _kafka?.Dispose();
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "parse + validate (EventParser)")]
    public int Parse()
    {
        var valid = 0;
        for (var i = 0; i < _payloads.Length; i++)
        {
            valid += _parser.Parse(_payloads[i], _channels[i]).IsValid ? 1 : 0;
        }
        return valid;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "identity: filter ids + index keys")]
    public ulong IdentityKeys()
    {
        ulong x = 0;
        foreach (var e in _events)
        {
            foreach (var id in IdentityRules.Filter(e.Ids, [], _rules).Accepted)
            {
                x ^= IdKeys.Of(id).Lo;
            }
        }
        return x;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "rules only: decide + apply + tick")]
    public int Rules()
    {
        var states = new Dictionary<string, CustomerState>(StringComparer.Ordinal);
        for (var i = 0; i < _events.Length; i++)
        {
            var id = _customerOf[i];
            var state = states.GetValueOrDefault(id) ?? CustomerState.Empty(id);
            state = CustomerDecider.ApplyAll(state, CustomerDecider.Decide(state, new Observe(_events[i], Now), _rules, CampaignCatalog.Empty), _rules);
            state = CustomerDecider.ApplyAll(state, CustomerDecider.Decide(state, new Siyu.Actors.Operations.Tick(Now), _rules, CampaignCatalog.Empty), _rules);
            states[id] = state;
        }
        return states.Count;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "decide + apply + tick + lifecycle (no save)")]
    public int DecideApply() => Decide(null).Count;

    private Dictionary<string, Life> Decide(List<AttributedSale>? sales)
    {
        var ctx = new CustomerLifecycle.Context(Now, _rules, CampaignCatalog.Empty);
        var lives = new Dictionary<string, Life>(StringComparer.Ordinal);
        for (var i = 0; i < _events.Length; i++)
        {
            var id = _customerOf[i];
            if (!lives.TryGetValue(id, out var life))
            {
                life = CustomerLifecycle.Start(id, null, erased: false).Life;
            }
            var (next, effects) = CustomerLifecycle.Observe(life, [new BatchItem(i, id, _events[i], false)], ActorRefs.Nobody, ActorRefs.Nobody, ctx);
            if (sales is not null)
            {
                foreach (var save in effects.OfType<Save>())
                {
                    sales.AddRange(save.Sales);
                }
            }
            if (next.Saving)
            {
                (next, _) = CustomerLifecycle.Saved(next, ctx); // as if every event were its own save
            }
            lives[id] = next;
        }
        return lives;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "state snapshot to bytes (one save per event)")]
    public long SerializeState()
    {
        long bytes = 0;
        foreach (var s in _saved)
        {
            bytes += CustomerSnapshot.Serialize(s).Length;
        }
        return bytes;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "profile: project + JSON + changes (one per save)")]
    public int Announce()
    {
        var n = 0;
        foreach (var s in _saved)
        {
            var profile = Profile.Project(s, Now, _rules);
            n += Profile.ToJson(profile).Length;
            n += Profile.Changes(null, profile, Now).Count;
        }
        return n;
    }

    [Benchmark(OperationsPerInvoke = Events, Description = "Kafka: produce one profile to the mock broker")]
    public void KafkaProduce()
    {
        if (_producer is null)
        {
            Librdkafka.EnsureLoaded();
            _kafka = EmbeddedKafka.Start(new EmbeddedKafkaOptions { DefaultPartitions = 16 });
            _kafka.CreateTopic("bench.profiles", 16);
            _producer = new ProducerBuilder<byte[]?, byte[]>(new ProducerConfig { BootstrapServers = _kafka.BootstrapServers, LingerMs = 5 }).Build();
        }
        for (var i = 0; i < _profileJson.Length; i++)
        {
            _producer.Produce("bench.profiles", new Message<byte[]?, byte[]> { Key = System.Text.Encoding.UTF8.GetBytes(_customerOf[i]), Value = _profileJson[i] });
        }
        _producer.Flush(TimeSpan.FromSeconds(30));
    }

    // Per event: an event yields a sales row 40% of the time (orders); the figure is per event, not per row.
    [Benchmark(OperationsPerInvoke = Events, Description = "chDB: insert the sales rows of an event (attributed_sales + views)")]
    public async Task<int> ChDbSales() => await (await Engine()).InsertJsonEachRowAsync("siyu.attributed_sales", _sales);

    [Benchmark(OperationsPerInvoke = Events, Description = "chDB: insert one profile row")]
    public async Task<int> ChDbProfiles() => await (await Engine()).InsertJsonEachRowAsync("siyu.profiles", _profiles);

    private async Task<ChDbEngine> Engine()
    {
        if (s_chdb is null)
        {
            s_chdb = ChDbEngine.Open(Directory.CreateTempSubdirectory("siyu-stage-chdb-").FullName);
            await new SchemaMigrator(s_chdb, SchemaMigrator.DefaultDatabase, Microsoft.Extensions.Logging.Abstractions.NullLogger<SchemaMigrator>.Instance).MigrateAsync(default);
        }
        return s_chdb;
    }
}
