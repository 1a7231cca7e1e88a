using System.Buffers.Binary;
using System.Text;
using Siyu.Actors.Storage;

namespace Siyu.Actors.Wire;

/// <summary>
/// Writes the compact binary wire format (<see cref="SiyuSerializer"/>): LEB128 varints, strings as
/// varint(UTF-8 length + 1) then the bytes (0 is null), instants as their clock ticks and offset.
/// One writer per thread is reused, so serializing a message allocates only its final byte array.
/// </summary>
internal sealed class WireWriter
{
    // Buffers that grew beyond this (a huge state) are dropped rather than kept for the thread.
    private const int KeepAtMost = 64 * 1024;

    [ThreadStatic]
    private static WireWriter? t_spare;

    private byte[] _buffer = new byte[4096];
    private int _length;

    public static WireWriter Rent()
    {
        var writer = t_spare ?? new WireWriter();
        t_spare = null; // a nested Rent (none today) gets its own
        writer._length = 0;
        return writer;
    }

    /// <summary>The bytes written, as a new array; the writer goes back to the thread.</summary>
    public byte[] ToArrayAndReturn()
    {
        var bytes = _buffer.AsSpan(0, _length).ToArray();
        if (_buffer.Length <= KeepAtMost)
        {
            t_spare = this;
        }
        return bytes;
    }

    public int Length => _length;

    private Span<byte> Reserve(int size)
    {
        if (_length + size > _buffer.Length)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + size));
        }
        return _buffer.AsSpan(_length, size);
    }

    public void Byte(byte value)
    {
        Reserve(1)[0] = value;
        _length++;
    }

    public void Bool(bool value) => Byte(value ? (byte)1 : (byte)0);

    public void VarUInt(ulong value)
    {
        var span = Reserve(10);
        var i = 0;
        while (value >= 0x80)
        {
            span[i++] = (byte)(value | 0x80);
            value >>= 7;
        }
        span[i++] = (byte)value;
        _length += i;
    }

    /// <summary>Zigzag, so small negative numbers stay short.</summary>
    public void VarInt(long value) => VarUInt((ulong)((value << 1) ^ (value >> 63)));

    public void Int64(long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(Reserve(8), value);
        _length += 8;
    }

    public void String(string? value)
    {
        if (value is null)
        {
            Byte(0);
            return;
        }
        var size = Encoding.UTF8.GetByteCount(value);
        VarUInt((ulong)size + 1);
        _length += Encoding.UTF8.GetBytes(value, Reserve(size));
    }

    /// <summary>A length-prefixed block of bytes (an embedded format of its own, e.g. a snapshot).</summary>
    public void Bytes(ReadOnlySpan<byte> value)
    {
        VarUInt((ulong)value.Length);
        value.CopyTo(Reserve(value.Length));
        _length += value.Length;
    }

    /// <summary>Clock ticks and offset minutes: exact, the offset kept (occurred_at keeps the producer's).</summary>
    public void Instant(DateTimeOffset value)
    {
        Int64(value.Ticks);
        VarInt((long)value.Offset.TotalMinutes);
    }

    public void Instant(DateTimeOffset? value)
    {
        Bool(value.HasValue);
        if (value is { } v)
        {
            Instant(v);
        }
    }

    public void Date(DateOnly? value)
    {
        Bool(value.HasValue);
        if (value is { } v)
        {
            VarUInt((ulong)v.DayNumber);
        }
    }

    /// <summary>
    /// A header byte (scale in bits 0-4, sign in bit 7, how many of the 96-bit integer's 32-bit
    /// words follow in bits 5-6), then those words as varints: 10.50 is 2 bytes, and exact (the
    /// scale is kept, so 10.50 stays 10.50).
    /// </summary>
    public void Decimal(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        System.Decimal.GetBits(value, bits);
        var (lo, mid, hi, flags) = ((uint)bits[0], (uint)bits[1], (uint)bits[2], bits[3]);
        var words = hi != 0 ? 3 : mid != 0 ? 2 : 1;
        var scale = (flags >> 16) & 0x1F;
        var negative = flags < 0;
        Byte((byte)(scale | ((words - 1) << 5) | (negative ? 0x80 : 0)));
        VarUInt(lo);
        if (words > 1)
        {
            VarUInt(mid);
        }
        if (words > 2)
        {
            VarUInt(hi);
        }
    }

    public void IdHash(IdHash value)
    {
        value.WriteTo(Reserve(Storage.IdHash.Size));
        _length += Storage.IdHash.Size;
    }
}
