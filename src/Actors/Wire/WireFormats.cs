using System.Text;
using Akka.Configuration;
using Akka.Hosting;

namespace Siyu.Actors.Wire;

/// <summary>
/// Binds every Siyu message type to <see cref="SiyuSerializer"/> (one binding per type, made from
/// its manifest table) and turns Akka's fallback to its default JSON serializer off: a message
/// type that can cross nodes and has no wire format then fails at its first remote send (logged,
/// dropped) instead of travelling as Newtonsoft JSON with .NET type names.
/// </summary>
public static class WireFormats
{
    public const string SerializerName = "siyu";

    public static Config Config { get; } = ConfigurationFactory.ParseString(Hocon());

    public static AkkaConfigurationBuilder WithSiyuWireFormats(this AkkaConfigurationBuilder builder) =>
        builder.AddHocon(Config, HoconAddMode.Prepend).WithStrictSerialization();

    private static string Hocon()
    {
        var hocon = new StringBuilder();
        hocon.AppendLine("akka.actor {");
        hocon.AppendLine($"  serializers.{SerializerName} = \"{TypeName(typeof(SiyuSerializer))}\"");
        hocon.AppendLine("  serialization-bindings {");
        foreach (var type in SiyuSerializer.Manifests.Keys.OrderBy(t => t.FullName, StringComparer.Ordinal))
        {
            hocon.AppendLine($"    \"{TypeName(type)}\" = {SerializerName}");
        }
        hocon.AppendLine("  }");
        hocon.AppendLine("}");
        return hocon.ToString();
    }

    // "Namespace.Type, Assembly": what Type.GetType resolves, without a version to go stale.
    private static string TypeName(Type type) => $"{type.FullName}, {type.Assembly.GetName().Name}";
}
