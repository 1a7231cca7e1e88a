using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;
using Siyu.Contracts.Events;

namespace Siyu.Host.Tests.Schemas;

/// <summary>schemas/*.schema.json loaded as a producer or subscriber would, relative $refs resolved from the files.</summary>
public sealed class TopicSchemas
{
    private static readonly Lazy<TopicSchemas> Instance = new(() => new TopicSchemas());
    private readonly Dictionary<string, JsonSchema> _byFile = new(StringComparer.Ordinal);

    private TopicSchemas()
    {
        Root = FindRoot();
        var options = new BuildOptions { SchemaRegistry = new SchemaRegistry() };
        // Referenced files first: common, then the event types the topics refer to.
        var files = new[] { "common.schema.json" }
            .Concat(Directory.GetFiles(Path.Combine(Root, "events"), "*.schema.json").Order(StringComparer.Ordinal).Select(f => "events/" + Path.GetFileName(f)))
            .Concat(Directory.GetFiles(Path.Combine(Root, "topics"), "*.schema.json").Order(StringComparer.Ordinal).Select(f => "topics/" + Path.GetFileName(f)));
        foreach (var file in files)
        {
            var path = Path.Combine(Root, file);
            // The file's location becomes its $id, as a validator that loads by path does: JsonSchema.Net
            // 8.0.5 ignores the base URI argument when it resolves relative $refs, and an unresolved
            // "../common.schema.json#/..." would then accept anything.
            var node = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            node.Insert(0, "$id", new Uri(path).AbsoluteUri);
            var schema = JsonSchema.FromText(node.ToJsonString(), options);
            options.SchemaRegistry.Register(schema);
            _byFile[file] = schema;
        }
    }

    public static TopicSchemas Load() => Instance.Value;

    /// <summary>The schemas/ folder of the checkout.</summary>
    public string Root { get; }

    public IReadOnlyCollection<string> Files => _byFile.Keys;

    public static string TopicFile(string topic) => $"topics/{topic}.schema.json";

    public JsonNode Json(string file) => JsonNode.Parse(File.ReadAllText(Path.Combine(Root, file)))!;

    /// <summary>Null when <paramref name="json"/> is valid against the schema of <paramref name="file"/>, else what is wrong.</summary>
    public string? Problems(string file, ReadOnlySpan<byte> json)
    {
        // A UTF-8 byte order mark says nothing (Siyu skips it, as JSON readers may).
        if (json.StartsWith((ReadOnlySpan<byte>)[0xEF, 0xBB, 0xBF]))
        {
            json = json[3..];
        }
        JsonDocument doc;
        try
        {
            doc = JsonDocument.Parse(json.ToArray());
        }
        catch (JsonException e)
        {
            return "not JSON: " + e.Message;
        }
        using (doc)
        {
            var result = _byFile[file].Evaluate(doc.RootElement, new EvaluationOptions { OutputFormat = OutputFormat.List });
            if (result.IsValid)
            {
                return null;
            }
            var errors = (result.Details ?? []).Where(d => d.Errors is { Count: > 0 })
                .SelectMany(d => d.Errors!.Select(e => $"{d.InstanceLocation} ({d.EvaluationPath}): {e.Value}"));
            return string.Join("; ", errors.Take(6));
        }
    }

    public string? Problems(string file, string json) => Problems(file, Encoding.UTF8.GetBytes(json));

    public static string InputTopic(Channel channel) => "siyu." + channel.WireName();

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Siyu.slnx")))
            {
                return Path.Combine(dir.FullName, "schemas");
            }
        }
        throw new DirectoryNotFoundException("No Siyu.slnx above " + AppContext.BaseDirectory);
    }
}
