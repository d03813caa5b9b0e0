using System.Buffers;

namespace TorchToNnef.Tensors;

/// <summary>
/// The bytes behind a tensor: an owned (pooled) buffer, or a read-only region of a memory-mapped file.
/// Consumers that stream large tensors go through <see cref="ForEachWindow{TState}"/> or <see cref="CopyTo(Stream)"/>,
/// which hand out bounded windows (short-lived mappings, or positional reads, that do not grow the process's resident
/// set); consumers that need the whole payload at once (an evaluator) use <see cref="TryGetSpan"/>.
/// </summary>
public abstract class TensorData : IDisposable
{
    /// <summary>Largest window <see cref="CopyTo(Stream)"/> and <see cref="ForEachWindow{TState}"/> hand out by default.</summary>
    public const int DefaultWindowBytes = 1 << 20;

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

    /// <summary>
    /// Calls <paramref name="action"/> on consecutive windows of at most <paramref name="maxWindow"/> bytes covering
    /// <paramref name="count"/> bytes from <paramref name="offset"/>, in order. A mapped payload gives each window its
    /// own mapping (released before the next, so its pages leave the resident set); an in-memory payload gives
    /// slices of its buffer; any other payload is read into one pooled buffer. A window is valid only during its call.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The range is outside the payload, or the window size is not positive.</exception>
    public void ForEachWindow<TState>(long offset, long count, int maxWindow, TState state, ReadOnlySpanAction<byte, TState> action)
    {
        CheckRange(offset, count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxWindow);
        if (count == 0)
        {
            return;
        }

        int first = (int)Math.Min(maxWindow, count);
        using (TensorWindow? window = OpenWindow(offset, first))
        {
            if (window is not null)
            {
                action(window.Span, state);
                for (long at = offset + first, end = offset + count; at < end;)
                {
                    int n = (int)Math.Min(maxWindow, end - at);
                    using TensorWindow next = OpenWindow(at, n)!;
                    action(next.Span, state);
                    at += n;
                }

                return;
            }
        }

        if (IsInMemory && TryGetSpan(out ReadOnlySpan<byte> all))
        {
            for (long at = offset, end = offset + count; at < end;)
            {
                int n = (int)Math.Min(maxWindow, end - at);
                action(all.Slice((int)at, n), state);
                at += n;
            }

            return;
        }

        byte[] buffer = ArrayPool<byte>.Shared.Rent(first);
        try
        {
            for (long at = offset, end = offset + count; at < end;)
            {
                int n = (int)Math.Min(maxWindow, end - at);
                Read(at, buffer.AsSpan(0, n));
                action(buffer.AsSpan(0, n), state);
                at += n;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Writes the payload to <paramref name="destination"/> in bounded windows (see <see cref="ForEachWindow{TState}"/>).</summary>
    public void CopyTo(Stream destination) => CopyTo(destination, 0, ByteLength);

    /// <summary>Writes <paramref name="count"/> bytes from <paramref name="offset"/> to <paramref name="destination"/> in bounded windows.</summary>
    public void CopyTo(Stream destination, long offset, long count) =>
        ForEachWindow(offset, count, DefaultWindowBytes, destination, static (window, s) => s.Write(window));

    /// <summary>
    /// True when the whole payload already sits in process memory (a managed buffer), so that a span over it costs
    /// nothing; false for memory-mapped payloads, whose pages a whole-payload span would pull into the resident set.
    /// </summary>
    public virtual bool IsInMemory => false;

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
