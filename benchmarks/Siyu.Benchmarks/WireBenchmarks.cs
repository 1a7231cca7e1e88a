using Akka.Actor;
using Akka.Configuration;
using Akka.Serialization;
using BenchmarkDotNet.Attributes;
using Siyu.Actors.Customers.Commands;
using Siyu.Actors.Identity;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Siyu.Host.Bench;
using Siyu.Actors.Wire;

namespace Siyu.Benchmarks;

/// <summary>
/// The wire formats of the two hot-path messages that cross nodes (issue #14 item 7): a
/// CustomerBatch of <see cref="Count"/> of `siyu bench`'s events, and the <see cref="Count"/>
/// EventOutcomes that answer it (one message each, as they are sent), written and read by
/// <see cref="SiyuSerializer"/>, beside Akka's default serializer (Newtonsoft JSON with type
/// names), which carried them before. Per operation = per batch; the per-row columns are per
/// event. The sizes are printed at setup.
/// </summary>
[MemoryDiagnoser]
public class WireBenchmarks
{
    [Params(100)]
    public int Count { get; set; }

    private ActorSystem? _system;
    private SiyuSerializer _siyu = null!;
    private Serializer _json = null!;
    private CustomerBatch _batch = null!;
    private EventOutcome _outcome = null!;
    private byte[] _batchBytes = [];
    private byte[] _outcomeBytes = [];
    private byte[] _batchJson = [];
    private byte[] _outcomeJson = [];

    [GlobalSetup]
    public void Setup()
    {
        // A remoting system, so the reply address is serialized as between nodes (with host and port).
        _system = ActorSystem.Create("siyu", WireFormats.Config.WithFallback(ConfigurationFactory.ParseString("""
            akka.actor.provider = remote
            akka.remote.dot-netty.tcp { hostname = 127.0.0.1, port = 0 }
            akka.loglevel = WARNING
            """)));
        _siyu = (SiyuSerializer)_system.Serialization.FindSerializerForType(typeof(CustomerBatch));
        _json = new NewtonSoftJsonSerializer((ExtendedActorSystem)_system);
        var now = DateTimeOffset.UtcNow;
        var traffic = new BenchTraffic(42, 20_000, "s-");
        var parser = new EventParser(new EventParserOptions());
        var events = Enumerable.Range(0, Count * 3).Select(_ => traffic.Next(now)).Where(m => m.Value.Length > 0)
            .Select(m => parser.Parse(m.Value, m.Channel)).Where(r => r.IsValid).Select(r => r.Event!).Take(Count).ToList();
        var replies = _system.ActorOf(Props.Empty, "ingest-replies-0a1b2c3d");
        // A List, as ingest builds it (the default serializer cannot read a collection expression's list back).
        _batch = new CustomerBatch(17, replies, events.Select((e, i) => new BatchItem(1_000_000 + i, IdentityResolver.NewCustomerId(now), e, false)).ToList());
        _outcome = EventOutcome.Accepted(1_000_042, IdentityResolver.NewCustomerId(now));
        _batchBytes = _siyu.ToBinary(_batch);
        _outcomeBytes = _siyu.ToBinary(_outcome);
        _batchJson = _json.ToBinary(_batch);
        _outcomeJson = _json.ToBinary(_outcome);
        Console.WriteLine($"// wire sizes: CustomerBatch({Count}) siyu {_batchBytes.Length} B, default JSON {_batchJson.Length} B; " +
            $"EventOutcome siyu {_outcomeBytes.Length} B, default JSON {_outcomeJson.Length} B");
    }

    [GlobalCleanup]
    public void Cleanup() => _system?.Terminate().Wait(TimeSpan.FromSeconds(10));

    [Benchmark(Description = "CustomerBatch: write (siyu cb1)")]
    public byte[] WriteBatch() => _siyu.ToBinary(_batch);

    [Benchmark(Description = "CustomerBatch: read (siyu cb1)")]
    public object ReadBatch() => _siyu.FromBinary(_batchBytes, "cb1");

    [Benchmark(Description = "EventOutcome x Count: write (siyu eo1)")]
    public int WriteOutcomes()
    {
        var bytes = 0;
        for (var i = 0; i < Count; i++)
        {
            bytes += _siyu.ToBinary(_outcome).Length;
        }
        return bytes;
    }

    [Benchmark(Description = "EventOutcome x Count: read (siyu eo1)")]
    public object? ReadOutcomes()
    {
        object? last = null;
        for (var i = 0; i < Count; i++)
        {
            last = _siyu.FromBinary(_outcomeBytes, "eo1");
        }
        return last;
    }

    [Benchmark(Description = "CustomerBatch: write (Akka default JSON)")]
    public byte[] WriteBatchJson() => _json.ToBinary(_batch);

    [Benchmark(Description = "CustomerBatch: read (Akka default JSON)")]
    public object ReadBatchJson() => _json.FromBinary(_batchJson, typeof(CustomerBatch));

    [Benchmark(Description = "EventOutcome x Count: write (Akka default JSON)")]
    public int WriteOutcomesJson()
    {
        var bytes = 0;
        for (var i = 0; i < Count; i++)
        {
            bytes += _json.ToBinary(_outcome).Length;
        }
        return bytes;
    }

    [Benchmark(Description = "EventOutcome x Count: read (Akka default JSON)")]
    public object? ReadOutcomesJson()
    {
        object? last = null;
        for (var i = 0; i < Count; i++)
        {
            last = _json.FromBinary(_outcomeJson, typeof(EventOutcome));
        }
        return last;
    }
}
