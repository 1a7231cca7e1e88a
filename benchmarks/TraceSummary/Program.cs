// CPU by frame from a trace of the sample profiler (`dotnet-trace collect -p PID --duration 00:00:20
// --profile dotnet-sampled-thread-time -o cpu.nettrace`): it samples every managed thread each
// millisecond, running or not; a sample of type Managed is a thread running managed code (CPU),
// one of type External is a thread in native code: a P/Invoke doing work (chDB, SQLite,
// librdkafka) or a wait. Both are listed, by the frame on top, and managed CPU also by every frame
// on the stack (inclusive).
//   dotnet run -c Release --project benchmarks/TraceSummary -- cpu cpu.nettrace [frames]
//
// Allocations by type from a trace of the runtime's AllocationTick events (one event per ~100 KB
// allocated, naming the type that crossed the mark: a sample proportional to bytes), with the
// frames that allocated the biggest types.
//   dotnet-trace collect -p PID --duration 00:00:20 --providers Microsoft-Windows-DotNETRuntime:0x1:5 -o alloc.nettrace
//   dotnet run -c Release --project benchmarks/TraceSummary -- alloc.nettrace [types] [stacks per type]
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

if (args.Length >= 2 && args[0] == "cpu" && File.Exists(args[1]))
{
    return CpuSummary(args[1], args.Length > 2 ? int.Parse(args[2]) : 40);
}
if (args.Length < 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: TraceSummary FILE.nettrace [types] [stacks per type]\n       TraceSummary cpu FILE.nettrace [frames]");
    return 2;
}
var top = args.Length > 1 ? int.Parse(args[1]) : 30;
var stacksPerType = args.Length > 2 ? int.Parse(args[2]) : 0;
var bytes = new Dictionary<string, long>(StringComparer.Ordinal);
var stacks = new Dictionary<(string Type, string Stack), long>();
long total = 0;
using var log = TraceLog.OpenOrConvert(TraceLog.CreateFromEventPipeDataFile(args[0]));
foreach (var e in log.Events)
{
    if (e is not GCAllocationTickTraceData tick)
    {
        continue;
    }
    var name = tick.TypeName ?? "?";
    bytes[name] = bytes.GetValueOrDefault(name) + tick.AllocationAmount64;
    total += tick.AllocationAmount64;
    if (stacksPerType > 0)
    {
        var key = (name, Frames(tick.CallStack()));
        stacks[key] = stacks.GetValueOrDefault(key) + tick.AllocationAmount64;
    }
}
Console.WriteLine($"sampled {total / 1048576.0:N1} MiB in {bytes.Count} types");
Console.WriteLine($"{"share",6}  {"MiB",8}  type");
foreach (var (name, b) in bytes.OrderByDescending(kv => kv.Value).Take(top))
{
    Console.WriteLine($"{100.0 * b / total,5:0.0}%  {b / 1048576.0,8:N1}  {name}");
    foreach (var (k, sb) in stacks.Where(s => s.Key.Type == name).OrderByDescending(s => s.Value).Take(stacksPerType))
    {
        Console.WriteLine($"         {100.0 * sb / total,5:0.0}%  {k.Stack}");
    }
}
return 0;

// The first frames outside the runtime's own libraries: where product code asked for the memory.
static string Frames(TraceCallStack? stack)
{
    var frames = new List<string>();
    for (var s = stack; s is not null && frames.Count < 4; s = s.Caller)
    {
        var method = s.CodeAddress.FullMethodName;
        if (string.IsNullOrEmpty(method) || (frames.Count == 0 && (method.StartsWith("System.", StringComparison.Ordinal) || method.StartsWith("Microsoft.", StringComparison.Ordinal))))
        {
            continue;
        }
        frames.Add(method.Length > 90 ? method[..90] : method);
    }
    return frames.Count == 0 ? "?" : string.Join(" < ", frames);
}

static int CpuSummary(string file, int top)
{
    var exclusive = new Dictionary<string, long>(StringComparer.Ordinal);
    var inclusive = new Dictionary<string, long>(StringComparer.Ordinal);
    var external = new Dictionary<string, long>(StringComparer.Ordinal);
    long managed = 0, outside = 0;
    using var log = TraceLog.OpenOrConvert(TraceLog.CreateFromEventPipeDataFile(file));
    foreach (var e in log.Events)
    {
        if (e.ProviderName != "Microsoft-DotNETCore-SampleProfiler" || !e.EventName.Contains("Sample", StringComparison.Ordinal))
        {
            continue;
        }
        var type = Convert.ToInt32(e.PayloadByName("Type") ?? 0, System.Globalization.CultureInfo.InvariantCulture);
        var stack = e.CallStack();
        var first = Top(stack);
        if (type == 2)
        {
            managed++;
            exclusive[first] = exclusive.GetValueOrDefault(first) + 1;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            for (var s = stack; s is not null; s = s.Caller)
            {
                var m = Name(s);
                if (m.Length > 0 && seen.Add(m))
                {
                    inclusive[m] = inclusive.GetValueOrDefault(m) + 1;
                }
            }
        }
        else
        {
            outside++;
            external[first] = external.GetValueOrDefault(first) + 1;
        }
    }
    Console.WriteLine($"{managed:N0} samples running managed code, {outside:N0} in native code or waiting");
    Print("managed CPU by frame on top (exclusive)", exclusive, managed, top);
    Print("managed CPU by frame anywhere on the stack (inclusive)", inclusive, managed, top);
    Print("native code or waiting, by the managed frame on top", external, outside, top);
    return 0;

    static void Print(string title, Dictionary<string, long> counts, long total, int top)
    {
        Console.WriteLine();
        Console.WriteLine(title);
        foreach (var (name, n) in counts.OrderByDescending(kv => kv.Value).Take(top))
        {
            Console.WriteLine($"{100.0 * n / Math.Max(1, total),6:0.0}%  {n,7:N0}  {name}");
        }
    }

    static string Top(TraceCallStack? stack)
    {
        for (var s = stack; s is not null; s = s.Caller)
        {
            if (Name(s) is { Length: > 0 } m)
            {
                return m;
            }
        }
        return "?";
    }

    static string Name(TraceCallStack s)
    {
        var m = s.CodeAddress.FullMethodName ?? "";
        return m.Length > 140 ? m[..140] : m;
    }
}
