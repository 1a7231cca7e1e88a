using Siyu.Deploy.Tests.Support;

namespace Siyu.Deploy.Tests;

/// <summary>.dockerignore keeps build output and local data out of the context, but not the build inputs.</summary>
public sealed class DockerIgnoreTests
{
    private readonly DockerIgnore _ignore = DockerIgnore.Load();

    [Theory]
    [InlineData("bin/Debug/net10.0/siyu.dll")]
    [InlineData("obj/project.assets.json")]
    [InlineData("src/Host/bin/Release/net10.0/siyu.dll")]
    [InlineData("src/Kafka/obj/project.assets.json")]
    [InlineData("tests/Siyu.Deploy.Tests/bin/Debug/net10.0/Siyu.Deploy.Tests.dll")]
    [InlineData(".local/chdb/libchdb.so")]
    [InlineData("data/journal.db")]
    [InlineData(".git/HEAD")]
    [InlineData("deploy/siyu.env")]
    public void Excludes_build_output_local_data_and_secrets(string path)
    {
        Assert.True(_ignore.IsExcluded(path), $"{path} would be sent to the Docker build context");
    }

    [Fact]
    public void Keeps_everything_the_dockerfile_copies()
    {
        var dockerfile = DockerfileModel.Load();
        var sources = dockerfile.Instructions
            .Where(i => i.Keyword is "COPY" or "ADD" && !i.Flags.ContainsKey("from"))
            .SelectMany(i => i.WithoutFlags.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
            .Select(s => s.TrimEnd('/'))
            .ToList();
        Assert.NotEmpty(sources);

        var files = sources.SelectMany(source =>
        {
            var path = Repo.PathOf(source);
            Assert.True(File.Exists(path) || Directory.Exists(path), $"the Dockerfile copies {source}, which does not exist");
            return Directory.Exists(path)
                ? Directory.EnumerateFiles(path, "*", SearchOption.AllDirectories)
                    .Select(f => Path.GetRelativePath(Repo.Root, f).Replace(Path.DirectorySeparatorChar, '/'))
                    .Where(f => !f.Split('/').Any(s => s is "bin" or "obj"))
                : [source];
        }).ToList();

        Assert.Contains(DockerfileTests.ProjectClosure("src/Host/Siyu.Host.csproj")[0], files);
        foreach (var file in files)
        {
            Assert.False(_ignore.IsExcluded(file), $"{file} is copied by the Dockerfile but excluded by .dockerignore");
        }
    }
}
