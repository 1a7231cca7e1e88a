using System.Buffers;
using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace Siyu.Sinks.ClickHouse.Embedded;

/// <summary>
/// The embedded ClickHouse engine (chDB), one per process, bound to one data directory.
/// </summary>
/// <remarks>
/// <para>
/// chDB runs a single engine per process on a single <c>--path</c>; a different path needs every
/// connection closed first, and closing the last connection is a full engine shutdown (repeating
/// that is known to corrupt the allocator). So <see cref="Open"/> boots the engine once, hands the
/// same instance to every later caller for the same path, refuses any other path, and the
/// connection is never closed while the process lives. There is nothing to dispose.
/// </para>
/// <para>
/// Thread safety: all calls are serialized on the one connection. Measured on chDB 26.5 with 8
/// threads sharing a connection: parameterized queries fail with "Substitution `x` is not set"
/// and, worse, silently run with another thread's parameter values — chdb_query_with_params sets
/// the parameters on the connection's shared context. (Separate connections to the same path do
/// run concurrently and correctly, but only gave ~1.4x on the 2-core dev machine; not worth the
/// complexity yet.) The async methods wait for the connection without blocking a thread; the
/// native call itself is synchronous (chDB has no async API) and cannot be cancelled once started.
/// Do not mix synchronous calls made on thread-pool threads with async callers under load: the
/// blocked pool threads starve the async continuations (measured 5x slower with 4 + 4 callers).
/// </para>
/// <para>
/// Measured on chDB 26.5: <c>DROP TABLE|DATABASE … SYNC</c> never returns (it waits for a table
/// reference the embedded engine keeps); use a plain DROP, which removes the files later.
/// chDB also defaults to <c>async_insert=1</c> (with <c>wait_for_async_insert=1</c>, so an INSERT
/// still returns only once its rows are visible).
/// </para>
/// </remarks>
public sealed class ChDbEngine : IClickHouse
{
    private static readonly Lock OpenGate = new();
    private static ChDbEngine? s_current;

    private readonly ChDbConnectionHandle _connection;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private const int InitialInsertBuffer = 64 * 1024;
    private const int MaxKeptInsertBuffer = 16 * 1024 * 1024;
    private ArrayBufferWriter<byte> _insertBuffer = new(InitialInsertBuffer);

    private ChDbEngine(string dataPath, string libraryPath, ChDbConnectionHandle connection, TimeSpan bootTime)
    {
        DataPath = dataPath;
        LibraryPath = libraryPath;
        _connection = connection;
        BootTime = bootTime;
    }

    /// <summary>The process's engine, if one was opened.</summary>
    public static ChDbEngine? Current => Volatile.Read(ref s_current);

    /// <summary>The data directory (full path) the engine is bound to.</summary>
    public string DataPath { get; }

    /// <summary>The libchdb.so that was loaded.</summary>
    public string LibraryPath { get; }

    /// <summary>How long loading the library and booting the engine took.</summary>
    public TimeSpan BootTime { get; }

    /// <summary>
    /// Boots the engine on <paramref name="dataPath"/> (created if missing), or returns the running
    /// one if it is bound to the same path. <paramref name="libraryPath"/> is the configured
    /// libchdb.so (file or directory); see <see cref="ChDbLibraryLocator"/> for the fallbacks.
    /// </summary>
    /// <exception cref="InvalidOperationException">The engine is already bound to another path.</exception>
    /// <exception cref="FileNotFoundException">No libchdb.so was found.</exception>
    /// <exception cref="ClickHouseException">The engine refused to start (e.g. another process holds the directory).</exception>
    public static ChDbEngine Open(string dataPath, string? libraryPath = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataPath);
        var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(dataPath));
        lock (OpenGate)
        {
            if (s_current is { } running)
            {
                if (string.Equals(running.DataPath, full, StringComparison.Ordinal))
                {
                    return running;
                }

                throw new InvalidOperationException(
                    $"The chDB engine of this process is already bound to '{running.DataPath}'; it cannot also open '{full}'. "
                    + "chDB runs one engine per process on one data directory: share the running engine "
                    + "(separate databases or tables), or use another process.");
            }

            var started = Stopwatch.StartNew();
            var library = ChDbLibraryLocator.Locate(libraryPath);
            ChDbNative.EnsureLoaded(library);
            Directory.CreateDirectory(full);
            var pointer = ChDbNative.Connect(["chdb", "--path=" + full]);
            if (pointer == 0)
            {
                throw new ClickHouseException(
                    $"chDB could not start on '{full}' (chdb_connect returned NULL; the engine's reason is on stderr). "
                    + "Most often another process holds that data directory (its 'status' file is locked).");
            }

            var engine = new ChDbEngine(full, library, new ChDbConnectionHandle(pointer), started.Elapsed);
            Volatile.Write(ref s_current, engine);
            return engine;
        }
    }

    /// <summary>
    /// Runs <paramref name="sql"/> and returns the result rendered in <paramref name="format"/>.
    /// Parameters bind <c>{name:Type}</c> placeholders; values are in ClickHouse's parameter text
    /// form (<see cref="ClickHouseParam.Of"/>).
    /// </summary>
    /// <exception cref="ClickHouseException">The engine reported an error; its message is kept.</exception>
    public string Query(string sql, IReadOnlyDictionary<string, string>? parameters = null, string format = JsonEachRow.Format)
    {
        var sqlBytes = Utf8Z(sql, nameof(sql));
        _gate.Wait();
        try
        {
            return Run(sqlBytes, parameters, format);
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Runs a statement whose output is not wanted (DDL, INSERT … VALUES, OPTIMIZE, …).</summary>
    public void Execute(string sql, IReadOnlyDictionary<string, string>? parameters = null) =>
        Query(sql, parameters, "TabSeparated");

    /// <summary>Runs a query as JSONEachRow and deserializes each row (<see cref="JsonEachRow.DefaultOptions"/> by default).</summary>
    public IReadOnlyList<T> QueryRows<T>(string sql, IReadOnlyDictionary<string, string>? parameters = null,
        JsonSerializerOptions? jsonOptions = null) =>
        JsonEachRow.Parse<T>(Query(sql, parameters), jsonOptions);

    /// <summary>
    /// Inserts <paramref name="rows"/> as one <c>INSERT INTO table … FORMAT JSONEachRow</c> with the
    /// rows inline after FORMAT (no size limit from max_query_size: inline data is streamed).
    /// Returns the number of rows sent.
    /// </summary>
    public int Insert<T>(string table, IEnumerable<T> rows, JsonSerializerOptions? jsonOptions = null)
    {
        _gate.Wait();
        try
        {
            return InsertHoldingGate(table, rows, jsonOptions);
        }
        finally
        {
            _gate.Release();
        }
    }

    // Caller holds _gate, which also guards the one insert buffer: built and sent under the gate,
    // it is reused by every insert (the engine runs one statement at a time anyway).
    private int InsertHoldingGate<T>(string table, IEnumerable<T> rows, JsonSerializerOptions? jsonOptions)
    {
        _insertBuffer.ResetWrittenCount();
        var count = JsonEachRow.WriteInsert(_insertBuffer, table, rows, jsonOptions, nulTerminate: true);
        if (count > 0)
        {
            Run(_insertBuffer.WrittenSpan, null, "TabSeparated");
        }
        if (_insertBuffer.Capacity > MaxKeptInsertBuffer)
        {
            _insertBuffer = new ArrayBufferWriter<byte>(InitialInsertBuffer); // one huge insert does not pin its buffer for ever
        }
        return count;
    }

    public async Task<string> QueryAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null,
        string format = JsonEachRow.Format, CancellationToken cancellationToken = default)
    {
        var sqlBytes = Utf8Z(sql, nameof(sql));
        return await RunAsync(sqlBytes, parameters, format, cancellationToken).ConfigureAwait(false);
    }

    public Task ExecuteAsync(string sql, IReadOnlyDictionary<string, string>? parameters = null,
        CancellationToken cancellationToken = default) =>
        QueryAsync(sql, parameters, "TabSeparated", cancellationToken);

    public async Task<int> InsertJsonEachRowAsync<T>(string table, IEnumerable<T> rows,
        JsonSerializerOptions? jsonOptions = null, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            return InsertHoldingGate(table, rows, jsonOptions);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async ValueTask<string> RunAsync(byte[] sqlUtf8Z, IReadOnlyDictionary<string, string>? parameters, string format,
        CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            // Inline: a Task.Run hop would only move the blocking call to another pool thread.
            return Run(sqlUtf8Z, parameters, format);
        }
        finally
        {
            _gate.Release();
        }
    }

    // Caller holds _gate.
    private unsafe string Run(ReadOnlySpan<byte> sqlUtf8Z, IReadOnlyDictionary<string, string>? parameters, string format)
    {
        var formatBytes = Utf8Z(format, nameof(format));
        var count = parameters?.Count ?? 0;
        var names = new nint[count];
        var values = new nint[count];
        var addedRef = false;
        nint result;
        try
        {
            if (parameters is not null)
            {
                var i = 0;
                foreach (var (name, value) in parameters)
                {
                    names[i] = Marshal.StringToCoTaskMemUTF8(NoNul(name, "parameter name"));
                    values[i] = Marshal.StringToCoTaskMemUTF8(NoNul(value ?? throw new ArgumentException(
                        $"Parameter '{name}' is null; bind SQL NULL with ClickHouseParam.Null.", nameof(parameters)), $"parameter '{name}'"));
                    i++;
                }
            }

            _connection.DangerousAddRef(ref addedRef);
            var connection = _connection.Connection;
            fixed (byte* pSql = sqlUtf8Z)
            fixed (byte* pFormat = formatBytes)
            fixed (nint* pNames = names)
            fixed (nint* pValues = values)
            {
                result = count == 0
                    ? ChDbNative.Query(connection, pSql, pFormat)
                    : ChDbNative.QueryWithParams(connection, pSql, pFormat, (byte**)pNames, (byte**)pValues, (nuint)count);
            }
        }
        finally
        {
            if (addedRef)
            {
                _connection.DangerousRelease();
            }

            for (var i = 0; i < count; i++)
            {
                Marshal.FreeCoTaskMem(names[i]);
                Marshal.FreeCoTaskMem(values[i]);
            }
        }

        if (result == 0)
        {
            throw new ClickHouseException("chDB returned no result (NULL) for the query.");
        }

        try
        {
            var error = ChDbNative.ResultError(result);
            if (error is not null)
            {
                throw new ClickHouseException(Marshal.PtrToStringUTF8((nint)error) ?? "chDB reported an error without a message.");
            }

            var length = ChDbNative.ResultLength(result);
            var buffer = ChDbNative.ResultBuffer(result);
            if (length == 0 || buffer is null)
            {
                return string.Empty;
            }

            if (length > int.MaxValue)
            {
                throw new ClickHouseException($"chDB result of {length} bytes is too large for one string; page the query.");
            }

            return Encoding.UTF8.GetString(buffer, (int)length);
        }
        finally
        {
            ChDbNative.DestroyQueryResult(result);
        }
    }

    private static byte[] Utf8Z(string text, string what)
    {
        ArgumentNullException.ThrowIfNull(text, what);
        NoNul(text, what);
        var bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    // The C API takes NUL-terminated strings: an embedded NUL would silently cut the text short.
    private static string NoNul(string text, string what) =>
        text.Contains('\0', StringComparison.Ordinal)
            ? throw new ArgumentException($"The {what} contains a NUL character, which the chDB C API cannot pass.")
            : text;
}
