using Xunit.Abstractions;

namespace Siyu.Reliability.Tests.Support;

/// <summary>
/// A test's files (journal, chDB, node logs): deleted when the test passed, kept and named in its
/// output when it failed, so the rows that show a loss can be read afterwards.
/// </summary>
public sealed class WorkDirectory(string prefix, ITestOutputHelper output) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory(prefix).FullName;

    /// <summary>Set last in a test: everything it asserts held.</summary>
    public bool Passed { get; set; }

    public void Dispose()
    {
        if (!Passed)
        {
            output.WriteLine($"kept for inspection: {Path}");
            return;
        }
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
