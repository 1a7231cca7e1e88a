using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Siyu.Deploy.Tests.Support;

internal sealed record Mount(string Source, string Target, bool IsBind, bool ReadOnly);

internal sealed record PortMapping(string? HostIp, int? HostPort, int ContainerPort);

/// <summary>docker-compose.yml at the repo root, read with the subset of the compose spec it uses.</summary>
internal sealed class Compose
{
    public const string FileName = "docker-compose.yml";

    private Compose(YamlMappingNode root)
    {
        Root = root;
        var services = root.Map("services");
        Assert.True(services is not null, $"{FileName} has no services mapping");
        Services = services!.Children.ToDictionary(
            kv => ((YamlScalarNode)kv.Key).Value!,
            kv => new Service(((YamlScalarNode)kv.Key).Value!, Assert.IsType<YamlMappingNode>(kv.Value)),
            StringComparer.Ordinal);
    }

    public static Compose Load() => new(YamlExtensions.LoadMapping(FileName));

    public YamlMappingNode Root { get; }

    public IReadOnlyDictionary<string, Service> Services { get; }

    public Service this[string name]
    {
        get
        {
            Assert.True(Services.ContainsKey(name), $"{FileName} has no service '{name}' (has: {string.Join(", ", Services.Keys)})");
            return Services[name];
        }
    }

    public IReadOnlyList<string> NamedVolumes => Root.Map("volumes")?.Keys().ToList() ?? [];

    /// <summary>Name the other containers reach this service by (service name and hostname are both DNS names).</summary>
    public bool IsServiceHost(string host, Service service) =>
        string.Equals(host, service.Name, StringComparison.Ordinal) ||
        string.Equals(host, service.Node.Str("hostname"), StringComparison.Ordinal);
}

internal sealed class Service(string name, YamlMappingNode node)
{
    public string Name { get; } = name;

    public YamlMappingNode Node { get; } = node;

    public string? Image => Node.Str("image");

    public IReadOnlyDictionary<string, string> Environment
    {
        get
        {
            var env = new Dictionary<string, string>(StringComparer.Ordinal);
            switch (Node.Get("environment"))
            {
                case YamlMappingNode map:
                    foreach (var (key, value) in map.Children)
                    {
                        env[((YamlScalarNode)key).Value!] = (value as YamlScalarNode)?.Value ?? string.Empty;
                    }

                    break;
                case YamlSequenceNode list:
                    foreach (var item in list.Strings())
                    {
                        var eq = item.IndexOf('=', StringComparison.Ordinal);
                        env[eq < 0 ? item : item[..eq]] = eq < 0 ? string.Empty : item[(eq + 1)..];
                    }

                    break;
            }

            return env;
        }
    }

    public string Env(string key)
    {
        Assert.True(Environment.TryGetValue(key, out var value), $"service {Name} has no environment variable {key}");
        return value!;
    }

    public IReadOnlyList<Mount> Volumes => (Node.Seq("volumes")?.Children ?? []).Select(ParseMount).ToList();

    public IReadOnlyList<PortMapping> Ports => (Node.Seq("ports")?.Children ?? []).Select(ParsePort).ToList();

    public IReadOnlyList<int> Expose =>
        Node.Seq("expose").Strings().Select(p => int.Parse(p.Split('/')[0], CultureInfo.InvariantCulture)).ToList();

    /// <summary>depends_on as service → condition (the short list form means service_started).</summary>
    public IReadOnlyDictionary<string, string> DependsOn
    {
        get
        {
            return Node.Get("depends_on") switch
            {
                YamlSequenceNode list => list.Strings().ToDictionary(s => s, _ => "service_started"),
                YamlMappingNode map => map.Children.ToDictionary(
                    kv => ((YamlScalarNode)kv.Key).Value!,
                    kv => (kv.Value as YamlMappingNode)?.Str("condition") ?? "service_started"),
                _ => new Dictionary<string, string>(),
            };
        }
    }

    /// <summary>healthcheck.test as an exec list; the string form becomes CMD-SHELL.</summary>
    public IReadOnlyList<string> HealthcheckTest => Node.Map("healthcheck")?.Get("test") switch
    {
        YamlSequenceNode seq => seq.Strings(),
        YamlScalarNode { Value: { } s } => ["CMD-SHELL", s],
        _ => [],
    };

    public IReadOnlyList<string> Command => ExecForm("command");

    public IReadOnlyList<string> Entrypoint => ExecForm("entrypoint");

    private IReadOnlyList<string> ExecForm(string key) => Node.Get(key) switch
    {
        YamlSequenceNode seq => seq.Strings(),
        YamlScalarNode { Value: { } s } => s.Split(' ', StringSplitOptions.RemoveEmptyEntries),
        _ => [],
    };

    private static Mount ParseMount(YamlNode node)
    {
        if (node is YamlMappingNode longForm)
        {
            var type = longForm.Str("type") ?? "volume";
            return new Mount(
                longForm.Str("source") ?? string.Empty,
                longForm.Str("target") ?? string.Empty,
                type == "bind",
                string.Equals(longForm.Str("read_only"), "true", StringComparison.OrdinalIgnoreCase));
        }

        var text = ((YamlScalarNode)node).Value ?? string.Empty;
        var parts = text.Split(':');
        Assert.True(parts.Length is 2 or 3, $"volume '{text}' is not source:target[:mode]");
        var source = parts[0];
        var isBind = source.StartsWith('.') || source.StartsWith('/') || source.StartsWith('~');
        var readOnly = parts.Length == 3 && parts[2].Split(',').Contains("ro");
        return new Mount(source, parts[1], isBind, readOnly);
    }

    private static PortMapping ParsePort(YamlNode node)
    {
        if (node is YamlMappingNode longForm)
        {
            var published = longForm.Str("published");
            return new PortMapping(
                longForm.Str("host_ip"),
                published is null ? null : int.Parse(published, CultureInfo.InvariantCulture),
                int.Parse(longForm.Str("target")!, CultureInfo.InvariantCulture));
        }

        var text = (((YamlScalarNode)node).Value ?? string.Empty).Split('/')[0];
        var parts = text.Split(':');
        static int P(string s) => int.Parse(s, CultureInfo.InvariantCulture);
        return parts.Length switch
        {
            1 => new PortMapping(null, null, P(parts[0])),
            2 => new PortMapping(null, P(parts[0]), P(parts[1])),
            3 => new PortMapping(parts[0], P(parts[1]), P(parts[2])),
            _ => throw new FormatException($"port '{text}' is not [ip:][host:]container"),
        };
    }
}
