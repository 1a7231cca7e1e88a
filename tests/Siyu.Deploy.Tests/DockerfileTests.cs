using System.Globalization;
using System.Xml.Linq;
using Siyu.Deploy.Tests.Support;

namespace Siyu.Deploy.Tests;

/// <summary>The Dockerfile builds the Host project and runs it the way compose and the settings expect.</summary>
public sealed class DockerfileTests
{
    private const string HostProject = "src/Host/Siyu.Host.csproj";

    private readonly DockerfileModel _dockerfile = DockerfileModel.Load();

    [Fact]
    public void Builds_with_the_sdk_and_runs_on_aspnet()
    {
        Assert.True(_dockerfile.Stages.Count >= 2, "the Dockerfile should be multi-stage");
        Assert.Equal("mcr.microsoft.com/dotnet/sdk:10.0", _dockerfile.StageNamed("build").Image);
        Assert.Equal("mcr.microsoft.com/dotnet/aspnet:10.0", _dockerfile.FinalStage.Image);
    }

    [Fact]
    public void Publishes_the_host_project_without_chdb()
    {
        var build = _dockerfile.StageNamed("build");
        var publish = Assert.Single(_dockerfile.In(build, "RUN"), r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        var args = publish.WithoutFlags;
        Assert.Contains($"dotnet publish {HostProject}", args, StringComparison.Ordinal);
        Assert.True(File.Exists(Repo.PathOf(HostProject)));
        Assert.Contains("-c Release", args, StringComparison.Ordinal);
        Assert.Contains("-p:SkipChDb=true", args, StringComparison.Ordinal);
        Assert.Contains($"-o {PublishDir}", args, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_stage_copies_everything_the_host_project_needs()
    {
        var build = _dockerfile.StageNamed("build");
        var sources = _dockerfile.In(build, "COPY")
            .Where(c => !c.Flags.ContainsKey("from"))
            .SelectMany(c => c.WithoutFlags.Split(' ', StringSplitOptions.RemoveEmptyEntries).SkipLast(1))
            .Select(s => s.TrimEnd('/'))
            .ToList();

        bool Covered(string path) => sources.Any(s => path == s || path.StartsWith(s + "/", StringComparison.Ordinal));

        // Central package versions, warnings-as-errors and the SDK pin live at the root.
        foreach (var file in new[] { "Directory.Build.props", "Directory.Packages.props", "global.json" })
        {
            Assert.True(File.Exists(Repo.PathOf(file)), $"{file} is missing from the repository");
            Assert.True(Covered(file), $"the build stage does not COPY {file}");
        }

        foreach (var project in ProjectClosure(HostProject))
        {
            Assert.True(Covered(project), $"the build stage does not COPY {project}, which {HostProject} references");
        }
    }

    [Fact]
    public void Entrypoint_runs_the_published_host_assembly()
    {
        var runtime = _dockerfile.FinalStage;
        var copy = Assert.Single(_dockerfile.In(runtime, "COPY"), c => c.Flags.ContainsKey("from"));
        Assert.Equal("build", copy.Flags["from"]);
        Assert.StartsWith(PublishDir + " ", copy.WithoutFlags, StringComparison.Ordinal);

        var assemblyName = XDocument.Load(Repo.PathOf(HostProject)).Descendants("AssemblyName").Single().Value;
        var entrypoint = Assert.Single(_dockerfile.In(runtime, "ENTRYPOINT")).ExecForm;
        Assert.Equal(["dotnet", $"{copy.WithoutFlags.Split(' ')[1].TrimEnd('/')}/{assemblyName}.dll"], entrypoint);

        // Same default command as compose, reading the config file baked in at the same path.
        var compose = Compose.Load()["siyu"];
        Assert.Equal(compose.Command, Assert.Single(_dockerfile.In(runtime, "CMD")).ExecForm);
        Assert.Contains(_dockerfile.In(runtime, "COPY"), c => c.WithoutFlags == $"{SiyuSettings.ProductionConfig} {SiyuSettings.ConfigPathInContainer}");
    }

    [Fact]
    public void Runs_as_a_non_root_user()
    {
        var user = _dockerfile.In(_dockerfile.FinalStage, "USER").LastOrDefault();
        Assert.NotNull(user);
        Assert.DoesNotContain(user!.Arguments.Split(':')[0], new[] { "root", "0", string.Empty });
    }

    [Fact]
    public void Exposes_and_health_checks_the_api_port()
    {
        var url = new Uri(SiyuSettings.LoadProductionConfig().Require(SiyuSettings.ApiUrls, SiyuSettings.ProductionConfig));
        var port = url.Port.ToString(CultureInfo.InvariantCulture);
        var runtime = _dockerfile.FinalStage;
        Assert.Contains(_dockerfile.In(runtime, "EXPOSE"), e => e.Arguments.Split(' ').Contains(port));

        var healthcheck = Assert.Single(_dockerfile.In(runtime, "HEALTHCHECK"));
        var command = healthcheck.WithoutFlags;
        Assert.StartsWith("CMD ", command, StringComparison.Ordinal);
        Assert.Contains($":{port}/health", command, StringComparison.Ordinal);
    }

    private string PublishDir
    {
        get
        {
            var publish = _dockerfile.In(_dockerfile.StageNamed("build"), "RUN").Single(r => r.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
            var tokens = publish.WithoutFlags.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var i = Array.IndexOf(tokens, "-o");
            Assert.True(i >= 0 && i + 1 < tokens.Length, "dotnet publish has no -o");
            return tokens[i + 1].TrimEnd('/');
        }
    }

    /// <summary>The project and every project it references, transitively, as repo-relative paths.</summary>
    internal static IReadOnlyList<string> ProjectClosure(string project)
    {
        var seen = new SortedSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Repo.Normalize(project)]);
        while (pending.TryPop(out var current))
        {
            if (!seen.Add(current))
            {
                continue;
            }

            var path = Repo.PathOf(current);
            Assert.True(File.Exists(path), $"{current} is referenced but does not exist");
            var folder = Path.GetDirectoryName(current)!;
            foreach (var reference in XDocument.Load(path).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")?.Value.Replace('\\', '/');
                if (include is not null)
                {
                    pending.Push(Repo.Normalize(Path.Combine(folder, include)));
                }
            }
        }

        return [.. seen];
    }
}
