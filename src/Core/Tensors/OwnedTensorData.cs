using System.Buffers;

namespace TorchToNnef.Tensors;

/// <summary>A writable payload in a managed buffer rented from <see cref="ArrayPool{T}.Shared"/>; disposing returns it.</summary>
public sealed class OwnedTensorData : TensorData
{
    private byte[]? _buffer;
    private readonly int _length;
    private readonly bool _pooled;

    private OwnedTensorData(byte[] buffer, int length, bool pooled)
    {
        _buffer = buffer;
        _length = length;
        _pooled = pooled;
    }

    /// <summary>Rents a buffer of <paramref name="byteLength"/> bytes, zeroed when <paramref name="clear"/> is true.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The size exceeds what one managed array can hold.</exception>
    public static OwnedTensorData Allocate(long byteLength, bool clear = true)
    {
        if (byteLength < 0 || byteLength > Array.MaxLength)
        {
            throw new ArgumentOutOfRangeException(
                nameof(byteLength), $"{byteLength} bytes cannot be held in one in-memory tensor (max {Array.MaxLength}).");
        }

        int n = (int)byteLength;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(Math.Max(n, 1));
        if (clear)
        {
            buffer.AsSpan(0, n).Clear();
        }

        return new OwnedTensorData(buffer, n, pooled: true);
    }

    /// <summary>Wraps an existing array without copying; the array is not returned to any pool.</summary>
    public static OwnedTensorData Wrap(byte[] buffer) => new(buffer, buffer.Length, pooled: false);

    /// <summary>Copies <paramref name="bytes"/> into a new pooled buffer.</summary>
    public static OwnedTensorData CopyOf(ReadOnlySpan<byte> bytes)
    {
        OwnedTensorData data = Allocate(bytes.Length, clear: false);
        bytes.CopyTo(data.Span);
        return data;
    }

    /// <inheritdoc />
    public override long ByteLength => _length;

    /// <inheritdoc />
    public override bool IsWritable => true;

    /// <inheritdoc />
    public override bool IsInMemory => true;

    /// <summary>The writable payload.</summary>
    public Span<byte> Span => Buffer.AsSpan(0, _length);

    /// <summary>The writable payload as <see cref="Memory{T}"/>, for work spread over threads.</summary>
    public Memory<byte> Memory => Buffer.AsMemory(0, _length);

    private byte[] Buffer => _buffer ?? throw new ObjectDisposedException(nameof(OwnedTensorData));

    /// <inheritdoc />
    public override void Read(long offset, Span<byte> destination)
    {
        CheckRange(offset, destination.Length);
        Buffer.AsSpan((int)offset, destination.Length).CopyTo(destination);
    }

    /// <inheritdoc />
    public override bool TryGetSpan(out ReadOnlySpan<byte> bytes)
    {
        bytes = Span;
        return true;
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        byte[]? buffer = Interlocked.Exchange(ref _buffer, null);
        if (buffer is not null && _pooled)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
