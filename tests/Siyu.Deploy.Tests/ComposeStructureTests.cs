using Siyu.Deploy.Tests.Support;

namespace Siyu.Deploy.Tests;

/// <summary>docker-compose.yml on its own: services, images, healthchecks, mounts, ordering, secrets.</summary>
public sealed class ComposeStructureTests
{
    private static readonly string[] RequiredServices = ["kafka", "clickhouse", "postgres", "grafana", "siyu"];

    /// <summary>One-shot services: they exit when done, so they have no healthcheck and must not restart.</summary>
    private static readonly string[] OneShotServices = ["kafka-init"];

    private readonly Compose _compose = Compose.Load();

    [Fact]
    public void Compose_file_parses_and_defines_every_service()
    {
        foreach (var name in RequiredServices)
        {
            Assert.True(_compose.Services.ContainsKey(name), $"{Compose.FileName} has no '{name}' service");
        }

        Assert.Null(_compose.Root.Get("version")); // obsolete in the compose spec; docker compose warns on it
    }

    [Fact]
    public void Every_image_is_pinned_to_a_version()
    {
        foreach (var service in _compose.Services.Values.Where(s => s.Node.Get("build") is null))
        {
            var image = service.Image;
            Assert.False(string.IsNullOrEmpty(image), $"service {service.Name} has neither image nor build");
            var tag = image!.Contains(':', StringComparison.Ordinal) ? image[(image.LastIndexOf(':') + 1)..] : string.Empty;
            Assert.False(tag.Length == 0 || tag == "latest", $"service {service.Name} image '{image}' is not pinned to a version tag");
        }
    }

    [Fact]
    public void Required_images_are_the_agreed_ones()
    {
        Assert.StartsWith("apache/kafka:", _compose["kafka"].Image);
        Assert.StartsWith("postgres:16", _compose["postgres"].Image);
        Assert.StartsWith("grafana/grafana:", _compose["grafana"].Image);

        var clickhouse = _compose["clickhouse"].Image!;
        Assert.StartsWith("clickhouse/clickhouse-server:", clickhouse);
        var version = Version.Parse(clickhouse.Split(':')[1].Split('-')[0]);
        Assert.True(version >= new Version(24, 8), $"ClickHouse {version} is older than 24.8");

        var build = _compose["siyu"].Node.Map("build");
        Assert.NotNull(build);
        Assert.Equal(".", build!.Str("context"));
        Assert.Equal(DockerfileModel.FileName, build.Str("dockerfile") ?? DockerfileModel.FileName);
    }

    [Fact]
    public void Every_long_running_service_has_a_healthcheck()
    {
        foreach (var service in _compose.Services.Values.Where(s => !OneShotServices.Contains(s.Name)))
        {
            var test = service.HealthcheckTest;
            Assert.True(test.Count >= 2, $"service {service.Name} has no healthcheck");
            Assert.Contains(test[0], new[] { "CMD", "CMD-SHELL" });
            Assert.NotEqual("NONE", test[0]);
        }
    }

    [Fact]
    public void Bind_mounted_host_paths_exist_in_the_repository()
    {
        var binds = _compose.Services.Values.SelectMany(s => s.Volumes.Where(v => v.IsBind).Select(v => (s.Name, v))).ToList();
        Assert.NotEmpty(binds);
        foreach (var (service, mount) in binds)
        {
            Assert.False(mount.Source.StartsWith('/') || mount.Source.StartsWith('~'),
                $"service {service} mounts the absolute host path {mount.Source}; use a path inside the repo");
            var path = Repo.PathOf(mount.Source);
            Assert.True(File.Exists(path) || Directory.Exists(path),
                $"service {service} bind-mounts {mount.Source}, which does not exist in the repository");
            Assert.True(mount.ReadOnly, $"service {service} should mount {mount.Source} read-only (:ro)");
        }
    }

    [Fact]
    public void Named_volumes_are_declared()
    {
        foreach (var service in _compose.Services.Values)
        {
            foreach (var mount in service.Volumes.Where(v => !v.IsBind))
            {
                Assert.True(_compose.NamedVolumes.Contains(mount.Source),
                    $"service {service.Name} uses volume '{mount.Source}', not declared under top-level volumes");
            }
        }
    }

    [Fact]
    public void Dependencies_exist_and_their_conditions_can_be_met()
    {
        foreach (var service in _compose.Services.Values)
        {
            foreach (var (target, condition) in service.DependsOn)
            {
                Assert.True(_compose.Services.ContainsKey(target), $"service {service.Name} depends on unknown service {target}");
                var dependency = _compose[target];
                switch (condition)
                {
                    case "service_healthy":
                        Assert.True(dependency.HealthcheckTest.Count > 0,
                            $"{service.Name} waits for {target} to be healthy, but {target} has no healthcheck");
                        break;
                    case "service_completed_successfully":
                        Assert.Contains(target, OneShotServices);
                        var restart = dependency.Node.Str("restart") ?? "no";
                        Assert.True(restart is "no" or "on-failure",
                            $"{service.Name} waits for {target} to complete, but {target} has restart: {restart}");
                        break;
                    case "service_started":
                        break;
                    default:
                        Assert.Fail($"service {service.Name}: unknown depends_on condition '{condition}' for {target}");
                        break;
                }
            }
        }
    }

    [Fact]
    public void Secrets_come_from_required_variables_never_literals()
    {
        var checkedValues = 0;
        foreach (var service in _compose.Services.Values)
        {
            foreach (var (name, value) in service.Environment)
            {
                var upper = name.ToUpperInvariant();
                if (upper.Contains("PASSWORD", StringComparison.Ordinal) || upper.EndsWith("KEY", StringComparison.Ordinal) ||
                    upper.Contains("SECRET", StringComparison.Ordinal))
                {
                    AssertRequiredReference(value, $"{service.Name}: {name}");
                    checkedValues++;
                }

                if (value.Contains("Password=", StringComparison.OrdinalIgnoreCase))
                {
                    var password = ConnectionString.Parse(value).Part("Password", $"{service.Name}: {name}");
                    AssertRequiredReference(password, $"{service.Name}: {name} Password=");
                    checkedValues++;
                }
            }
        }

        Assert.True(checkedValues >= 6, $"expected the ClickHouse, Postgres, Grafana and phone-hash secrets, found {checkedValues}");
    }

    [Fact]
    public void Required_variables_are_documented_in_the_env_example()
    {
        var example = Repo.Read("deploy/siyu.env.example");
        var documented = example.Split('\n')
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#') && l.Contains('=', StringComparison.Ordinal))
            .ToDictionary(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]);

        var required = _compose.Services.Values
            .SelectMany(s => s.Environment.Values)
            .SelectMany(Interpolation.References)
            .Where(r => r.IsRequired)
            .Select(r => r.Name)
            .ToHashSet();

        Assert.Contains("SIYU_PHONE_HASH_KEY", required);
        foreach (var name in required)
        {
            Assert.True(documented.ContainsKey(name), $"{name} is required by {Compose.FileName} but missing from deploy/siyu.env.example");
        }

        // The example carries no usable secret at all (issue #15: Grafana's admin password was
        // "change-me"): compose refuses an empty one, so nobody runs on a default.
        foreach (var name in required)
        {
            Assert.True(documented[name] == string.Empty, $"deploy/siyu.env.example gives {name} a value; leave it empty");
        }
    }

    /// <summary>Published on every host interface: the API and Grafana only (issue #15).</summary>
    private static readonly string[] PublicServices = ["siyu", "siyu-2", "grafana"];

    [Fact]
    public void Only_the_api_and_grafana_are_published_beyond_loopback()
    {
        foreach (var service in _compose.Services.Values)
        {
            foreach (var port in service.Ports.Where(p => p.HostPort is not null))
            {
                var loopback = port.HostIp is "127.0.0.1" or "::1" or "[::1]";
                Assert.True(loopback || PublicServices.Contains(service.Name),
                    $"service {service.Name} publishes {port.HostPort} on every interface; bind it to 127.0.0.1 or keep it on the compose network");
            }
        }
        Assert.Contains(_compose.Services["siyu"].Ports, p => p.HostIp is null && p.ContainerPort == 8080);
        Assert.Contains(_compose.Services["grafana"].Ports, p => p.HostIp is null && p.ContainerPort == 3000);
    }

    [Fact]
    public void Api_keys_come_from_an_env_file_that_is_not_in_the_repository()
    {
        foreach (var name in new[] { "siyu", "siyu-2" })
        {
            var files = _compose.Services[name].Node.Seq("env_file")?.Children ?? [];
            Assert.Contains(files, f => f.ToString().Contains("deploy/api-keys.env", StringComparison.Ordinal));
            Assert.DoesNotContain(_compose.Services[name].Environment.Keys, k => k.StartsWith("SIYU_Api__Keys", StringComparison.Ordinal));
        }
        Assert.Contains("SIYU_Api__Keys__", Repo.Read("deploy/api-keys.env.example"));
        Assert.Contains("*.env", Repo.Read("deploy/.gitignore"));
        Assert.False(File.Exists(Path.Combine(Repo.Root, "deploy", "api-keys.env")) && IsTracked("deploy/api-keys.env"));
    }

    private static bool IsTracked(string path)
    {
        using var git = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("git", ["-C", Repo.Root, "ls-files", "--error-unmatch", path])
        {
            RedirectStandardOutput = true, RedirectStandardError = true,
        })!;
        git.WaitForExit();
        return git.ExitCode == 0;
    }

    private static void AssertRequiredReference(string value, string what)
    {
        Assert.True(Interpolation.IsOnlyReference(value, out var reference),
            $"{what} must be a ${{VARIABLE}} reference, not the literal '{value}'");
        Assert.True(reference.IsRequired,
            $"{what} references ${{{reference.Name}}} without ':?': compose would start with an empty secret");
    }
}
