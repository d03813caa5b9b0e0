using System.Buffers.Binary;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;

namespace TorchToNnef.Tensors;

/// <summary>Converts element payloads of any element dtype to and from f32.</summary>
public static class FloatConversions
{
    /// <summary>
    /// Converts <paramref name="source"/> bytes of <paramref name="dtype"/> elements into f32.
    /// f16 (via <see cref="TensorPrimitives"/>) and bf16 are exact; f64 and wide integers round to nearest.
    /// </summary>
    /// <exception cref="NotSupportedException">Block-quantized dtypes (dequantize with the Quant library).</exception>
    public static void ToSingle(DType dtype, ReadOnlySpan<byte> source, Span<float> destination)
    {
        int n = dtype.IsBlockQuantized()
            ? throw new NotSupportedException($"{dtype.Name()} must be dequantized, not converted.")
            : source.Length / dtype.ElementSize();
        if (destination.Length < n)
        {
            throw new ArgumentException("Destination is too short.", nameof(destination));
        }

        destination = destination[..n];
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.Cast<byte, float>(source).CopyTo(destination);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToSingle(MemoryMarshal.Cast<byte, Half>(source), destination);
                break;
            case DType.BF16:
                BFloat16Conversions.ToSingle(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case DType.F64:
                TensorPrimitives.ConvertTruncating<double, float>(MemoryMarshal.Cast<byte, double>(source), destination);
                break;
            case DType.I8:
                Widen(MemoryMarshal.Cast<byte, sbyte>(source), destination);
                break;
            case DType.U8:
            case DType.Bool:
                Widen(source, destination);
                break;
            case DType.I16:
                Widen(MemoryMarshal.Cast<byte, short>(source), destination);
                break;
            case DType.U16:
                Widen(MemoryMarshal.Cast<byte, ushort>(source), destination);
                break;
            case DType.I32:
                Widen(MemoryMarshal.Cast<byte, int>(source), destination);
                break;
            case DType.U32:
                Widen(MemoryMarshal.Cast<byte, uint>(source), destination);
                break;
            case DType.I64:
                Widen(MemoryMarshal.Cast<byte, long>(source), destination);
                break;
            case DType.U64:
                Widen(MemoryMarshal.Cast<byte, ulong>(source), destination);
                break;
            default:
                throw new NotSupportedException($"Cannot convert {dtype.Name()} to f32.");
        }

        if (dtype == DType.Bool)
        {
            // Any non-zero byte is true.
            TensorPrimitives.Min(destination, 1f, destination);
        }
    }

    /// <summary>Converts f32 values into <paramref name="dtype"/> floats (f32, f16 round-to-nearest-even, bf16, f64).</summary>
    /// <exception cref="NotSupportedException">A non-float dtype.</exception>
    public static void FromSingle(DType dtype, ReadOnlySpan<float> source, Span<byte> destination)
    {
        switch (dtype)
        {
            case DType.F32:
                MemoryMarshal.AsBytes(source).CopyTo(destination);
                break;
            case DType.F16:
                TensorPrimitives.ConvertToHalf(source, MemoryMarshal.Cast<byte, Half>(destination));
                break;
            case DType.BF16:
                BFloat16Conversions.FromSingle(source, MemoryMarshal.Cast<byte, ushort>(destination));
                break;
            case DType.F64:
                TensorPrimitives.ConvertChecked<float, double>(source, MemoryMarshal.Cast<byte, double>(destination));
                break;
            default:
                throw new NotSupportedException($"Cannot convert f32 to {dtype.Name()} with rounding semantics of a float.");
        }
    }

    private static void Widen<T>(ReadOnlySpan<T> source, Span<float> destination)
        where T : unmanaged, System.Numerics.INumberBase<T>
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = float.CreateSaturating(source[i]);
        }
    }

    /// <summary>Reads one little-endian f16 from bytes.</summary>
    public static float ReadHalf(ReadOnlySpan<byte> bytes) => (float)BinaryPrimitives.ReadHalfLittleEndian(bytes);
}
