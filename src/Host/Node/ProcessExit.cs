using System.Runtime.InteropServices;
using Siyu.Sinks.ClickHouse.Embedded;

namespace Siyu.Host.Node;

/// <summary>
/// Ends the process after a clean shutdown. With the embedded chDB engine loaded, a normal exit
/// runs libchdb's static destructors while its background threads still run, which crashed the
/// exit now and then (SIGSEGV, exit code 139) after everything had been stopped and stored: every
/// chDB insert is on disk when it returns. So once the host has stopped, the process leaves with
/// _exit, which skips those destructors; without chDB it exits normally.
/// </summary>
public static partial class ProcessExit
{
    [LibraryImport("libc", EntryPoint = "_exit")]
    private static partial void NativeExit(int status);

    /// <summary>Leaves now, whatever is still running (a start-up that failed half-way).</summary>
    public static int Now(int exitCode)
    {
        if (!OperatingSystem.IsLinux())
        {
            Environment.Exit(exitCode);
        }
        Console.Out.Flush();
        Console.Error.Flush();
        NativeExit(exitCode);
        return exitCode; // not reached
    }

    public static int After(int exitCode)
    {
        if (ChDbEngine.Current is null || !OperatingSystem.IsLinux())
        {
            return exitCode;
        }
        Console.Out.Flush();
        Console.Error.Flush();
        NativeExit(exitCode);
        return exitCode; // not reached
    }
}
