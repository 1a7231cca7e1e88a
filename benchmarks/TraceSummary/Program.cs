// Allocations by type from a trace of the runtime's AllocationTick events (one event per ~100 KB
// allocated, naming the type that crossed the mark: a sample proportional to bytes), with the
// frames that allocated the biggest types.
//   dotnet-trace collect -p PID --duration 00:00:20 --providers Microsoft-Windows-DotNETRuntime:0x1:5 -o alloc.nettrace
//   dotnet run -c Release --project benchmarks/TraceSummary -- alloc.nettrace [types] [stacks per type]
using Microsoft.Diagnostics.Tracing.Etlx;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

if (args.Length < 1 || !File.Exists(args[0]))
{
    Console.Error.WriteLine("usage: TraceSummary FILE.nettrace [types] [stacks per type]");
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
