namespace Siyu.Sinks.ClickHouse.Embedded;

/// <summary>
/// Finds libchdb.so: an explicit path (configuration) first, then the <c>SIYU_CHDB_LIB</c>
/// environment variable, then the checkout's <c>.local/chdb</c> (fetched by the build of
/// src/Sinks), searched upwards from the application's base directory.
/// </summary>
public static class ChDbLibraryLocator
{
    public const string EnvironmentVariable = "SIYU_CHDB_LIB";
    public const string LibraryFileName = "libchdb.so";

    /// <summary>Where the build puts the library, relative to the repository root.</summary>
    public const string CheckoutRelativePath = ".local/chdb/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so";

    public static string Locate(string? explicitPath = null) =>
        Locate(explicitPath, Environment.GetEnvironmentVariable(EnvironmentVariable), AppContext.BaseDirectory);

    /// <summary>
    /// The search itself. An explicit path or environment variable that names nothing is an error
    /// rather than a reason to fall back: a configured library must be the one that is loaded.
    /// Either may name the file or the directory holding it.
    /// </summary>
    public static string Locate(string? explicitPath, string? environmentValue, string startDirectory)
    {
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            return Resolve(explicitPath)
                ?? throw NotFound($"The configured chDB library path '{explicitPath}' does not exist (no {LibraryFileName} there).");
        }

        if (!string.IsNullOrWhiteSpace(environmentValue))
        {
            return Resolve(environmentValue)
                ?? throw NotFound($"{EnvironmentVariable}='{environmentValue}' does not name an existing {LibraryFileName}.");
        }

        var tried = new List<string>();
        for (var dir = new DirectoryInfo(Path.GetFullPath(startDirectory)); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, CheckoutRelativePath);
            tried.Add(candidate);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw NotFound(
            $"chDB library not found: no explicit path, {EnvironmentVariable} is not set, and no {CheckoutRelativePath} "
            + $"above {startDirectory}. Tried:{Environment.NewLine}  " + string.Join(Environment.NewLine + "  ", tried));
    }

    private static string? Resolve(string path)
    {
        var full = Path.GetFullPath(path);
        if (File.Exists(full))
        {
            return full;
        }

        var inDir = Path.Combine(full, LibraryFileName);
        return File.Exists(inDir) ? inDir : null;
    }

    private static FileNotFoundException NotFound(string what) =>
        new(what + Environment.NewLine
            + "Build src/Sinks on linux-x64 (it fetches @chdb/lib-linux-x64-gnu with npm into .local/chdb), "
            + $"or point {EnvironmentVariable} at a libchdb.so.");
}
