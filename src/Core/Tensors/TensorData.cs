namespace TorchToNnef.Tensors;

/// <summary>
/// The bytes behind a tensor: an owned (pooled) buffer, or a read-only region of a memory-mapped file.
/// Consumers that stream large tensors use <see cref="Read"/> in windows (a positional read that does not grow the
/// process's resident set); consumers that want zero-copy access use <see cref="TryGetSpan"/>.
/// </summary>
public abstract class TensorData : IDisposable
{
    /// <summary>Payload size in bytes.</summary>
    public abstract long ByteLength { get; }

    /// <summary>True when the bytes can be written through <see cref="OwnedTensorData.Span"/>.</summary>
    public virtual bool IsWritable => false;

    /// <summary>Copies <c>destination.Length</c> bytes starting at <paramref name="offset"/> into <paramref name="destination"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the payload.</exception>
    public abstract void Read(long offset, Span<byte> destination);

    /// <summary>Zero-copy view of the whole payload when it is addressable in memory and shorter than 2 GiB.</summary>
    public abstract bool TryGetSpan(out ReadOnlySpan<byte> bytes);

    /// <summary>
    /// A zero-copy window of <paramref name="length"/> bytes at <paramref name="offset"/> that releases its memory when
    /// disposed, or null when this payload has no such windows (then use <see cref="TryGetSpan"/> or
    /// <see cref="Read"/>). Memory-mapped payloads map the range on its own, so a streaming consumer neither copies the
    /// bytes (as <see cref="Read"/> does) nor keeps the pages resident (as a span of the whole mapping does).
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the payload.</exception>
    public virtual TensorWindow? OpenWindow(long offset, int length)
    {
        CheckRange(offset, length);
        return null;
    }

    /// <summary>Releases the buffer or the mapping reference.</summary>
    public void Dispose()
    {
        Dispose(true);
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases resources; called once by <see cref="Dispose()"/>.</summary>
    protected virtual void Dispose(bool disposing)
    {
    }

    /// <summary>Validates a read range against <see cref="ByteLength"/>.</summary>
    protected void CheckRange(long offset, long length)
    {
        if (offset < 0 || length < 0 || offset > ByteLength - length)
        {
            throw new ArgumentOutOfRangeException(
                nameof(offset), $"Range [{offset}, {offset}+{length}) is outside the {ByteLength}-byte payload.");
        }
    }
}
