using System.Diagnostics;
using System.Runtime;

namespace Siyu.Host.Bench;

/// <summary>Latencies of one open-loop run: from each request's scheduled time, so a stall counts in every request it delays.</summary>
public sealed record LatencyRun(int Requests, int Failed, int Found, int Shed, double[] Ms, TimeSpan Elapsed, string? FirstError)
{
    public double P(double p) => Measure.Percentile(Ms, p);
}

/// <summary>Timing helpers shared by the benchmark's phases.</summary>
public static class Measure
{
    public static double Percentile(IReadOnlyCollection<double> values, double p)
    {
        var sorted = values.ToArray();
        Array.Sort(sorted);
        return sorted.Length == 0 ? double.NaN : sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Length) - 1, 0, sorted.Length - 1)];
    }

    public static long HeapAfterFullGc()
    {
        for (var i = 0; i < 2; i++)
        {
            GCSettings.LargeObjectHeapCompactionMode = GCLargeObjectHeapCompactionMode.CompactOnce;
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: false);
    }

    /// <summary>The 1/5/15-minute load averages: other processes on the machine skew every figure.</summary>
    public static string LoadAverage() => File.Exists("/proc/loadavg")
        ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3))
        : "n/a";

    /// <summary>
    /// Open loop at <paramref name="rate"/> requests/s: request i is due at start + i/rate whatever
    /// happened to earlier ones (no coordinated omission). A dedicated thread sends everything due,
    /// then sleeps 1 ms. Stops after <paramref name="count"/> requests or when <paramref name="stop"/> fires.
    /// The request returns whether the thing looked up was found. A request due while
    /// <paramref name="maxOutstanding"/> are unanswered is not sent but counted as shed (and failed),
    /// so an overloaded server does not also get an ever-growing client in its process.
    /// </summary>
    public static async Task<LatencyRun> OpenLoop(int rate, int count, Func<int, Task<bool>> request, CancellationToken stop, int maxOutstanding = 2_000)
    {
        var latency = new double[count];
        var tasks = new Task?[count];
        int failed = 0, found = 0, shed = 0, outstanding = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var generatorDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var generator = new Thread(() =>
        {
            var start = Stopwatch.GetTimestamp();
            var next = 0;
            while (next < count && !stop.IsCancellationRequested)
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
                    if (Volatile.Read(ref outstanding) >= maxOutstanding)
                    {
                        shed++;
                        continue;
                    }
                    Interlocked.Increment(ref outstanding);
                    Task<bool> t;
                    try
                    {
                        t = request(index);
                    }
                    catch (Exception e)
                    {
                        t = Task.FromException<bool>(e);
                    }
                    tasks[index] = t.ContinueWith(done =>
                    {
                        Interlocked.Decrement(ref outstanding);
                        latency[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                        if (!done.IsCompletedSuccessfully)
                        {
                            Interlocked.Increment(ref failed);
                            Interlocked.CompareExchange(ref firstError, done.Exception?.InnerException?.Message ?? "cancelled", null);
                        }
                        else if (done.Result)
                        {
                            Interlocked.Increment(ref found);
                        }
                    }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
                }
                Thread.Sleep(1);
            }
            generatorDone.SetResult();
        }) { IsBackground = true, Name = "bench-open-loop" };
        generator.Start();
        await generatorDone.Task;
        var sent = tasks.Select((t, i) => (t, i)).Where(x => x.t is not null).ToArray();
        await Task.WhenAll(sent.Select(x => x.t!));
        return new LatencyRun(sent.Length + shed, failed + shed, found, shed, sent.Select(x => latency[x.i]).ToArray(), clock.Elapsed, firstError);
    }

    /// <summary>Closed loop: <paramref name="count"/> calls, at most <paramref name="maxInFlight"/> at once; the time until the last one ends.</summary>
    public static async Task<(TimeSpan Elapsed, int Failed, string? FirstError)> ClosedLoop(int count, int maxInFlight, Func<int, Task> work)
    {
        using var slots = new SemaphoreSlim(maxInFlight);
        var failed = 0;
        string? firstError = null;
        var clock = Stopwatch.StartNew();
        var all = new List<Task>(count);
        for (var i = 0; i < count; i++)
        {
            await slots.WaitAsync();
            var index = i;
            all.Add(Task.Run(async () =>
            {
                try
                {
                    await work(index);
                }
                catch (Exception e)
                {
                    Interlocked.Increment(ref failed);
                    Interlocked.CompareExchange(ref firstError, e.Message, null);
                }
                finally
                {
                    slots.Release();
                }
            }));
        }
        await Task.WhenAll(all);
        return (clock.Elapsed, failed, firstError);
    }
}
