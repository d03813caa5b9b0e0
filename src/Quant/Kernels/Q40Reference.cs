using System.Runtime.CompilerServices;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// The scalar reference of torch_to_nnef's Q4_0 min-max quantizer and of tract's dequantizer, written step by step
/// after <c>shared/spec/q40.md</c> §3–§6. It is the specification every vector path is compared with bit for bit,
/// and the path used for groups the vector kernels hand back (non-finite values, overflowing reciprocals).
/// Every function handles exactly one group of <see cref="Q40Format.GroupSize"/> values.
/// </summary>
internal static class Q40Reference
{
    private const int N = Q40Format.GroupSize;

    /// <summary>Largest |x| of an f32 group, exact; a NaN anywhere wins (as torch's <c>max</c> propagates NaN).</summary>
    public static float AbsMax(ReadOnlySpan<float> group)
    {
        // Compared as integers on the sign-cleared bits: the same order as the values, and NaN sorts above infinity.
        uint max = 0;
        foreach (float x in group[..N])
        {
            max = Math.Max(max, BitConverter.SingleToUInt32Bits(x) & 0x7FFF_FFFFu);
        }

        return BitConverter.UInt32BitsToSingle(max);
    }

    /// <summary>Largest |x| of an f16 or bf16 group, as raw sign-cleared bits of that encoding.</summary>
    public static ushort AbsMaxBits(ReadOnlySpan<ushort> group)
    {
        int max = 0;
        foreach (ushort x in group[..N])
        {
            max = Math.Max(max, x & 0x7FFF);
        }

        return (ushort)max;
    }

    /// <summary>Step 2–3 for f32 input: <c>scale = f16(a / -8)</c> with the division in f32.</summary>
    public static ushort ScaleF32(float absMax) => HalfBits.FromSingle(absMax / -8f);

    /// <summary>Step 2–3 for f16 input: the division is done in f16 (computed in f32, which is exact, then rounded).</summary>
    public static ushort ScaleF16(ushort absMaxBits) => HalfBits.FromSingle(HalfBits.ToSingle(absMaxBits) / -8f);

    /// <summary>Step 2–3 for bf16 input: the division is done in bf16, then the bf16 value is cast to f16.</summary>
    public static ushort ScaleBF16(ushort absMaxBits)
    {
        float a = BFloat16Conversions.ToSingle(absMaxBits);
        ushort sBf16 = BFloat16Conversions.FromSingle(a / -8f);
        return HalfBits.FromSingle(BFloat16Conversions.ToSingle(sBf16));
    }

    /// <summary>Step 4: <c>r = f16(1 / scale)</c>, or <c>r = scale</c> when the scale is ±0.</summary>
    public static float Reciprocal(ushort scaleBits)
    {
        float scale = HalfBits.ToSingle(scaleBits);
        return scale == 0f ? scale : HalfBits.Round(1f / scale);
    }

    /// <summary>Steps 5–6 for f32 and bf16 input: <c>floor(x*r + 8.5)</c> in f32 (two roundings), clamped to 0..15.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte CodeF32(float x, float r)
    {
        float p = x * r;
        float t = p + 8.5f;
        return FloorClamp(t);
    }

    /// <summary>Steps 5–6 for f16 input: the product and the sum are each rounded to f16.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte CodeF16(float x, float r)
    {
        float p = HalfBits.Round(x * r);
        float t = HalfBits.Round(p + 8.5f);
        return FloorClamp(t);
    }

    /// <summary><c>clamp(floor(t), 0, 15)</c>; NaN gives 0, as torch's uint8 cast does on x86.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static byte FloorClamp(float t)
    {
        float f = MathF.Floor(t);
        return f >= 15f ? (byte)15 : f >= 0f ? (byte)f : (byte)0;
    }

    /// <summary>Quantizes one f32 group with min-max calibration into an 18-byte block.</summary>
    public static void QuantizeF32(ReadOnlySpan<float> group, Span<byte> block)
    {
        ushort scale = ScaleF32(AbsMax(group));
        EncodeF32(group, scale, Reciprocal(scale), block);
    }

    /// <summary>Quantizes one f16 group (raw bits) with min-max calibration into an 18-byte block.</summary>
    public static void QuantizeF16(ReadOnlySpan<ushort> group, Span<byte> block)
    {
        ushort scale = ScaleF16(AbsMaxBits(group));
        EncodeF16(group, scale, Reciprocal(scale), block);
    }

    /// <summary>Quantizes one bf16 group (raw bits) with min-max calibration into an 18-byte block.</summary>
    public static void QuantizeBF16(ReadOnlySpan<ushort> group, Span<byte> block)
    {
        ushort scale = ScaleBF16(AbsMaxBits(group));
        EncodeBF16(group, scale, Reciprocal(scale), block);
    }

    /// <summary>Writes the block of an f32 group for a given scale and reciprocal.</summary>
    public static void EncodeF32(ReadOnlySpan<float> group, ushort scale, float r, Span<byte> block)
    {
        Span<byte> codes = stackalloc byte[N];
        for (int i = 0; i < N; i++)
        {
            codes[i] = CodeF32(group[i], r);
        }

        WriteBlock(scale, codes, block);
    }

    /// <summary>Writes the block of an f16 group (raw bits) for a given scale and reciprocal.</summary>
    public static void EncodeF16(ReadOnlySpan<ushort> group, ushort scale, float r, Span<byte> block)
    {
        Span<byte> codes = stackalloc byte[N];
        for (int i = 0; i < N; i++)
        {
            codes[i] = CodeF16(HalfBits.ToSingle(group[i]), r);
        }

        WriteBlock(scale, codes, block);
    }

    /// <summary>Writes the block of a bf16 group (raw bits): bf16 x f16 promotes to f32, so the f32 arithmetic applies.</summary>
    public static void EncodeBF16(ReadOnlySpan<ushort> group, ushort scale, float r, Span<byte> block)
    {
        Span<byte> codes = stackalloc byte[N];
        for (int i = 0; i < N; i++)
        {
            codes[i] = CodeF32(BFloat16Conversions.ToSingle(group[i]), r);
        }

        WriteBlock(scale, codes, block);
    }

    /// <summary>Stores a scale (little-endian f16) and packs 32 codes into 16 bytes (GGML nibble order).</summary>
    public static void WriteBlock(ushort scale, ReadOnlySpan<byte> codes, Span<byte> block)
    {
        block[0] = (byte)scale;
        block[1] = (byte)(scale >> 8);
        PackNibbles(codes, block.Slice(2, Q40Format.CodeBytes));
    }

    /// <summary>
    /// Packs 32 codes into 16 bytes in the GGML nibble order, the one Q4_0 form in memory:
    /// byte j = code[j] | code[j+16] &lt;&lt; 4.
    /// </summary>
    public static void PackNibbles(ReadOnlySpan<byte> codes, Span<byte> packed)
    {
        for (int j = 0; j < Q40Format.CodeBytes; j++)
        {
            packed[j] = (byte)(codes[j] | (codes[j + 16] << 4));
        }
    }

    /// <summary>Inverse of <see cref="PackNibbles"/>.</summary>
    public static void UnpackNibbles(ReadOnlySpan<byte> packed, Span<byte> codes)
    {
        for (int j = 0; j < Q40Format.CodeBytes; j++)
        {
            byte b = packed[j];
            codes[j] = (byte)(b & 0xF);
            codes[j + 16] = (byte)(b >> 4);
        }
    }

    /// <summary>The f16 scale bits of a block.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort ScaleOf(ReadOnlySpan<byte> block) => (ushort)(block[0] | (block[1] << 8));

    /// <summary>tract's f32 dequantization of one block: <c>(code - 8) * f32(scale)</c>, exact.</summary>
    public static void DequantizeF32(ReadOnlySpan<byte> block, Span<float> values)
    {
        float scale = HalfBits.ToSingle(ScaleOf(block));
        Span<byte> codes = stackalloc byte[N];
        UnpackNibbles(block.Slice(2, Q40Format.CodeBytes), codes);
        for (int i = 0; i < N; i++)
        {
            values[i] = (codes[i] - 8) * scale;
        }
    }

    /// <summary>tract's f16 dequantization of one block: the product rounded to f16 (raw bits).</summary>
    public static void DequantizeF16(ReadOnlySpan<byte> block, Span<ushort> values)
    {
        float scale = HalfBits.ToSingle(ScaleOf(block));
        Span<byte> codes = stackalloc byte[N];
        UnpackNibbles(block.Slice(2, Q40Format.CodeBytes), codes);
        for (int i = 0; i < N; i++)
        {
            values[i] = HalfBits.FromSingle((codes[i] - 8) * scale);
        }
    }

    /// <summary>
    /// torch_to_nnef's bf16 decompression of one block (raw bits): the f16 scale is first rounded to bf16, then
    /// <c>(code - 8) * scale</c> is rounded to bf16.
    /// </summary>
    public static void DequantizeBF16(ReadOnlySpan<byte> block, Span<ushort> values)
    {
        float scale = BFloat16Conversions.ToSingle(BFloat16Conversions.FromSingle(HalfBits.ToSingle(ScaleOf(block))));
        Span<byte> codes = stackalloc byte[N];
        UnpackNibbles(block.Slice(2, Q40Format.CodeBytes), codes);
        for (int i = 0; i < N; i++)
        {
            values[i] = BFloat16Conversions.FromSingle((codes[i] - 8) * scale);
        }
    }
}
