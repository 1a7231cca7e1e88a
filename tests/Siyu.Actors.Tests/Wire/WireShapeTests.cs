using System.Collections;
using System.Reflection;
using System.Text;
using System.Text.Json.Serialization;
using Akka.Actor;
using Siyu.Actors.Customers;
using Siyu.Actors.Wire;

namespace Siyu.Actors.Tests.Wire;

/// <summary>
/// The C# shape of everything that crosses nodes or is stored (<c>shapes.txt</c>): each manifest's
/// type and the persisted <see cref="CustomerState"/>, and every type reachable from them, with
/// their members, member types and enum values. The byte-level golden files guard what the
/// serializer writes; this one fails when a type changes under it (a member added, renamed,
/// retyped, an enum value reordered, a new event type), which a serializer that is not updated
/// would otherwise drop or misread without any golden byte changing.
/// </summary>
public sealed class WireShapeTests
{
    private const string FileName = "shapes.txt";

    [Fact]
    public void Every_wire_and_stored_type_has_the_shape_of_its_golden_file()
    {
        var now = Shapes.Describe();
        var golden = Golden.Read(FileName);
        if (golden is null)
        {
            Golden.Create(FileName, Encoding.UTF8.GetBytes(now));
            return;
        }
        var expected = Lines(Encoding.UTF8.GetString(golden));
        var actual = Lines(now);
        var removed = expected.Except(actual).ToList();
        var added = actual.Except(expected).ToList();
        Assert.True(removed.Count == 0 && added.Count == 0 && expected.SequenceEqual(actual),
            "A type that crosses nodes or is stored changed shape (shapes.txt):\n" +
            string.Join('\n', removed.Select(l => "  - " + l).Concat(added.Select(l => "  + " + l))) +
            (removed.Count == 0 && added.Count == 0 ? "\n  (same lines, another order)" : "") + "\n" +
            "Bytes of these types are on other nodes (a rolling upgrade) or in the database. Make SiyuSerializer (or the " +
            "CustomerSnapshot JSON) carry the change in a new version beside the old one (a new manifest such as 'cb2', or a " +
            "new snapshot format), keep reading the old bytes, add a golden file of the new version (the snapshot's JSON may " +
            "instead take an optional member, omitted when empty, into its current format: add a sample that fills it to " +
            "WireSamples.Snapshots()); then delete " +
            $"tests/Siyu.Actors.Tests/Wire/{FileName}, run this test to write it again, review the difference and commit it.");
    }

    [Fact]
    public void The_shape_description_sees_members_enums_subtypes_and_collections()
    {
        // The describer itself: a change it cannot see would never fail the test above.
        var text = Shapes.Describe();
        Assert.Contains("cb1 = Siyu.Actors.Customers.Commands.CustomerBatch", text);
        Assert.Contains("snapshot-1 = Siyu.Actors.Customers.CustomerState", text);
        Assert.Contains("  Items: IReadOnlyList<Siyu.Actors.Customers.Commands.BatchItem>", text);
        Assert.Contains("  Ids: EquatableArray<Siyu.Actors.Customers.LinkedId>", text);
        Assert.Contains("  BirthdayAt: DateTimeOffset?", text);
        Assert.Contains("  ReplyTo: IActorRef", text);
        Assert.Contains("  Reason: String?", text);
        Assert.Contains("  Owners: IReadOnlyList<String?>", text);
        Assert.Contains("  Rejected = 1", text);
        Assert.Contains("Siyu.Contracts.Events.OrderPlaced : Siyu.Contracts.Events.InputEvent", text);
        Assert.Contains("Siyu.Contracts.Events.InputEvent (abstract; subtypes ", text);
    }

    private static List<string> Lines(string text) =>
        text.Replace("\r\n", "\n", StringComparison.Ordinal).Split('\n', StringSplitOptions.RemoveEmptyEntries).ToList();
}

/// <summary>Describes types by reflection, independent of any serializer.</summary>
public static class Shapes
{
    public static string Describe()
    {
        var roots = SiyuSerializer.Manifests.OrderBy(m => m.Value, StringComparer.Ordinal)
            .Select(m => (Name: m.Value, Type: m.Key))
            .Append(($"snapshot-{CustomerSnapshot.CurrentFormat}", typeof(CustomerState)))
            .ToList();
        var text = new StringBuilder();
        text.AppendLine("# What crosses nodes (SiyuSerializer's manifests) and what is stored (the customer snapshot), and every type they hold.");
        text.AppendLine("# Written by WireShapeTests; see there before changing it.");
        foreach (var (name, type) in roots)
        {
            text.AppendLine($"{name} = {Name(type)}");
        }
        var seen = new SortedDictionary<string, Type>(StringComparer.Ordinal);
        foreach (var (_, type) in roots)
        {
            Collect(type, seen);
        }
        foreach (var type in seen.Values)
        {
            text.AppendLine();
            Describe(type, text);
        }
        return text.ToString();
    }

    private static bool IsOurs(Type type) => type.Namespace?.StartsWith("Siyu.", StringComparison.Ordinal) == true && !IsCollection(type);

    private static bool IsCollection(Type type) => type != typeof(string) && typeof(IEnumerable).IsAssignableFrom(type);

    private static void Collect(Type type, SortedDictionary<string, Type> seen)
    {
        type = Nullable.GetUnderlyingType(type) ?? type;
        if (type.IsArray)
        {
            Collect(type.GetElementType()!, seen);
            return;
        }
        foreach (var argument in type.IsGenericType ? type.GetGenericArguments() : [])
        {
            Collect(argument, seen);
        }
        if (!IsOurs(type) || !seen.TryAdd(Name(type), type))
        {
            return;
        }
        foreach (var subtype in Subtypes(type))
        {
            Collect(subtype, seen);
        }
        if (type.BaseType is { } baseType && IsOurs(baseType))
        {
            Collect(baseType, seen);
        }
        foreach (var (_, memberType, _) in Members(type))
        {
            Collect(memberType, seen);
        }
    }

    private static void Describe(Type type, StringBuilder text)
    {
        if (type.IsEnum)
        {
            text.AppendLine($"{Name(type)} (enum {Name(Enum.GetUnderlyingType(type))})");
            foreach (var field in type.GetFields(BindingFlags.Public | BindingFlags.Static).OrderBy(f => f.MetadataToken))
            {
                text.AppendLine($"  {field.Name} = {Convert.ToInt64(field.GetRawConstantValue(), System.Globalization.CultureInfo.InvariantCulture)}");
            }
            return;
        }
        var header = Name(type);
        if (type.BaseType is { } baseType && IsOurs(baseType))
        {
            header += " : " + Name(baseType);
        }
        var subtypes = Subtypes(type).Select(t => Name(t)).Order(StringComparer.Ordinal).ToList();
        if (type.IsAbstract || type.IsInterface)
        {
            header += $" (abstract; subtypes {string.Join(", ", subtypes)})";
        }
        text.AppendLine(header);
        foreach (var (name, memberType, notes, nullability) in MembersWithNullability(type))
        {
            text.AppendLine($"  {name}: {Name(memberType, nullability)}{notes}");
        }
    }

    /// <summary>
    /// The data of a type, declared on it (a base's members are listed under the base): instance
    /// fields and the properties that store something (settable, init-only, or auto get-only), in
    /// declaration order. Computed properties hold nothing and are left out.
    /// </summary>
    private static IEnumerable<(string Name, Type Type, string Notes)> Members(Type type) =>
        MembersWithNullability(type).Select(m => (m.Name, m.Type, m.Notes));

    private static readonly NullabilityInfoContext Nullability = new();

    private static IEnumerable<(string Name, Type Type, string Notes, NullabilityInfo Nullability)> MembersWithNullability(Type type)
    {
        const BindingFlags declared = BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly;
        var backing = type.GetFields(BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Select(f => f.Name).ToHashSet(StringComparer.Ordinal);
        var properties = type.GetProperties(declared)
            .Where(p => p.GetIndexParameters().Length == 0 && (p.SetMethod is not null || backing.Contains($"<{p.Name}>k__BackingField")))
            .Select(p => (Token: p.MetadataToken, Member: (MemberInfo)p, Type: p.PropertyType, Nullability: Nullability.Create(p)));
        var fields = type.GetFields(declared).Select(f => (Token: f.MetadataToken, Member: (MemberInfo)f, Type: f.FieldType, Nullability: Nullability.Create(f)));
        return properties.Concat(fields).OrderBy(m => m.Token).Select(m => (m.Member.Name, m.Type, Notes(m.Member), m.Nullability));
    }

    private static string Notes(MemberInfo member)
    {
        var notes = new List<string>();
        if (member.GetCustomAttribute<JsonIgnoreAttribute>() is { } ignore)
        {
            notes.Add($"json ignored {ignore.Condition}");
        }
        if (member.GetCustomAttribute<JsonPropertyNameAttribute>() is { } rename)
        {
            notes.Add($"json \"{rename.Name}\"");
        }
        if (member.GetCustomAttribute<JsonConverterAttribute>() is { ConverterType: { } converter })
        {
            notes.Add($"json converter {converter.Name}");
        }
        return notes.Count == 0 ? "" : $" [{string.Join("; ", notes)}]";
    }

    /// <summary>The concrete and abstract types of the same assembly that derive from <paramref name="type"/> directly.</summary>
    private static IEnumerable<Type> Subtypes(Type type) =>
        type.IsSealed || type.IsValueType || type.IsEnum
            ? []
            : type.Assembly.GetTypes().Where(t => t.BaseType == type || (type.IsInterface && t.GetInterfaces().Contains(type) && !t.IsInterface));

    /// <summary>The type's name; with <paramref name="nullability"/>, a nullable reference (string?, a list of string?) says so.</summary>
    private static string Name(Type type, NullabilityInfo? nullability = null)
    {
        if (Nullable.GetUnderlyingType(type) is { } inner)
        {
            return Name(inner) + "?";
        }
        var mark = nullability is { ReadState: NullabilityState.Nullable } && !type.IsValueType ? "?" : "";
        if (type.IsArray)
        {
            return Name(type.GetElementType()!, nullability?.ElementType) + "[]" + mark;
        }
        if (typeof(IActorRef).IsAssignableFrom(type))
        {
            return nameof(IActorRef) + mark;
        }
        var name = IsOurs(type) || type.IsEnum && type.Namespace?.StartsWith("Siyu.", StringComparison.Ordinal) == true
            ? type.FullName!.Split('`')[0].Replace('+', '.')
            : type.Name.Split('`')[0];
        if (type.IsGenericType)
        {
            var arguments = type.GetGenericArguments();
            var infos = nullability?.GenericTypeArguments;
            name = $"{name}<{string.Join(", ", arguments.Select((a, i) => Name(a, infos is { Length: > 0 } && i < infos.Length ? infos[i] : null)))}>";
        }
        return name + mark;
    }
}
