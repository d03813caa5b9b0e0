using System.Buffers.Binary;
using System.Text;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// Sits between the tar bytes and System.Formats.Tar's reader and follows the tar framing as the bytes pass, so that a
/// metadata entry (PAX <c>x</c>/<c>g</c>, GNU long name <c>L</c>/<c>K</c>) declaring more than
/// <see cref="MaxMetadataBytes"/> is refused before the reader allocates a buffer of that size (it rents up to 2 GiB
/// for one: found by fuzzing, a 28 KB <c>.tgz</c> cost 1 GiB). The framing: a 512-byte header, then its data rounded
/// up to 512 bytes; a PAX <c>size</c> record replaces the size of the entry that follows it. Headers that do not parse
/// are left for the reader to refuse.
/// </summary>
internal sealed class TarMetadataGuard(Stream inner) : ForwardReadStream
{
    /// <summary>Largest metadata entry accepted (real ones hold a path or a few attributes).</summary>
    internal const int MaxMetadataBytes = 1 << 20;

    private const int Block = 512;

    private readonly byte[] _header = new byte[Block];
    private long _position;
    private long _nextHeader;
    private byte[]? _pax;
    private long _paxStart;
    private long? _paxSize;

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        Observe(buffer[..n]);
        return n;
    }

    private void Observe(ReadOnlySpan<byte> bytes)
    {
        long start = _position;
        _position += bytes.Length;
        while (true)
        {
            if (_pax is not null && Copy(bytes, start, _paxStart, _pax))
            {
                _paxSize = PaxSize(_pax) ?? _paxSize;
                _pax = null;
            }

            if (_nextHeader >= _position || !Copy(bytes, start, _nextHeader, _header))
            {
                return;
            }

            OnHeader(_nextHeader);
        }
    }

    /// <summary>Copies the part of <paramref name="bytes"/> (at stream offset <paramref name="start"/>) that falls in the
    /// <paramref name="target"/> window beginning at <paramref name="at"/>; true once the window's last byte has passed.</summary>
    private bool Copy(ReadOnlySpan<byte> bytes, long start, long at, byte[] target)
    {
        long from = Math.Max(start, at), to = Math.Min(start + bytes.Length, at + target.Length);
        if (from < to)
        {
            bytes.Slice((int)(from - start), (int)(to - from)).CopyTo(target.AsSpan((int)(from - at)));
        }

        return start + bytes.Length >= at + target.Length;
    }

    private void OnHeader(long at)
    {
        char type = (char)_header[156];
        long? declared = Number(_header.AsSpan(124, 12));
        if (declared is not long size)
        {
            _nextHeader = long.MaxValue; // Unparseable: the reader refuses it; stop following.
            return;
        }

        if (type is 'x' or 'g' or 'L' or 'K')
        {
            if (size > MaxMetadataBytes)
            {
                throw new InvalidDataException(
                    $"the tar metadata entry at offset {at} (type '{type}') declares {size} bytes, above the {MaxMetadataBytes >> 20} MiB limit");
            }

            if (type == 'x' && size > 0)
            {
                _pax = new byte[size];
                _paxStart = at + Block;
            }
        }
        else if (_header.AsSpan().ContainsAnyExcept((byte)0))
        {
            size = _paxSize ?? size;
            _paxSize = null;
        }

        _nextHeader = at + Block + ((size + Block - 1) / Block * Block);
        if (_nextHeader < at)
        {
            _nextHeader = long.MaxValue;
        }
    }

    /// <summary>A tar number: octal digits (spaces and NULs around), or base-256 when the first byte has its top bit.</summary>
    private static long? Number(ReadOnlySpan<byte> field)
    {
        if ((field[0] & 0x80) != 0)
        {
            if ((field[0] & 0x40) != 0 || field[1..^8].ContainsAnyExcept((byte)0))
            {
                return null; // Negative or beyond 64 bits.
            }

            long big = BinaryPrimitives.ReadInt64BigEndian(field[^8..]);
            return big >= 0 ? big : null;
        }

        long value = 0;
        bool digits = false;
        foreach (byte b in field)
        {
            if (b is (byte)'0' or >= (byte)'1' and <= (byte)'7')
            {
                if (value > long.MaxValue >> 3)
                {
                    return null;
                }

                value = (value << 3) + (b - '0');
                digits = true;
            }
            else if (b is (byte)' ' or 0)
            {
                if (digits)
                {
                    break;
                }
            }
            else
            {
                return null;
            }
        }

        return value;
    }

    /// <summary>The <c>size</c> record of PAX extended attributes (<c>"len key=value\n"</c> records), if any.</summary>
    private static long? PaxSize(byte[] records)
    {
        foreach (string record in Encoding.UTF8.GetString(records).Split('\n'))
        {
            int space = record.IndexOf(' ');
            if (space > 0 && record.AsSpan(space + 1).StartsWith("size=") && long.TryParse(record.AsSpan(space + 6), out long size) && size >= 0)
            {
                return size;
            }
        }

        return null;
    }
}
