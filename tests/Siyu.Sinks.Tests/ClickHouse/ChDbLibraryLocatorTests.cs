using Siyu.Sinks.ClickHouse.Embedded;

namespace Siyu.Sinks.Tests.ClickHouse;

public sealed class ChDbLibraryLocatorTests : IDisposable
{
    private readonly string _root = Path.Combine(Path.GetTempPath(), "siyu-locator-" + Guid.NewGuid().ToString("N"));

    public ChDbLibraryLocatorTests() => Directory.CreateDirectory(_root);

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private string FakeLibrary(string dir)
    {
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, ChDbLibraryLocator.LibraryFileName);
        File.WriteAllText(path, "");
        return path;
    }

    [Fact]
    public void Explicit_path_wins_over_environment_and_checkout()
    {
        var explicitLib = FakeLibrary(Path.Combine(_root, "explicit"));
        var envLib = FakeLibrary(Path.Combine(_root, "env"));
        FakeLibrary(Path.GetDirectoryName(Path.Combine(_root, ChDbLibraryLocator.CheckoutRelativePath))!);

        Assert.Equal(explicitLib, ChDbLibraryLocator.Locate(explicitLib, envLib, _root));
        Assert.Equal(explicitLib, ChDbLibraryLocator.Locate(Path.GetDirectoryName(explicitLib), envLib, _root));
        Assert.Equal(envLib, ChDbLibraryLocator.Locate(null, Path.GetDirectoryName(envLib), _root));
    }

    [Fact]
    public void Walks_up_from_the_base_directory_to_the_checkout()
    {
        var lib = FakeLibrary(Path.GetDirectoryName(Path.Combine(_root, ChDbLibraryLocator.CheckoutRelativePath))!);
        var deep = Path.Combine(_root, "tests", "X", "bin", "Debug", "net10.0");
        Directory.CreateDirectory(deep);

        Assert.Equal(lib, ChDbLibraryLocator.Locate(null, null, deep));
    }

    [Fact]
    public void Misconfiguration_is_an_error_naming_what_was_tried()
    {
        var missing = Path.Combine(_root, "nope", "libchdb.so");
        var ex = Assert.Throws<FileNotFoundException>(() => ChDbLibraryLocator.Locate(missing, null, _root));
        Assert.Contains(missing, ex.Message, StringComparison.Ordinal);

        ex = Assert.Throws<FileNotFoundException>(() => ChDbLibraryLocator.Locate(null, missing, _root));
        Assert.Contains(ChDbLibraryLocator.EnvironmentVariable, ex.Message, StringComparison.Ordinal);

        var deep = Path.Combine(_root, "a", "b");
        Directory.CreateDirectory(deep);
        ex = Assert.Throws<FileNotFoundException>(() => ChDbLibraryLocator.Locate(null, null, deep));
        Assert.Contains(Path.Combine(deep, ChDbLibraryLocator.CheckoutRelativePath), ex.Message, StringComparison.Ordinal);
        Assert.Contains(Path.Combine(_root, ChDbLibraryLocator.CheckoutRelativePath), ex.Message, StringComparison.Ordinal);
    }
}
