using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using Akka.Actor;
using Akka.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Siyu.Actors.Hosting;
using Siyu.Contracts.Events;

namespace Siyu.Actors.Tests.Wire;

/// <summary>An actor system configured exactly as a node's (WithSiyuCluster), on a free port; it need not join anything.</summary>
public sealed class NodeSystemFixture : IAsyncLifetime
{
    private IHost? _host;

    public ActorSystem System => _host!.Services.GetRequiredService<ActorSystem>();

    public async Task InitializeAsync()
    {
        _host = new HostBuilder()
            .ConfigureServices(services => services.AddAkka(SiyuAkkaConfiguration.SystemName, builder => builder
                .WithSiyuCluster(new ClusterNodeOptions())))
            .Build();
        await _host.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_host is not null)
        {
            await _host.StopAsync();
            _host.Dispose();
        }
    }
}

/// <summary>
/// A message's whole content as text, by reflection and independent of the wire format under
/// test: records holding lists or dictionaries do not compare by value, this does. Events are
/// dumped as their runtime type, actor refs as their full path (uid included).
/// </summary>
public static class Dump
{
    private static readonly JsonSerializerOptions Options = new()
    {
        TypeInfoResolver = new DefaultJsonTypeInfoResolver(),
        Converters = { new ActorRefConverter(), new InputEventConverter() },
        WriteIndented = true,
    };

    public static string Of(object message) => JsonSerializer.Serialize(message, message.GetType(), Options);

    private sealed class ActorRefConverter : JsonConverter<IActorRef>
    {
        public override bool CanConvert(Type typeToConvert) => typeof(IActorRef).IsAssignableFrom(typeToConvert);

        public override IActorRef Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, IActorRef value, JsonSerializerOptions options) =>
            writer.WriteStringValue(value.Path.ToSerializationFormat());
    }

    private sealed class InputEventConverter : JsonConverter<InputEvent>
    {
        public override InputEvent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => throw new NotSupportedException();

        public override void Write(Utf8JsonWriter writer, InputEvent value, JsonSerializerOptions options)
        {
            writer.WriteStartObject();
            writer.WriteString("$type", value.GetType().Name);
            writer.WritePropertyName("event");
            JsonSerializer.Serialize(writer, value, value.GetType(), options);
            writer.WriteEndObject();
        }
    }
}

/// <summary>
/// The checked-in golden files of this folder: read from the test's output (copied there by the
/// project file); a missing one is written into the source folder so it can be reviewed and committed.
/// </summary>
public static class Golden
{
    public static string OutputFolder => Path.Combine(AppContext.BaseDirectory, "Wire");

    public static string SourceFolder([CallerFilePath] string thisFile = "") => Path.GetDirectoryName(thisFile)!;

    public static byte[]? Read(string fileName)
    {
        var path = Path.Combine(OutputFolder, fileName);
        return File.Exists(path) ? File.ReadAllBytes(path) : null;
    }

    /// <summary>Writes a golden file that does not exist yet (a new manifest or format) and fails, so nobody forgets to commit it.</summary>
    public static void Create(string fileName, byte[] bytes)
    {
        var path = Path.Combine(SourceFolder(), fileName);
        File.WriteAllBytes(path, bytes);
        Assert.Fail($"No golden file {fileName} yet: wrote {path} ({bytes.Length} bytes). Review it, commit it, and run the tests again.");
    }
}
