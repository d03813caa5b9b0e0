using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Tests;

/// <summary>The scalar reference against hand-computed values from the spec (§3–§5) and its edge cases.</summary>
public class ReferenceTests
{
    // spec §5: one f32 block, values given as decimal literals rounded to f32.
    private static readonly float[] WorkedExample =
    [
        0.12f, -0.5f, 0.33f, 0.0f, 0.9f, -1.7f, 0.25f, 0.05f, -0.8f, 1.1f, 0.6f, -0.3f, 0.45f, -0.05f, 0.7f, -1.2f,
        0.2f, 0.15f, -0.95f, 1.3f, -0.4f, 0.0f, 0.55f, -0.65f, 0.8f, -1.0f, 0.35f, 0.1f, -0.2f, 1.5f, -0.75f, 0.28f,
    ];

    [Fact]
    public void WorkedExampleScaleAndReciprocal()
    {
        Assert.Equal(1.7f, Q40Reference.AbsMax(WorkedExample));
        ushort scale = Q40Reference.ScaleF32(1.7f);
        Assert.Equal(0xB2CD, scale);
        Assert.Equal(-0.2125244140625f, HalfBits.ToSingle(scale));
        Assert.Equal(-4.70703125f, Q40Reference.Reciprocal(scale));
    }

    [Fact]
    public void WorkedExampleBlock()
    {
        byte[] ggml = new byte[18];
        Q40Reference.QuantizeF32(WorkedExample, ggml);
        Assert.Equal(Convert.FromHexString("cdb2777ac628a48f57b84cd365899618c57e"), ggml);

        byte[] codes = new byte[32];
        Q40Reference.UnpackNibbles(ggml.AsSpan(2), codes);
        Assert.Equal(new byte[] { 7, 10, 6, 8, 4, 15, 7, 8, 12, 3, 5, 9, 6, 8, 5, 14, 7, 7, 12, 2, 10, 8, 5, 11, 4, 13, 6, 8, 9, 1, 12, 7 }, codes);
    }

    [Fact]
    public void WorkedExampleDequantizesExactly()
    {
        byte[] block = new byte[18];
        Q40Reference.QuantizeF32(WorkedExample, block);
        float[] values = new float[32];
        Q40Reference.DequantizeF32(block, values);
        Assert.Equal(7 * -0.2125244140625f, values[5]); // the negative extreme is clipped to code 15
        Assert.Equal(-7 * -0.2125244140625f, values[29]); // 1.5 has code 1
        Assert.True(BitConverter.SingleToUInt32Bits(values[3]) == 0x8000_0000u, "code 8 dequantizes to -0.0");
    }

    [Fact]
    public void AllZeroGroupHasNegativeZeroScaleAndCodes8()
    {
        byte[] block = new byte[18];
        Q40Reference.QuantizeF32(new float[32], block);
        Assert.Equal(new byte[] { 0x00, 0x80 }, block[..2]);
        Assert.All(block[2..], b => Assert.Equal(0x88, b));
    }

    [Fact]
    public void TinyGroupOverflowsTheReciprocalLikeTorch()
    {
        // |scale| = 2^-16 exactly: 1/scale = 65536 rounds to -inf in f16; zeros give NaN -> code 0.
        float[] g = new float[32];
        g[0] = 8 * MathF.Pow(2, -16);
        g[1] = -1e-5f;
        ushort scale = Q40Reference.ScaleF32(Q40Reference.AbsMax(g));
        Assert.Equal(float.NegativeInfinity, Q40Reference.Reciprocal(scale));
        Assert.Equal(0, Q40Reference.CodeF32(g[0], Q40Reference.Reciprocal(scale)));
        Assert.Equal(15, Q40Reference.CodeF32(g[1], Q40Reference.Reciprocal(scale)));
        Assert.Equal(0, Q40Reference.CodeF32(0f, Q40Reference.Reciprocal(scale)));
    }

    [Fact]
    public void HugeGroupOverflowsTheScaleToMinusInfinity()
    {
        float[] g = new float[32];
        g[7] = 600000f;
        g[8] = -3f;
        byte[] block = new byte[18];
        Q40Reference.QuantizeF32(g, block);
        Assert.Equal(new byte[] { 0x00, 0xFC }, block[..2]);
        Assert.All(block[2..], b => Assert.Equal(0x88, b));
    }

    [Fact]
    public void NaNGroupGetsCanonicalNaNScaleAndCodesZero()
    {
        float[] g = new float[32];
        g[3] = float.NaN;
        g[4] = 1f;
        byte[] block = new byte[18];
        Q40Reference.QuantizeF32(g, block);
        Assert.Equal(HalfBits.CanonicalNaN, Q40Reference.ScaleOf(block));
        Assert.All(block[2..], b => Assert.Equal(0, b));
    }

    [Fact]
    public void UnifiedScaleFormulaEqualsTheDtypeSpecificStepsForEveryHalfAndBFloat16()
    {
        // Kernels compute the scale from the value widened to f32; the reference divides in f16 / bf16. Prove they agree
        // for every possible absolute maximum.
        for (int bits = 0; bits <= 0x7FFF; bits++)
        {
            ushort h = (ushort)bits;
            Assert.Equal(Q40Reference.ScaleF16(h), Q40Reference.ScaleF32(HalfBits.ToSingle(h)));
            Assert.Equal(Q40Reference.ScaleBF16(h), Q40Reference.ScaleF32(BFloat16Conversions.ToSingle(h)));
        }
    }

    [Fact]
    public void PercentileInterpolatesLikeTorch()
    {
        const float q = 0.99f;
        float[] g = Enumerable.Range(0, 32).Select(i => (float)(i % 2 == 0 ? i : -i)).ToArray();

        // sorted |x| = 0..31, rank = f32(0.99 * 31) = 30.69..., lerp(30, 31, w) with w >= 0.5 -> 31 - 1 * (1 - w)
        float rank = q * 31f;
        float w = rank - 30f;
        Assert.Equal(31f - (1f * (1f - w)), Percentile.OfAbs(g, q));
        Assert.Equal(31f, Percentile.OfAbs(g, 1f));
        Assert.Equal(0f, Percentile.OfAbs(g, 0f));
        g[9] = float.NaN;
        Assert.True(float.IsNaN(Percentile.OfAbs(g, q)));
    }

    [Fact]
    public void FastHalfConversionsMatchTheHalfCasts()
    {
        for (int h = 0; h <= 0xFFFF; h++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf((ushort)h);
            Assert.Equal(BitConverter.SingleToUInt32Bits(expected), BitConverter.SingleToUInt32Bits(HalfBits.ToSingle((ushort)h)));
        }

        var edges = new List<uint>();
        for (ulong bits = 0; bits <= uint.MaxValue; bits += 251)
        {
            edges.Add((uint)bits);
        }

        foreach (float e in new[] { 65504f, 65519.99f, 65520f, 65536f, MathF.ScaleB(1, -14), MathF.ScaleB(1, -24), MathF.ScaleB(1, -25), MathF.ScaleB(3, -26), float.PositiveInfinity, float.MaxValue })
        {
            for (int d = -4; d <= 4; d++)
            {
                edges.Add((uint)(BitConverter.SingleToUInt32Bits(e) + d));
                edges.Add((uint)(BitConverter.SingleToUInt32Bits(-e) + d));
            }
        }

        foreach (uint bits in edges)
        {
            float f = BitConverter.UInt32BitsToSingle(bits);
            ushort expected = float.IsNaN(f) ? HalfBits.CanonicalNaN : BitConverter.HalfToUInt16Bits((Half)f);
            Assert.True(expected == HalfBits.FromSingle(f), $"{bits:X8}: {HalfBits.FromSingle(f):X4}, expected {expected:X4}");
        }
    }
}
