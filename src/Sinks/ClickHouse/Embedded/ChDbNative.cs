using System.Runtime.InteropServices;

namespace Siyu.Sinks.ClickHouse.Embedded;

/// <summary>
/// The slice of chdb.h (chDB 26.5) that Siyu uses, bound by function pointer from a library
/// loaded by path (so no DllImport resolver is claimed for the assembly).
/// <code>
/// chdb_connection* chdb_connect(int argc, char** argv);      void chdb_close_conn(chdb_connection* conn);
/// chdb_result* chdb_query(chdb_connection conn, const char* query, const char* format);
/// chdb_result* chdb_query_with_params(chdb_connection conn, const char* query, const char* format,
///     const char* const* param_names, const char* const* param_values, size_t param_count);
/// char* chdb_result_buffer(chdb_result*);  size_t chdb_result_length(chdb_result*);
/// const char* chdb_result_error(chdb_result*);  void chdb_destroy_query_result(chdb_result*);
/// </code>
/// <c>chdb_connection</c> is itself a pointer (<c>struct chdb_connection_ { void* internal_data; } *</c>):
/// connect returns a pointer to it, queries take it by value.
/// </summary>
internal static unsafe class ChDbNative
{
    private static readonly Lock Gate = new();
    private static string? s_loadedPath;

    private static delegate* unmanaged<int, byte**, nint> s_connect;
    private static delegate* unmanaged<nint, void> s_closeConn;
    private static delegate* unmanaged<nint, byte*, byte*, nint> s_query;
    private static delegate* unmanaged<nint, byte*, byte*, byte**, byte**, nuint, nint> s_queryWithParams;
    private static delegate* unmanaged<nint, byte*> s_resultBuffer;
    private static delegate* unmanaged<nint, nuint> s_resultLength;
    private static delegate* unmanaged<nint, byte*> s_resultError;
    private static delegate* unmanaged<nint, void> s_destroyQueryResult;

    public static string? LoadedPath => Volatile.Read(ref s_loadedPath);

    /// <summary>Loads the library once per process; a second, different path is refused.</summary>
    public static void EnsureLoaded(string path)
    {
        lock (Gate)
        {
            if (s_loadedPath is not null)
            {
                if (!string.Equals(s_loadedPath, path, StringComparison.Ordinal))
                {
                    throw new InvalidOperationException(
                        $"chDB is already loaded from '{s_loadedPath}'; a process can load only one libchdb.so (asked for '{path}').");
                }

                return;
            }

            var lib = NativeLibrary.Load(path);
            s_connect = (delegate* unmanaged<int, byte**, nint>)NativeLibrary.GetExport(lib, "chdb_connect");
            s_closeConn = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(lib, "chdb_close_conn");
            s_query = (delegate* unmanaged<nint, byte*, byte*, nint>)NativeLibrary.GetExport(lib, "chdb_query");
            s_queryWithParams = (delegate* unmanaged<nint, byte*, byte*, byte**, byte**, nuint, nint>)
                NativeLibrary.GetExport(lib, "chdb_query_with_params");
            s_resultBuffer = (delegate* unmanaged<nint, byte*>)NativeLibrary.GetExport(lib, "chdb_result_buffer");
            s_resultLength = (delegate* unmanaged<nint, nuint>)NativeLibrary.GetExport(lib, "chdb_result_length");
            s_resultError = (delegate* unmanaged<nint, byte*>)NativeLibrary.GetExport(lib, "chdb_result_error");
            s_destroyQueryResult = (delegate* unmanaged<nint, void>)NativeLibrary.GetExport(lib, "chdb_destroy_query_result");
            Volatile.Write(ref s_loadedPath, path);
        }
    }

    /// <returns>The <c>chdb_connection*</c>, or 0 when the engine refused (reason goes to stderr).</returns>
    public static nint Connect(IReadOnlyList<string> args)
    {
        var argv = new nint[args.Count];
        try
        {
            for (var i = 0; i < args.Count; i++)
            {
                argv[i] = Marshal.StringToCoTaskMemUTF8(args[i]);
            }

            fixed (nint* p = argv)
            {
                return s_connect(args.Count, (byte**)p);
            }
        }
        finally
        {
            foreach (var a in argv)
            {
                Marshal.FreeCoTaskMem(a);
            }
        }
    }

    public static void CloseConn(nint connectionPointer) => s_closeConn(connectionPointer);

    public static nint Query(nint connection, byte* query, byte* format) => s_query(connection, query, format);

    public static nint QueryWithParams(nint connection, byte* query, byte* format, byte** names, byte** values, nuint count) =>
        s_queryWithParams(connection, query, format, names, values, count);

    public static byte* ResultBuffer(nint result) => s_resultBuffer(result);

    public static nuint ResultLength(nint result) => s_resultLength(result);

    public static byte* ResultError(nint result) => s_resultError(result);

    public static void DestroyQueryResult(nint result) => s_destroyQueryResult(result);
}

/// <summary>
/// Owns a <c>chdb_connection*</c>. Releasing the last one shuts the whole engine down, which is
/// why <see cref="ChDbEngine"/> keeps its handle for the life of the process.
/// </summary>
internal sealed class ChDbConnectionHandle : SafeHandle
{
    public ChDbConnectionHandle(nint connectionPointer)
        : base(0, ownsHandle: true) => SetHandle(connectionPointer);

    public override bool IsInvalid => handle == 0;

    /// <summary>The <c>chdb_connection</c> value that queries take.</summary>
    public unsafe nint Connection => *(nint*)handle;

    protected override bool ReleaseHandle()
    {
        ChDbNative.CloseConn(handle);
        return true;
    }
}
