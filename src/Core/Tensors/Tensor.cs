using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TorchToNnef.Tensors;

/// <summary>
/// A dtype, a shape and the bytes behind them (row-major, little-endian). The payload is either owned
/// (pooled, writable) or a read-only view of a memory-mapped file, so loading a checkpoint copies nothing.
/// Disposing the tensor disposes its <see cref="TensorData"/>.
/// </summary>
public sealed class Tensor : IDisposable
{
    /// <summary>Binds a dtype and shape to a payload whose size must match exactly.</summary>
    /// <exception cref="ArgumentException">The payload size does not equal the size the dtype and shape require.</exception>
    public Tensor(DType dtype, Shape shape, TensorData data)
    {
        long expected = dtype.ByteSize(shape.ElementCount);
        if (data.ByteLength != expected)
        {
            throw new ArgumentException(
                $"A {dtype.Name()} tensor of shape {shape} needs {expected} bytes, got {data.ByteLength}.", nameof(data));
        }

        DType = dtype;
        Shape = shape;
        Data = data;
    }

    /// <summary>Element type.</summary>
    public DType DType { get; }

    /// <summary>Shape.</summary>
    public Shape Shape { get; }

    /// <summary>Payload.</summary>
    public TensorData Data { get; }

    /// <summary>Number of logical elements.</summary>
    public long ElementCount => Shape.ElementCount;

    /// <summary>Payload size in bytes.</summary>
    public long ByteLength => Data.ByteLength;

    /// <summary>Allocates a zeroed owned tensor.</summary>
    public static Tensor Allocate(DType dtype, Shape shape) =>
        new(dtype, shape, OwnedTensorData.Allocate(dtype.ByteSize(shape.ElementCount)));

    /// <summary>Creates an owned tensor holding a copy of <paramref name="values"/>.</summary>
    /// <exception cref="ArgumentException">The element size of <typeparamref name="T"/> or the count does not match.</exception>
    public static Tensor FromSpan<T>(DType dtype, Shape shape, ReadOnlySpan<T> values)
        where T : unmanaged
    {
        CheckElementType<T>(dtype);
        if (values.Length != shape.ElementCount)
        {
            throw new ArgumentException($"Shape {shape} needs {shape.ElementCount} values, got {values.Length}.", nameof(values));
        }

        return new Tensor(dtype, shape, OwnedTensorData.CopyOf(MemoryMarshal.AsBytes(values)));
    }

    /// <summary>Convenience: an owned f32 tensor.</summary>
    public static Tensor FromFloats(Shape shape, ReadOnlySpan<float> values) => FromSpan(DType.F32, shape, values);

    /// <summary>The whole payload, zero-copy.</summary>
    /// <exception cref="InvalidOperationException">The payload is not addressable as one span (over 2 GiB).</exception>
    public ReadOnlySpan<byte> Bytes =>
        Data.TryGetSpan(out ReadOnlySpan<byte> bytes)
            ? bytes
            : throw new InvalidOperationException($"Tensor payload of {ByteLength} bytes is not addressable as one span; read it in windows.");

    /// <summary>Elements reinterpreted as <typeparamref name="T"/> (which must have the dtype's element size).</summary>
    public ReadOnlySpan<T> AsSpan<T>()
        where T : unmanaged
    {
        CheckElementType<T>(DType);
        return MemoryMarshal.Cast<byte, T>(Bytes);
    }

    /// <summary>Writable elements of an owned tensor.</summary>
    /// <exception cref="InvalidOperationException">The tensor is a read-only view.</exception>
    public Span<T> AsWritableSpan<T>()
        where T : unmanaged
    {
        CheckElementType<T>(DType);
        if (Data is not OwnedTensorData owned)
        {
            throw new InvalidOperationException("Tensor is a read-only view; copy it before writing.");
        }

        return MemoryMarshal.Cast<byte, T>(owned.Span);
    }

    /// <summary>
    /// Converts the elements of a float or integer tensor to f32 (f16 and bf16 exactly, f64 and 64-bit
    /// integers with rounding). Block-quantized tensors are dequantized by the Quant library, not here.
    /// </summary>
    public float[] ToFloatArray()
    {
        var result = new float[checked((int)ElementCount)];
        FloatConversions.ToSingle(DType, Bytes, result);
        return result;
    }

    /// <summary>Copies the tensor into a new owned tensor.</summary>
    public Tensor Clone()
    {
        OwnedTensorData data = OwnedTensorData.Allocate(ByteLength, clear: false);
        Data.Read(0, data.Span);
        return new Tensor(DType, Shape, data);
    }

    /// <summary>A new tensor sharing this payload with another shape of the same element count.</summary>
    /// <remarks>The returned tensor does not own the payload: dispose only the original.</remarks>
    public Tensor Reshape(Shape shape)
    {
        if (shape.ElementCount != ElementCount)
        {
            throw new ArgumentException($"Cannot reshape {Shape} ({ElementCount} elements) to {shape}.", nameof(shape));
        }

        return new Tensor(DType, shape, new SharedView(Data));
    }

    /// <inheritdoc />
    public void Dispose() => Data.Dispose();

    /// <summary>Formats as <c>f32[2, 3]</c>.</summary>
    public override string ToString() => DType.Name() + Shape;

    private static void CheckElementType<T>(DType dtype)
        where T : unmanaged
    {
        if (dtype.IsBlockQuantized())
        {
            if (Unsafe.SizeOf<T>() != 1)
            {
                throw new ArgumentException($"{dtype.Name()} tensors are accessed as bytes only.");
            }

            return;
        }

        if (Unsafe.SizeOf<T>() != dtype.ElementSize())
        {
            throw new ArgumentException(
                $"{typeof(T).Name} ({Unsafe.SizeOf<T>()} bytes) does not match {dtype.Name()} ({dtype.ElementSize()} bytes).");
        }
    }

    /// <summary>Non-owning view used by <see cref="Reshape"/>.</summary>
    private sealed class SharedView(TensorData inner) : TensorData
    {
        public override long ByteLength => inner.ByteLength;

        public override bool IsWritable => inner.IsWritable;

        public override bool IsInMemory => inner.IsInMemory;

        public override void Read(long offset, Span<byte> destination) => inner.Read(offset, destination);

        public override bool TryGetSpan(out ReadOnlySpan<byte> bytes) => inner.TryGetSpan(out bytes);

        public override TensorWindow? OpenWindow(long offset, int length) => inner.OpenWindow(offset, length);
    }
}
