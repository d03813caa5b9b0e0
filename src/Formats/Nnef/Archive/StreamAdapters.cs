using Microsoft.Win32.SafeHandles;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>Base of the forward-only read adapters below: not writable or seekable.</summary>
internal abstract class ForwardReadStream : Stream
{
    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    public abstract override int Read(Span<byte> buffer);

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

/// <summary>A read-only stream that yields <c>prefix</c> and then the rest of <c>inner</c> (bytes already consumed by a sniff).</summary>
internal sealed class PrefixedStream(byte[] prefix, Stream inner) : ForwardReadStream
{
    private int _prefixPos;

    public override int Read(Span<byte> buffer)
    {
        if (_prefixPos < prefix.Length)
        {
            int n = Math.Min(buffer.Length, prefix.Length - _prefixPos);
            prefix.AsSpan(_prefixPos, n).CopyTo(buffer);
            _prefixPos += n;
            return n;
        }

        return inner.Read(buffer);
    }
}

/// <summary>The data of a tar reader's current member, as a stream.</summary>
internal sealed class TarMemberStream(TarStreamReader reader) : ForwardReadStream
{
    public override int Read(Span<byte> buffer) => reader.Read(buffer);
}

/// <summary>Counts the bytes read through it (the compressed side of a gzip stream).</summary>
internal sealed class CountingReadStream(Stream inner) : ForwardReadStream
{
    /// <summary>Bytes read so far.</summary>
    public long Count { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        Count += n;
        return n;
    }
}

/// <summary>
/// The decompressed side of a gzip stream, refusing to expand beyond <see cref="DecompressionLimits"/> as bytes arrive.
/// </summary>
/// <param name="inner">The decompressing stream.</param>
/// <param name="compressed">Counter of the compressed bytes consumed.</param>
/// <param name="compressedLength">Total compressed size when known (a file), else the ratio applies to what was consumed so far.</param>
internal sealed class ExpansionGuard(Stream inner, CountingReadStream compressed, long? compressedLength) : ForwardReadStream
{
    /// <summary>Decompressed bytes produced so far.</summary>
    public long Produced { get; private set; }

    public override int Read(Span<byte> buffer)
    {
        int n = inner.Read(buffer);
        Produced += n;
        long basis = compressedLength ?? compressed.Count;
        if (!DecompressionLimits.Allows(Produced, basis))
        {
            throw new InvalidDataException(
                DecompressionLimits.Describe(Produced, basis, "the gzip stream")
                + " (if the archive is genuine, extract it with tar and read the folder)");
        }

        return n;
    }
}

/// <summary>
/// A seekable read-only stream over an open file handle, using positional reads; disposing it leaves the handle open
/// (tensor sources keep using it after the archive's headers have been scanned).
/// </summary>
internal sealed class HandleStream(SafeFileHandle handle, long length) : Stream
{
    private long _position;

    public override bool CanRead => true;

    public override bool CanSeek => true;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position
    {
        get => _position;
        set => _position = value >= 0 ? value : throw new ArgumentOutOfRangeException(nameof(value));
    }

    public override int Read(Span<byte> buffer)
    {
        if (_position >= length || buffer.IsEmpty)
        {
            return 0;
        }

        int n = RandomAccess.Read(handle, buffer[..(int)Math.Min(buffer.Length, length - _position)], _position);
        _position += n;
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override long Seek(long offset, SeekOrigin origin)
    {
        Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => _position + offset,
            _ => length + offset,
        };
        return _position;
    }

    public override void Flush()
    {
    }

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
