namespace Siyu.Deploy.Tests.Support;

/// <summary>The repository checkout these tests validate, found by walking up to Siyu.slnx.</summary>
internal static class Repo
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) =>
        Path.GetFullPath(Path.Combine(Root, relative.Replace('/', Path.DirectorySeparatorChar)));

    public static string Read(string relative)
    {
        var path = PathOf(relative);
        Assert.True(File.Exists(path), $"{relative} is missing from the repository ({path})");
        return File.ReadAllText(path);
    }

    /// <summary>Path relative to the repo root with forward slashes, e.g. "./dashboards/" → "dashboards".</summary>
    public static string Normalize(string relative) =>
        Path.GetRelativePath(Root, PathOf(relative)).Replace(Path.DirectorySeparatorChar, '/');

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Siyu.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException(
            $"No folder containing Siyu.slnx above {AppContext.BaseDirectory}; run the tests from the Siyu checkout.");
    }
}
