using System.Buffers;
using System.Globalization;
using System.Text;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>One member header of a tar archive, with PAX and GNU long names and sizes applied.</summary>
/// <param name="Name">Path as stored (UTF-8).</param>
/// <param name="Type">Type flag: <c>'0'</c> regular file (also NUL and <c>'7'</c>), <c>'5'</c> directory, <c>'1'</c>/<c>'2'</c> links, ...</param>
/// <param name="Size">Data bytes that follow the header.</param>
/// <param name="DataOffset">Position of the first data byte from the start of the tar stream.</param>
internal readonly record struct TarMember(string Name, char Type, long Size, long DataOffset)
{
    /// <summary>True for the three regular-file type flags.</summary>
    public bool IsRegularFile => Type is '0' or '\0' or '7';
}

/// <summary>A malformed tar archive; <see cref="Member"/> names the member at fault when one is known.</summary>
internal sealed class TarFormatException(string message, string? member) : IOException(message)
{
    /// <summary>Path of the member whose header is at fault, if known.</summary>
    public string? Member { get; } = member;
}

/// <summary>
/// Reads tar headers (POSIX ustar and PAX, GNU and v7) from a stream, forward only, and hands out each member's data
/// in bounded pieces: it never buffers a member. A member's data that the caller does not consume is skipped (by
/// seeking when the stream can seek, else by reading it into a small buffer), so the headers of a multi-gigabyte
/// archive cost a few kilobytes. Every size a header declares is checked before it is used: PAX and GNU long-name
/// records are limited to <see cref="MaxMetadataBytes"/>, and on a stream of known length no member may end beyond
/// it. After the end-of-archive blocks at most <see cref="MaxTrailingBytes"/> more bytes are accepted, so a gzip
/// stream that goes on expanding after its archive is refused rather than read to its end. Malformed input raises
/// <see cref="InvalidDataException"/> (truncation: <see cref="EndOfStreamException"/>; a member that does not fit the
/// archive: <see cref="TarFormatException"/>); the caller adds the file name.
/// </summary>
internal sealed class TarStreamReader
{
    /// <summary>Largest PAX extended header or GNU long name accepted.</summary>
    internal const int MaxMetadataBytes = 1 << 20;

    /// <summary>Largest tail (record padding, usually zeros) accepted after the end-of-archive blocks.</summary>
    internal const int MaxTrailingBytes = 1 << 20;

    private const int Block = 512;

    private readonly Stream _stream;
    private readonly long? _length;
    private readonly byte[] _header = new byte[Block];
    private long _position;
    private long _remaining;
    private long _padding;
    private bool _ended;

    /// <param name="stream">The tar bytes, positioned at the first header.</param>
    /// <param name="length">Length of the tar stream when known (a file): members must lie within it, and skipped data is sought over.</param>
    public TarStreamReader(Stream stream, long? length)
    {
        _stream = stream;
        _length = length;
    }

    /// <summary>Data bytes of the current member not yet read.</summary>
    public long Remaining => _remaining;

    /// <summary>The next member, or null at the end of the archive (after its trailing bytes were checked).</summary>
    public TarMember? Next()
    {
        if (_ended)
        {
            return null;
        }

        Skip(_remaining + _padding);
        _remaining = _padding = 0;
        string? longName = null;
        long? paxSize = null;
        string? paxPath = null;
        while (true)
        {
            long headerAt = _position;
            if (!ReadHeader())
            {
                return End();
            }

            char type = (char)_header[156];
            long size = ParseSize(_header.AsSpan(124, 12), headerAt);
            long padding = (Block - (size % Block)) % Block;
            CheckFits(size, headerAt, type is 'x' or 'g' or 'L' or 'K' ? null : paxPath ?? longName ?? HeaderName(headerAt));

            switch (type)
            {
                case 'x':
                case 'g':
                {
                    byte[] records = ReadMetadata(size, padding, headerAt, "PAX extended header");
                    if (type == 'x')
                    {
                        ParsePax(records, headerAt, ref paxPath, ref paxSize);
                    }

                    continue;
                }

                case 'L':
                {
                    byte[] name = ReadMetadata(size, padding, headerAt, "GNU long name");
                    int end = Array.IndexOf(name, (byte)0);
                    longName = Utf8(name.AsSpan(0, end < 0 ? name.Length : end), headerAt);
                    continue;
                }

                case 'K':
                    // GNU long link name: links are refused by the caller, the name itself is not needed.
                    ReadMetadata(size, padding, headerAt, "GNU long link name");
                    continue;
            }

            if (paxSize is long sizeFromPax)
            {
                size = sizeFromPax;
                padding = (Block - (size % Block)) % Block;
                CheckFits(size, headerAt, paxPath ?? longName ?? HeaderName(headerAt));
            }

            _remaining = size;
            _padding = padding;
            return new TarMember(paxPath ?? longName ?? HeaderName(headerAt), type, size, _position);
        }
    }

    /// <summary>Skips what is left of the current member's data (seeking when the stream allows it).</summary>
    public void SkipData()
    {
        Skip(_remaining);
        _remaining = 0;
    }

    /// <summary>Reads up to <c>buffer.Length</c> bytes of the current member's data; 0 at its end.</summary>
    public int Read(Span<byte> buffer)
    {
        if (_remaining == 0 || buffer.IsEmpty)
        {
            return 0;
        }

        int n = _stream.Read(buffer[..(int)Math.Min(buffer.Length, _remaining)]);
        if (n <= 0)
        {
            throw new EndOfStreamException($"the archive ends {_remaining} bytes before the end of this member");
        }

        _position += n;
        _remaining -= n;
        return n;
    }

    /// <summary>Fills <paramref name="buffer"/> from the current member's data, or as much as it has left; returns the count.</summary>
    public int ReadAtMost(Span<byte> buffer)
    {
        int filled = 0;
        while (filled < buffer.Length && _remaining > 0)
        {
            filled += Read(buffer[filled..]);
        }

        return filled;
    }

    /// <summary>
    /// Passes the next <paramref name="count"/> bytes of the current member's data to <paramref name="sink"/> in
    /// pieces of at most 1 MiB.
    /// </summary>
    public void CopyData<TState>(long count, TState state, ReadOnlySpanAction<byte, TState> sink)
    {
        if (count > _remaining)
        {
            throw new ArgumentOutOfRangeException(nameof(count), $"{count} bytes asked, {_remaining} left in the member");
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent((int)Math.Min(1 << 20, Math.Max(count, 1)));
        try
        {
            while (count > 0)
            {
                int n = Read(buffer.AsSpan(0, (int)Math.Min(buffer.Length, count)));
                sink(buffer.AsSpan(0, n), state);
                count -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    // On a stream of known length, the data a header declares must lie within it: checked before anything is read.
    private void CheckFits(long size, long headerAt, string? member)
    {
        if (_length is long total && size > total - _position)
        {
            throw new TarFormatException(
                $"the tar header at offset {headerAt} declares {size} bytes of data, but the archive ends {total - _position} bytes after it",
                member);
        }
    }

    private TarMember? End()
    {
        _ended = true;
        if (_length is not null)
        {
            // A file of known length: whatever follows the end blocks is never read, so it costs nothing.
            return null;
        }

        byte[] sink = ArrayPool<byte>.Shared.Rent(1 << 16);
        try
        {
            long trailing = 0;
            for (int n; (n = _stream.Read(sink, 0, sink.Length)) > 0;)
            {
                trailing += n;
                if (trailing > MaxTrailingBytes)
                {
                    throw new InvalidDataException(
                        $"the stream goes on for more than {MaxTrailingBytes >> 20} MiB after the end of the tar archive at offset {_position}; "
                        + "no member accounts for those bytes (a decompression bomb?)");
                }
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(sink);
        }

        return null;
    }

    // Reads the next 512-byte header; false at the end of the archive (a zero block, or the end of the stream).
    private bool ReadHeader()
    {
        int got = _stream.ReadAtLeast(_header, Block, throwOnEndOfStream: false);
        _position += got;
        if (got == 0)
        {
            return false;
        }

        if (got < Block)
        {
            throw new EndOfStreamException($"the archive ends inside a tar header ({got} of {Block} bytes at offset {_position - got})");
        }

        if (!_header.AsSpan().ContainsAnyExcept((byte)0))
        {
            // The first of the two end blocks; the second, if present, is part of the tail checked by End().
            return false;
        }

        VerifyChecksum(_position - Block);
        return true;
    }

    private void VerifyChecksum(long at)
    {
        ReadOnlySpan<byte> field = _header.AsSpan(148, 8);
        long stored = ParseOctal(field, at, "checksum");
        long unsigned = 0, signed = 0;
        for (int i = 0; i < Block; i++)
        {
            byte b = i is >= 148 and < 156 ? (byte)' ' : _header[i];
            unsigned += b;
            signed += (sbyte)b;
        }

        if (stored != unsigned && stored != signed)
        {
            throw new InvalidDataException($"tar header checksum mismatch at offset {at} (not a tar archive, or a corrupt one)");
        }
    }

    private string HeaderName(long at)
    {
        string name = NulTerminated(_header.AsSpan(0, 100), at);
        bool posix = _header.AsSpan(257, 6).SequenceEqual("ustar\0"u8);
        if (posix)
        {
            string prefix = NulTerminated(_header.AsSpan(345, 155), at);
            if (prefix.Length > 0)
            {
                name = prefix + "/" + name;
            }
        }

        return name;
    }

    private byte[] ReadMetadata(long size, long padding, long at, string what)
    {
        if (size > MaxMetadataBytes)
        {
            throw new InvalidDataException($"the {what} at offset {at} declares {size} bytes, above the {MaxMetadataBytes >> 20} MiB limit");
        }

        byte[] data = new byte[size];
        int got = _stream.ReadAtLeast(data, data.Length, throwOnEndOfStream: false);
        _position += got;
        if (got < size)
        {
            throw new EndOfStreamException($"the archive ends inside the {what} at offset {at}");
        }

        Skip(padding);
        return data;
    }

    private static void ParsePax(byte[] records, long at, ref string? path, ref long? size)
    {
        ReadOnlySpan<byte> rest = records;
        while (!rest.IsEmpty)
        {
            int space = rest.IndexOf((byte)' ');
            if (space <= 0 || !int.TryParse(rest[..space], NumberStyles.None, CultureInfo.InvariantCulture, out int length)
                || length <= space + 1 || length > rest.Length || rest[length - 1] != (byte)'\n')
            {
                throw new InvalidDataException($"malformed PAX record in the extended header at offset {at}");
            }

            ReadOnlySpan<byte> record = rest[(space + 1)..(length - 1)];
            int eq = record.IndexOf((byte)'=');
            if (eq <= 0)
            {
                throw new InvalidDataException($"malformed PAX record in the extended header at offset {at}");
            }

            ReadOnlySpan<byte> key = record[..eq];
            ReadOnlySpan<byte> value = record[(eq + 1)..];
            if (key.SequenceEqual("path"u8))
            {
                path = Utf8(value, at);
            }
            else if (key.SequenceEqual("size"u8))
            {
                if (!long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out long parsed))
                {
                    throw new InvalidDataException($"PAX size '{Encoding.ASCII.GetString(value)}' at offset {at} is not a byte count");
                }

                size = parsed;
            }

            rest = rest[length..];
        }
    }

    private static long ParseSize(ReadOnlySpan<byte> field, long at)
    {
        if ((field[0] & 0x80) == 0)
        {
            return ParseOctal(field, at, "size");
        }

        // GNU base-256: big-endian two's complement in the remaining bits; a negative size is malformed.
        if ((field[0] & 0x40) != 0)
        {
            throw new InvalidDataException($"negative size in the tar header at offset {at}");
        }

        long value = field[0] & 0x3F;
        for (int i = 1; i < field.Length; i++)
        {
            if (value > (long.MaxValue >> 8))
            {
                throw new InvalidDataException($"size too large in the tar header at offset {at}");
            }

            value = (value << 8) | field[i];
        }

        return value;
    }

    private static long ParseOctal(ReadOnlySpan<byte> field, long at, string what)
    {
        field = field.Trim((byte)' ').TrimEnd((byte)0).Trim((byte)' ');
        long value = 0;
        foreach (byte b in field)
        {
            if (b is < (byte)'0' or > (byte)'7' || value > (long.MaxValue >> 3))
            {
                throw new InvalidDataException($"bad {what} field in the tar header at offset {at} (not a tar archive?)");
            }

            value = (value << 3) | (uint)(b - '0');
        }

        return value;
    }

    private static string NulTerminated(ReadOnlySpan<byte> field, long at)
    {
        int end = field.IndexOf((byte)0);
        return Utf8(end < 0 ? field : field[..end], at);
    }

    private static string Utf8(ReadOnlySpan<byte> bytes, long at)
    {
        try
        {
            return new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (DecoderFallbackException)
        {
            throw new InvalidDataException($"a member name in the tar header at offset {at} is not valid UTF-8");
        }
    }

    private void Skip(long count)
    {
        if (count <= 0)
        {
            return;
        }

        if (_length is not null && _stream.CanSeek)
        {
            _stream.Seek(count, SeekOrigin.Current);
            _position += count;
            return;
        }

        byte[] sink = ArrayPool<byte>.Shared.Rent((int)Math.Min(1 << 16, count));
        try
        {
            while (count > 0)
            {
                int n = _stream.Read(sink, 0, (int)Math.Min(sink.Length, count));
                if (n <= 0)
                {
                    throw new EndOfStreamException($"the archive ends {count} bytes before the end of a member");
                }

                _position += n;
                count -= n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(sink);
        }
    }
}
