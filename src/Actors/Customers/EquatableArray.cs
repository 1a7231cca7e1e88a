using System.Collections;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Siyu.Actors.Customers;

/// <summary>
/// An immutable array with value equality, so that records holding collections (the customer
/// state, its domain events) compare by content: a snapshot that round-trips is Equal to the
/// original, and "did Decide change anything" is a plain comparison. It is one reference wide;
/// <c>default</c> is the empty array and allocates nothing, which keeps a resident profile small.
/// The wrapped array is never exposed for writing.
/// </summary>
[JsonConverter(typeof(EquatableArrayJsonConverterFactory))]
[CollectionBuilder(typeof(EquatableArray), nameof(EquatableArray.Create))]
public readonly struct EquatableArray<T> : IEquatable<EquatableArray<T>>, IReadOnlyList<T>
    where T : IEquatable<T>
{
    private readonly T[]? _items;

    /// <summary>Takes ownership of <paramref name="items"/>: the caller must not keep writing to it.</summary>
    internal EquatableArray(T[] items) => _items = items.Length == 0 ? null : items;

    /// <summary>
    /// A copy of <paramref name="items"/>. Also how Akka's default (Newtonsoft) serializer builds
    /// one when a message crosses nodes: without a public IEnumerable constructor it cannot, and
    /// every remote message holding ids failed to deserialize (found by the two-node test).
    /// </summary>
    public EquatableArray(IEnumerable<T> items) : this(items.ToArray())
    {
    }

    public static EquatableArray<T> Empty => default;

    public int Count => _items?.Length ?? 0;

    public bool IsEmpty => _items is null;

    public T this[int index] => (_items ?? [])[index];

    public ReadOnlySpan<T> AsSpan() => _items;

    public bool Equals(EquatableArray<T> other) => AsSpan().SequenceEqual(other.AsSpan());

    public override bool Equals(object? obj) => obj is EquatableArray<T> other && Equals(other);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var item in AsSpan())
        {
            hash.Add(item);
        }
        return hash.ToHashCode();
    }

    public static bool operator ==(EquatableArray<T> left, EquatableArray<T> right) => left.Equals(right);

    public static bool operator !=(EquatableArray<T> left, EquatableArray<T> right) => !left.Equals(right);

    /// <summary>A struct enumerator: <c>foreach</c> over the state's arrays allocates nothing (the interface one would, per loop).</summary>
    public Enumerator GetEnumerator() => new(_items);

    IEnumerator<T> IEnumerable<T>.GetEnumerator() => ((IEnumerable<T>)(_items ?? [])).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => ((IEnumerable<T>)this).GetEnumerator();

    /// <summary>A copy of the items (for building the next version).</summary>
    public T[] ToArray() => AsSpan().ToArray();

    /// <summary>The backing array itself (empty when none), for writers that only read it (JSON); never mutate it.</summary>
    internal T[] Backing => _items ?? [];

    public override string ToString() => $"[{string.Join(", ", AsSpan().ToArray())}]";

    public struct Enumerator(T[]? items)
    {
        private int _index = -1;

        public readonly T Current => items![_index];

        public bool MoveNext() => items is not null && ++_index < items.Length;
    }
}

public static class EquatableArray
{
    public static EquatableArray<T> Create<T>(ReadOnlySpan<T> items) where T : IEquatable<T> => new(items.ToArray());

    public static EquatableArray<T> ToEquatableArray<T>(this IEnumerable<T> items) where T : IEquatable<T> => new(items.ToArray());

    /// <summary>Wraps an array the caller has just built and will not touch again (no copy).</summary>
    internal static EquatableArray<T> Own<T>(T[] items) where T : IEquatable<T> => new(items);
}

/// <summary>Writes an <see cref="EquatableArray{T}"/> as a plain JSON array (source-generated element metadata).</summary>
public sealed class EquatableArrayJsonConverterFactory : JsonConverterFactory
{
    public override bool CanConvert(Type typeToConvert) =>
        typeToConvert.IsGenericType && typeToConvert.GetGenericTypeDefinition() == typeof(EquatableArray<>);

    public override JsonConverter CreateConverter(Type typeToConvert, JsonSerializerOptions options) =>
        (JsonConverter)Activator.CreateInstance(
            typeof(EquatableArrayJsonConverter<>).MakeGenericType(typeToConvert.GetGenericArguments()[0]))!;
}

internal sealed class EquatableArrayJsonConverter<T> : JsonConverter<EquatableArray<T>>
    where T : IEquatable<T>
{
    public override EquatableArray<T> Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.Null)
        {
            return default;
        }
        var items = JsonSerializer.Deserialize(ref reader, ArrayInfo(options));
        return items is null ? default : new EquatableArray<T>(items);
    }

    public override void Write(Utf8JsonWriter writer, EquatableArray<T> value, JsonSerializerOptions options) =>
        JsonSerializer.Serialize(writer, value.Backing, ArrayInfo(options)); // no copy: every save writes the whole state

    // The element metadata comes from the source-generated context (T[] is registered there).
    private static System.Text.Json.Serialization.Metadata.JsonTypeInfo<T[]> ArrayInfo(JsonSerializerOptions options) =>
        (System.Text.Json.Serialization.Metadata.JsonTypeInfo<T[]>)options.GetTypeInfo(typeof(T[]));
}
