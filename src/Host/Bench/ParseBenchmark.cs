using System.Diagnostics;
using System.Text.Json;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Siyu.Simulator;

namespace Siyu.Host.Bench;

/// <summary>
/// Parse + validate throughput on one thread, against a baseline measured in the same run on
/// the same messages: a plain JsonDocument parse, the least any JSON consumer must do.
/// </summary>
public static class ParseBenchmark
{
    public sealed record Result(string Name, long Messages, TimeSpan Elapsed)
    {
        public double PerSecond => Messages / Elapsed.TotalSeconds;
    }

    public static (Result Baseline, Result Siyu, int Valid, int Invalid) Run(TimeSpan duration, int seed)
    {
        // The simulator's traffic (campaign definitions aside): the mix of types and sizes ingest sees.
        var options = new SimulationOptions { Seed = seed, Stores = 40, Days = 2 };
        var messages = TrafficSimulator.Generate(options).Where(m => m.Channel is not null)
            .Take(10_000).Select(m => new Message(m.Value, m.Channel!.Value)).ToArray();
        var now = options.DayStart(options.Days + 1);
        var parser = new EventParser(clock: new FixedClock(now));
        var valid = messages.Count(m => parser.Parse(m.Value, m.Channel).IsValid);

        // Warm up both paths (JIT, tiering) before timing.
        Measure("warm-up", messages, TimeSpan.FromSeconds(1), m => Baseline(m.Value));
        Measure("warm-up", messages, TimeSpan.FromSeconds(1), m => parser.Parse(m.Value, m.Channel).IsValid);

        var baseline = Measure("JsonDocument.Parse (baseline)", messages, duration, m => Baseline(m.Value));
        var siyu = Measure("EventParser.Parse (parse + validate)", messages, duration, m => parser.Parse(m.Value, m.Channel).IsValid);
        return (baseline, siyu, valid, messages.Length - valid);
    }

    private static bool Baseline(byte[] value)
    {
        try
        {
            using var doc = JsonDocument.Parse(value);
            return doc.RootElement.ValueKind == JsonValueKind.Object;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static Result Measure(string name, Message[] messages, TimeSpan duration, Func<Message, bool> work)
    {
        long count = 0;
        var sink = 0;
        var clock = Stopwatch.StartNew();
        while (clock.Elapsed < duration)
        {
            foreach (var m in messages)
            {
                sink += work(m) ? 1 : 0;
            }
            count += messages.Length;
        }
        clock.Stop();
        GC.KeepAlive(sink);
        return new Result(name, count, clock.Elapsed);
    }

    private sealed record Message(byte[] Value, Channel Channel);

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
