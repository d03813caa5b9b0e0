using System.Buffers;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Calibration;

/// <summary>Helpers shared by the search calibrations: source groups as f32, codes of a block, exact group error.</summary>
internal static class GroupBlocks
{
    /// <summary>
    /// Source bytes of whole groups as f32 values (exact for f16 and bf16): a view for f32, else a pooled copy that
    /// <paramref name="rented"/> holds until the caller returns it (no per-chunk large-object allocations, which would
    /// make the garbage collector stop every thread).
    /// </summary>
    public static ReadOnlySpan<float> AsSingle(DType sourceDType, ReadOnlySpan<byte> source, out float[]? rented)
    {
        if (sourceDType == DType.F32)
        {
            rented = null;
            return MemoryMarshal.Cast<byte, float>(source);
        }

        int n = source.Length / sourceDType.ElementSize();
        rented = ArrayPool<float>.Shared.Rent(n);
        FloatConversions.ToSingle(sourceDType, source, rented.AsSpan(0, n));
        return rented.AsSpan(0, n);
    }

    /// <summary>Returns a buffer from <see cref="AsSingle"/>.</summary>
    public static void Return(float[]? rented)
    {
        if (rented is not null)
        {
            ArrayPool<float>.Shared.Return(rented);
        }
    }

    /// <summary>The 32 codes of a block, in element order.</summary>
    public static void Codes(ReadOnlySpan<byte> block, Span<byte> codes) =>
        Q40Reference.UnpackNibbles(block.Slice(2, Q40Format.CodeBytes), codes);

    /// <summary>
    /// Squared error of a group against its block, dequantized as tract does in f32, summed in double in element
    /// order (the one definition every comparison between methods uses). A NaN error (a block whose scale
    /// overflowed dequantizes to NaN) counts as infinite, so any finite result beats it.
    /// </summary>
    public static double SquaredError(ReadOnlySpan<float> x, ReadOnlySpan<byte> block)
    {
        Span<float> w = stackalloc float[Q40Format.GroupSize];
        Q40Reference.DequantizeF32(block, w);
        double e = SquaredError(x, w);
        return double.IsNaN(e) ? double.PositiveInfinity : e;
    }

    /// <summary>Sum of squared differences in double, in element order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static double SquaredError(ReadOnlySpan<float> x, ReadOnlySpan<float> w)
    {
        double sse = 0;
        for (int i = 0; i < x.Length; i++)
        {
            double e = (double)x[i] - w[i];
            sse += e * e;
        }

        return sse;
    }

    /// <summary>Overwrites a block's scale.</summary>
    public static void SetScale(Span<byte> block, ushort scale)
    {
        block[0] = (byte)scale;
        block[1] = (byte)(scale >> 8);
    }
}
