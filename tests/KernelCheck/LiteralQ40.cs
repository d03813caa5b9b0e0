namespace TorchToNnef.KernelCheck;

/// <summary>
/// An independent, deliberately naive statement of the Q4_0 arithmetic (golden README and <c>shared/spec/q40.md</c>),
/// written without any of the production code: f16 through the BCL <see cref="Half"/> casts, f16 arithmetic as exact
/// double arithmetic rounded once to f16, one group and one value at a time. Every kernel, the scalar one included,
/// is compared with it, so no kernel is its own expectation.
/// </summary>
public static class LiteralQ40
{
    /// <summary>Values per group.</summary>
    public const int N = 32;

    /// <summary>Bytes per block (f16 scale + 16 bytes of nibbles).</summary>
    public const int B = 18;

    /// <summary>The one NaN the kernels produce when they narrow to f16 (quiet, no payload).</summary>
    public const ushort CanonicalHalfNaN = 0x7E00;

    /// <summary>f16 bits to f32, exact (BCL cast).</summary>
    public static float HalfToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>bf16 bits to f32: the bits are the top half of the f32.</summary>
    public static float BFloat16ToSingle(ushort bits) => BitConverter.UInt32BitsToSingle((uint)bits << 16);

    /// <summary>A double rounded once to f16 bits (round to nearest even, overflow to infinity), NaN canonical.</summary>
    public static ushort ToHalf(double value)
    {
        Half h = (Half)value;
        return Half.IsNaN(h) ? CanonicalHalfNaN : BitConverter.HalfToUInt16Bits(h);
    }

    /// <summary>A value rounded to the nearest f16 and widened back.</summary>
    public static float RoundToHalf(double value) => HalfToSingle(ToHalf(value));

    /// <summary>Largest |x| of a group: the largest sign-cleared bit pattern, so a NaN wins over everything.</summary>
    public static float AbsMax(ReadOnlySpan<float> group)
    {
        uint max = 0;
        foreach (float x in group)
        {
            max = Math.Max(max, BitConverter.SingleToUInt32Bits(x) & 0x7FFF_FFFFu);
        }

        return BitConverter.UInt32BitsToSingle(max);
    }

    /// <summary>Largest sign-cleared f16/bf16 bit pattern of a group.</summary>
    public static ushort AbsMaxBits(ReadOnlySpan<ushort> group)
    {
        int max = 0;
        foreach (ushort x in group)
        {
            max = Math.Max(max, x & 0x7FFF);
        }

        return (ushort)max;
    }

    /// <summary><c>scale = f16(a / -8)</c>; dividing by 8 is exact, so one rounding of the quotient.</summary>
    public static ushort Scale(float absMax) => ToHalf(absMax / -8.0);

    /// <summary><c>r = f16(1 / scale)</c>, or the scale itself when it is ±0.</summary>
    public static float Reciprocal(ushort scale)
    {
        float s = HalfToSingle(scale);
        return s == 0 ? s : RoundToHalf(1f / s);
    }

    /// <summary>f32 and bf16 inputs: <c>floor(x * r + 8.5)</c> with each operation rounded to f32, clamped to 0..15.</summary>
    public static byte CodeF32(float x, float r)
    {
        float product = x * r;
        float sum = product + 8.5f;
        return FloorClamp(sum);
    }

    /// <summary>f16 inputs: <c>x * r</c> rounded to f16, then <c>+ 8.5</c> rounded to f16 (exact double, one rounding each).</summary>
    public static byte CodeF16(float x, float r)
    {
        float product = RoundToHalf((double)x * r);
        float sum = RoundToHalf(product + 8.5);
        return FloorClamp(sum);
    }

    /// <summary>The codes of one group for a scale, by source kind (f16 arithmetic for f16 values, else f32).</summary>
    public static byte[] Codes(ReadOnlySpan<float> group, float r, bool halfArithmetic)
    {
        var codes = new byte[N];
        for (int i = 0; i < N; i++)
        {
            codes[i] = halfArithmetic ? CodeF16(group[i], r) : CodeF32(group[i], r);
        }

        return codes;
    }

    /// <summary>Writes one block: the scale little-endian, then byte j = code[j] | code[j+16] &lt;&lt; 4 (the GGML order).</summary>
    public static void WriteBlock(ushort scale, ReadOnlySpan<byte> codes, Span<byte> block)
    {
        block[0] = (byte)(scale & 0xFF);
        block[1] = (byte)(scale >> 8);
        for (int j = 0; j < 16; j++)
        {
            block[2 + j] = (byte)(codes[j] | (codes[j + 16] << 4));
        }
    }

    /// <summary>The 32 codes of a block, in element order.</summary>
    public static byte[] ReadCodes(ReadOnlySpan<byte> block)
    {
        var codes = new byte[N];
        for (int j = 0; j < 16; j++)
        {
            byte b = block[2 + j];
            codes[j] = (byte)(b & 0xF);
            codes[j + 16] = (byte)(b >> 4);
        }

        return codes;
    }

    /// <summary>
    /// Min-max quantization of whole groups of values (already widened to f32; <paramref name="halfArithmetic"/> for
    /// f16 sources) with torch's linear-interpolation quantile of |x| when <paramref name="percentile"/> &lt; 1.
    /// With percentile 1 the scale of f16/bf16 groups is the same as computing it in their own type: dividing by 8 is
    /// exact in both and one rounding to f16 follows.
    /// </summary>
    public static byte[] QuantizeMinMax(ReadOnlySpan<float> values, bool halfArithmetic, float percentile = 1f)
    {
        int groups = values.Length / N;
        var blocks = new byte[groups * B];
        for (int g = 0; g < groups; g++)
        {
            ReadOnlySpan<float> group = values.Slice(g * N, N);
            float range = percentile < 1f ? QuantileOfAbs(group, percentile) : AbsMax(group);
            ushort scale = Scale(range);
            WriteBlock(scale, Codes(group, Reciprocal(scale), halfArithmetic), blocks.AsSpan(g * B, B));
        }

        return blocks;
    }

    /// <summary>Encodes whole groups with given scales.</summary>
    public static byte[] EncodeWithScales(ReadOnlySpan<float> values, ReadOnlySpan<ushort> scales, bool halfArithmetic)
    {
        var blocks = new byte[scales.Length * B];
        for (int g = 0; g < scales.Length; g++)
        {
            WriteBlock(scales[g], Codes(values.Slice(g * N, N), Reciprocal(scales[g]), halfArithmetic), blocks.AsSpan(g * B, B));
        }

        return blocks;
    }

    /// <summary>
    /// torch.quantile(|group| as f32, q) with linear interpolation: sort, <c>rank = q * (n - 1)</c> in f32, and torch's
    /// <c>lerp(below, above, w)</c> (<c>below + w * (above - below)</c> for w &lt; 0.5, else
    /// <c>above - (above - below) * (1 - w)</c>), all in f32. Any NaN gives NaN.
    /// </summary>
    public static float QuantileOfAbs(ReadOnlySpan<float> group, float q)
    {
        float[] sorted = new float[group.Length];
        for (int i = 0; i < group.Length; i++)
        {
            sorted[i] = Math.Abs(group[i]);
            if (float.IsNaN(sorted[i]))
            {
                return float.NaN;
            }
        }

        Array.Sort(sorted);
        float rank = q * (group.Length - 1);
        int below = (int)MathF.Floor(rank);
        int above = (int)MathF.Ceiling(rank);
        float w = rank - below;
        float lo = sorted[below];
        float hi = sorted[above];
        return w < 0.5f ? lo + (w * (hi - lo)) : hi - ((hi - lo) * (1f - w));
    }

    /// <summary>tract's f32 dequantization of whole blocks: <c>(code - 8) * scale</c>, exact in f32.</summary>
    public static float[] DequantizeF32(ReadOnlySpan<byte> blocks)
    {
        int groups = blocks.Length / B;
        var values = new float[groups * N];
        for (int g = 0; g < groups; g++)
        {
            ReadOnlySpan<byte> block = blocks.Slice(g * B, B);
            float scale = HalfToSingle((ushort)(block[0] | (block[1] << 8)));
            byte[] codes = ReadCodes(block);
            for (int i = 0; i < N; i++)
            {
                values[(g * N) + i] = (codes[i] - 8) * scale;
            }
        }

        return values;
    }

    /// <summary>tract's f16 dequantization: the exact product rounded once to f16 (bits, NaN canonical).</summary>
    public static ushort[] DequantizeF16(ReadOnlySpan<byte> blocks)
    {
        float[] f32 = DequantizeF32(blocks);
        return [.. f32.Select(v => ToHalf(v))];
    }

    private static byte FloorClamp(float t) => float.IsNaN(t) ? (byte)0 : (byte)Math.Clamp(MathF.Floor(t), 0f, 15f);
}
