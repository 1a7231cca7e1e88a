using System.Diagnostics;
using System.Text.Json;
using Siyu.Contracts.Events;
using Siyu.Contracts.Validation;
using Siyu.Host.Demo;

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
        var traffic = new DemoTraffic(seed);
        var now = new DateTimeOffset(2026, 11, 23, 2, 0, 0, TimeSpan.Zero);
        var messages = Enumerable.Range(0, 10_000).Select(_ => traffic.Next(now)).ToArray();
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

    private static Result Measure(string name, DemoTraffic.Message[] messages, TimeSpan duration, Func<DemoTraffic.Message, bool> work)
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

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
