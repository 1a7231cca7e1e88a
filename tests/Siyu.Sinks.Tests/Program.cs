using System.Globalization;
using System.Runtime.InteropServices;
using Siyu.Sinks.ClickHouse;
using Siyu.Sinks.ClickHouse.Embedded;

namespace Siyu.Sinks.Tests;

/// <summary>
/// Entry point of this test assembly when run directly (<c>dotnet Siyu.Sinks.Tests.dll chdb-child …</c>):
/// a separate process with its own chDB engine, so persistence can be checked across an engine
/// boot without rebooting the engine inside the test process (chDB allows one boot per process).
/// </summary>
public static class Program
{
    public const string ChildVerb = "chdb-child";

    public static int Main(string[] args)
    {
        if (args.Length != 4 || args[0] != ChildVerb)
        {
            Console.Error.WriteLine($"usage: {ChildVerb} write|count <data dir> <rows>");
            return 2;
        }

        var engine = ChDbEngine.Open(args[2]);
        var rows = int.Parse(args[3], CultureInfo.InvariantCulture);
        switch (args[1])
        {
            case "write":
                engine.Execute("CREATE DATABASE IF NOT EXISTS persist");
                engine.Execute("CREATE TABLE IF NOT EXISTS persist.t (id UInt32, name String) ENGINE = MergeTree ORDER BY id");
                engine.Insert("persist.t", Enumerable.Range(0, rows).Select(i => new { id = i, name = "n" + i }));
                Console.WriteLine(engine.Query("SELECT count() FROM persist.t", format: "TabSeparated").Trim());
                break;
            case "count":
                Console.WriteLine(engine.Query(
                    "SELECT count() FROM persist.t WHERE id < {n:UInt32}",
                    new Dictionary<string, string> { ["n"] = ClickHouseParam.Of(rows) },
                    "TabSeparated").Trim());
                break;
            default:
                return 2;
        }

        // Exit with the connection still open, as a crashed or killed host would, and through
        // _exit: a normal exit runs libchdb's static destructors, which can crash (exit 139) or
        // hang, as `siyu` avoids with Node/ProcessExit (seen here under load).
        Console.Out.Flush();
        Console.Error.Flush();
        Exit(0);
        return 0;
    }

    [DllImport("libc", EntryPoint = "_exit")]
    private static extern void Exit(int status);
}
