using YamlDotNet.RepresentationModel;

namespace Siyu.Deploy.Tests.Support;

internal static class YamlExtensions
{
    public static YamlMappingNode LoadMapping(string relativePath)
    {
        var stream = new YamlStream();
        using (var reader = new StringReader(Repo.Read(relativePath)))
        {
            stream.Load(reader);
        }

        Assert.True(stream.Documents.Count == 1, $"{relativePath}: expected exactly one YAML document");
        return Assert.IsType<YamlMappingNode>(stream.Documents[0].RootNode);
    }

    public static YamlNode? Get(this YamlMappingNode map, string key) =>
        map.Children.TryGetValue(new YamlScalarNode(key), out var value) ? value : null;

    public static YamlMappingNode? Map(this YamlMappingNode map, string key) => map.Get(key) as YamlMappingNode;

    public static YamlSequenceNode? Seq(this YamlMappingNode map, string key) => map.Get(key) as YamlSequenceNode;

    public static string? Str(this YamlMappingNode map, string key) => (map.Get(key) as YamlScalarNode)?.Value;

    public static IEnumerable<string> Keys(this YamlMappingNode map) =>
        map.Children.Keys.OfType<YamlScalarNode>().Select(k => k.Value ?? string.Empty);

    public static IReadOnlyList<string> Strings(this YamlSequenceNode? seq) =>
        seq is null ? [] : seq.Children.OfType<YamlScalarNode>().Select(s => s.Value ?? string.Empty).ToList();
}
