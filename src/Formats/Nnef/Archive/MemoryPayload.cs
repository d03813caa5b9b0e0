using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Nnef.Archive;

/// <summary>
/// Bytes of one archive member held in memory (members of a <c>.tgz</c> cannot be mapped). Up to 1 GiB lives in one
/// array, so <see cref="TensorData.TryGetSpan"/> succeeds; larger payloads are split into 1 GiB chunks. Buffers grow
/// only as data actually arrives (beyond a first 16 MiB), so a member whose header claims a huge size costs little until it delivers it.
/// </summary>
internal sealed class MemoryPayload : TensorData
{
    /// <summary>Largest chunk.</summary>
    internal const int ChunkSize = 1 << 30;

    /// <summary>
    /// First allocation for a member: members up to this size get exactly one buffer; larger ones grow by doubling
    /// as bytes arrive, so a header that lies about the size costs at most this much.
    /// </summary>
    private const int InitialBuffer = 16 << 20;

    private readonly byte[][] _chunks;
    private readonly long _length;

    private MemoryPayload(byte[][] chunks, long length)
    {
        _chunks = chunks;
        _length = length;
    }

    /// <inheritdoc />
    public override long ByteLength => _length;

    /// <summary>Reads exactly <paramref name="length"/> bytes; throws <see cref="EndOfStreamException"/> if the stream ends first.</summary>
    public static MemoryPayload ReadExactly(Stream stream, long length)
    {
        var chunks = new List<byte[]>();
        for (long remaining = length; remaining > 0;)
        {
            int target = (int)Math.Min(remaining, ChunkSize);
            chunks.Add(ReadGrowing(stream, target));
            remaining -= target;
        }

        return new MemoryPayload([.. chunks], length);
    }

    /// <summary>Wraps bytes already in memory.</summary>
    public static MemoryPayload Of(byte[] bytes) => new([bytes], bytes.Length);

    /// <inheritdoc />
    public override void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        while (!destination.IsEmpty)
        {
            int chunk = (int)(offset / ChunkSize);
            int within = (int)(offset % ChunkSize);
            int n = Math.Min(destination.Length, _chunks[chunk].Length - within);
            _chunks[chunk].AsSpan(within, n).CopyTo(destination);
            destination = destination[n..];
            offset += n;
        }
    }

    /// <inheritdoc />
    public override bool TryGetSpan(out ReadOnlySpan<byte> bytes)
    {
        if (_chunks.Length <= 1)
        {
            bytes = _chunks.Length == 0 ? ReadOnlySpan<byte>.Empty : _chunks[0];
            return true;
        }

        bytes = default;
        return false;
    }

    /// <summary>Writes a byte range to a stream.</summary>
    public void CopyTo(long offset, long count, Stream destination)
    {
        CheckRange(offset, count);
        while (count > 0)
        {
            int chunk = (int)(offset / ChunkSize);
            int within = (int)(offset % ChunkSize);
            int n = (int)Math.Min(count, _chunks[chunk].Length - within);
            destination.Write(_chunks[chunk], within, n);
            offset += n;
            count -= n;
        }
    }

    private static byte[] ReadGrowing(Stream stream, int target)
    {
        byte[] buffer = new byte[Math.Min(target, InitialBuffer)];
        int filled = 0;
        while (filled < target)
        {
            if (filled == buffer.Length)
            {
                Array.Resize(ref buffer, (int)Math.Min(target, 2L * buffer.Length));
            }

            int n = stream.Read(buffer, filled, buffer.Length - filled);
            if (n <= 0)
            {
                throw new EndOfStreamException($"stream ended after {filled} of {target} bytes");
            }

            filled += n;
        }

        return buffer;
    }
}
