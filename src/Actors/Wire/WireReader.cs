using System.Buffers.Binary;
using System.Runtime.Serialization;
using System.Text;
using Siyu.Actors.Storage;

namespace Siyu.Actors.Wire;

/// <summary>Reads what <see cref="WireWriter"/> wrote; malformed or truncated input is a <see cref="SerializationException"/>.</summary>
internal ref struct WireReader(ReadOnlySpan<byte> bytes)
{
    private readonly ReadOnlySpan<byte> _bytes = bytes;
    private int _position;

    private ReadOnlySpan<byte> Take(int size)
    {
        if (size < 0 || size > _bytes.Length - _position)
        {
            throw new SerializationException($"truncated: {size} more bytes expected at {_position} of {_bytes.Length}");
        }
        var span = _bytes.Slice(_position, size);
        _position += size;
        return span;
    }

    /// <summary>Everything was read: trailing bytes mean the writer and the reader disagree on the shape.</summary>
    public readonly void End()
    {
        if (_position != _bytes.Length)
        {
            throw new SerializationException($"{_bytes.Length - _position} unread bytes at the end");
        }
    }

    public byte Byte() => Take(1)[0];

    public bool Bool() => Byte() switch
    {
        0 => false,
        1 => true,
        var b => throw new SerializationException($"{b} is not a boolean"),
    };

    public ulong VarUInt()
    {
        ulong value = 0;
        for (var shift = 0; shift < 70; shift += 7)
        {
            var b = Byte();
            value |= (ulong)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
        throw new SerializationException("a varint is longer than 10 bytes");
    }

    public long VarInt()
    {
        var v = VarUInt();
        return (long)(v >> 1) ^ -(long)(v & 1);
    }

    /// <summary>A count or a length, bounded by what is left to read (each element takes at least one byte).</summary>
    public int Count()
    {
        var n = VarUInt();
        return n <= (ulong)(_bytes.Length - _position) ? (int)n : throw new SerializationException($"a count of {n} exceeds the {_bytes.Length - _position} bytes left");
    }

    public uint UInt32() => VarUInt() is var v && v <= uint.MaxValue ? (uint)v : throw new SerializationException($"{v} does not fit 32 bits");

    public int Int32() => VarInt() is var v && v is >= int.MinValue and <= int.MaxValue ? (int)v : throw new SerializationException($"{v} does not fit 32 bits");

    public long Int64() => BinaryPrimitives.ReadInt64LittleEndian(Take(8));

    public string? NullableString()
    {
        var n = VarUInt();
        return n == 0 ? null : Encoding.UTF8.GetString(Take(checked((int)(n - 1))));
    }

    public string String() => NullableString() ?? throw new SerializationException("a required string is null");

    public ReadOnlySpan<byte> Bytes() => Take(Count());

    public DateTimeOffset Instant()
    {
        var ticks = Int64();
        var offset = VarInt();
        try
        {
            return new DateTimeOffset(ticks, TimeSpan.FromMinutes(offset));
        }
        catch (ArgumentException e)
        {
            throw new SerializationException($"not an instant: ticks {ticks}, offset {offset} min", e);
        }
    }

    public DateTimeOffset? NullableInstant() => Bool() ? Instant() : null;

    public DateOnly? Date()
    {
        if (!Bool())
        {
            return null;
        }
        var day = VarUInt();
        return day <= (ulong)DateOnly.MaxValue.DayNumber ? DateOnly.FromDayNumber((int)day) : throw new SerializationException($"day {day} is out of range");
    }

    public decimal Decimal()
    {
        var header = Byte();
        var scale = (byte)(header & 0x1F);
        var words = ((header >> 5) & 0x3) + 1;
        if (scale > 28 || words > 3)
        {
            throw new SerializationException($"not a decimal header: 0x{header:x2}");
        }
        var lo = UInt32();
        var mid = words > 1 ? UInt32() : 0;
        var hi = words > 2 ? UInt32() : 0;
        return new decimal((int)lo, (int)mid, (int)hi, (header & 0x80) != 0, scale);
    }

    public IdHash IdHash() => Storage.IdHash.FromBytes(Take(Storage.IdHash.Size));
}
