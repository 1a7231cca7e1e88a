using System.Reflection;
using System.Runtime.InteropServices;

namespace Siyu.Kafka;

/// <summary>
/// Loads ONE librdkafka for the whole process and makes both Confluent.Kafka and our own
/// mock-cluster P/Invokes bind to it. They must share it: a mock cluster lives inside an
/// rd_kafka_t, and handles from one copy of the library are garbage to another copy.
/// </summary>
public static class Librdkafka
{
    /// <summary>Environment variable with the full path of a librdkafka to use instead of the packaged one.</summary>
    public const string PathVariable = "SIYU_LIBRDKAFKA";

    // Names Confluent.Kafka ("librdkafka", "centos8-librdkafka", ...) and we ("librdkafka") import by.
    static readonly string[] LibraryNames = ["librdkafka", "centos8-librdkafka", "alpine-librdkafka"];

    static readonly Lock Gate = new();
    static volatile bool _loaded;
    static IntPtr _handle;

    /// <summary>The file that was loaded, or null when Confluent.Kafka's own default was used (non-Linux).</summary>
    public static string? LoadedPath { get; private set; }

    /// <summary>Idempotent and thread-safe; call before creating any Kafka client or <see cref="EmbeddedKafka"/>.</summary>
    public static void EnsureLoaded()
    {
        if (_loaded) return;
        lock (Gate)
        {
            if (_loaded) return;
            var candidates = Candidates();
            if (candidates.Count == 0)
            {
                // Not linux-x64 and no override: Confluent's probing works there, and our
                // [LibraryImport("librdkafka")] finds the same file through the same probing.
                Confluent.Kafka.Library.Load();
                _loaded = true;
                return;
            }

            var failures = new List<string>();
            foreach (var path in candidates)
            {
                try
                {
                    _handle = NativeLibrary.Load(path);
                    LoadedPath = path;
                    break;
                }
                catch (Exception e) when (e is DllNotFoundException or BadImageFormatException)
                {
                    failures.Add($"{path}: {e.Message}");
                }
            }
            if (_handle == IntPtr.Zero)
                throw new DllNotFoundException(
                    "Could not load librdkafka. Tried:\n  " + string.Join("\n  ", failures) +
                    $"\nSet {PathVariable} to a librdkafka.so (2.16+) that loads on this machine.");

            TrySetResolver(typeof(Librdkafka).Assembly);
            // Confluent.Kafka imports "librdkafka" by name, which would otherwise probe to the plain
            // runtimes/linux-x64/native/librdkafka.so (needs libsasl2.so.3) instead of our handle.
            TrySetResolver(typeof(Confluent.Kafka.Library).Assembly);
            Confluent.Kafka.Library.Load(LoadedPath);
            _loaded = true;
        }
    }

    static List<string> Candidates()
    {
        var overridePath = Environment.GetEnvironmentVariable(PathVariable);
        if (!string.IsNullOrWhiteSpace(overridePath)) return [overridePath];
        if (!OperatingSystem.IsLinux() || RuntimeInformation.ProcessArchitecture != Architecture.X64) return [];

        var native = Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native");
        // centos8 first: it has no libsasl2.so.3 dependency (absent on Debian 12). The base-directory
        // entries cover `dotnet publish -r linux-x64`, which flattens native assets next to the app.
        return
        [
            Path.Combine(native, "centos8-librdkafka.so"),
            Path.Combine(native, "librdkafka.so"),
            Path.Combine(AppContext.BaseDirectory, "centos8-librdkafka.so"),
            Path.Combine(AppContext.BaseDirectory, "librdkafka.so"),
        ];
    }

    static IntPtr Resolve(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (LibraryNames.Contains(name)) return _handle;
        // Confluent's Library.Load(path) dlopens through [DllImport("libdl")]; glibc ships only
        // libdl.so.2 (no dev symlink), and since 2.34 dlopen lives in libc anyway.
        if (name == "libdl")
            foreach (var lib in (string[])["libdl.so.2", "libc.so.6"])
                if (NativeLibrary.TryLoad(lib, out var h)) return h;
        return IntPtr.Zero; // default probing
    }

    static void TrySetResolver(Assembly assembly)
    {
        try { NativeLibrary.SetDllImportResolver(assembly, Resolve); }
        catch (InvalidOperationException) { /* someone else owns it; Library.Load below then reports any mismatch */ }
    }
}
