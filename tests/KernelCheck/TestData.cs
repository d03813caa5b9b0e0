using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>Inputs that reach every branch of the kernels: ordinary data, rounding boundaries and special values.</summary>
public static class TestData
{
    private static readonly float[] Scales = [1e-7f, 3e-5f, 1.2e-4f, 1e-2f, 1f, 37f, 6e4f, 6e5f];

    /// <summary>f32 groups: Gaussian values at a random magnitude, some groups sitting on rounding boundaries, and specials.</summary>
    public static float[] Floats(Random rng, int groups)
    {
        var v = new float[groups * 32];
        for (int g = 0; g < groups; g++)
        {
            Span<float> x = v.AsSpan(g * 32, 32);
            float scale = Scales[rng.Next(Scales.Length)];
            switch (rng.Next(8))
            {
                case 0:
                    Boundaries(rng, x, scale);
                    break;
                case 1:
                    x.Clear();
                    break;
                default:
                    for (int i = 0; i < 32; i++)
                    {
                        x[i] = scale * Gaussian(rng);
                    }

                    break;
            }

            if (rng.Next(6) == 0)
            {
                x[rng.Next(32)] = Special(rng);
            }
        }

        return v;
    }

    /// <summary>f16 bit patterns: mostly values of a Gaussian at a random magnitude, some raw random bits (NaN, inf, subnormals).</summary>
    public static ushort[] Halves(Random rng, int groups)
    {
        float[] f = Floats(rng, groups);
        var h = new ushort[f.Length];
        for (int i = 0; i < f.Length; i++)
        {
            h[i] = rng.Next(50) == 0 ? (ushort)rng.Next(65536) : LiteralQ40.ToHalf(f[i]);
        }

        return h;
    }

    /// <summary>bf16 bit patterns, built the same way as <see cref="Halves"/>.</summary>
    public static ushort[] BFloat16s(Random rng, int groups)
    {
        float[] f = Floats(rng, groups);
        var h = new ushort[f.Length];
        for (int i = 0; i < f.Length; i++)
        {
            h[i] = rng.Next(50) == 0 ? (ushort)rng.Next(65536) : Tensors.BFloat16Conversions.FromSingle(f[i]);
        }

        return h;
    }

    /// <summary>Random blocks: random nibbles and scales over all f16 bit patterns (weighted towards finite ones).</summary>
    public static byte[] Blocks(Random rng, int groups)
    {
        var b = new byte[groups * 18];
        rng.NextBytes(b);
        for (int g = 0; g < groups; g++)
        {
            if (rng.Next(4) != 0)
            {
                ushort s = LiteralQ40.ToHalf(Scales[rng.Next(Scales.Length)] * Gaussian(rng) / 8);
                b[g * 18] = (byte)s;
                b[(g * 18) + 1] = (byte)(s >> 8);
            }
        }

        return b;
    }

    /// <summary>f32 values that exercise the scale and reciprocal: a stride over all bit patterns plus the edges.</summary>
    public static float[] AbsMaxima()
    {
        var list = new List<float>();
        for (uint bits = 0; bits <= 0x7FFF_FFFFu - 4099; bits += 4099)
        {
            list.Add(BitConverter.UInt32BitsToSingle(bits));
        }

        foreach (float edge in new[] { 0f, float.Epsilon, 8 * MathF.ScaleB(1, -16), 8 * MathF.ScaleB(1, -14), 65504f * 8, 65520f * 8, 65519.99f * 8, float.MaxValue, float.PositiveInfinity, float.NaN })
        {
            uint e = BitConverter.SingleToUInt32Bits(edge);
            for (int d = -3; d <= 3; d++)
            {
                uint bits = (uint)(e + d);
                if (bits <= 0x7FFF_FFFFu)
                {
                    list.Add(BitConverter.UInt32BitsToSingle(bits));
                }
            }
        }

        return [.. list];
    }

    private static void Boundaries(Random rng, Span<float> x, float scale)
    {
        // Values whose x*r + 8.5 lands on or next to an integer, where one rounding more or less changes the code.
        float a = scale * (1 + (float)rng.NextDouble());
        float r = LiteralQ40.Reciprocal(LiteralQ40.Scale(a));
        x[0] = rng.Next(2) == 0 ? a : -a;
        for (int i = 1; i < 32; i++)
        {
            float v = (rng.Next(16) - 7.5f) / r;
            uint bits = BitConverter.SingleToUInt32Bits(v);
            v = BitConverter.UInt32BitsToSingle((uint)(bits + rng.Next(-2, 3)));
            x[i] = MathF.Abs(v) <= a ? v : x[0];
        }
    }

    private static float Special(Random rng) => rng.Next(9) switch
    {
        0 => float.NaN,
        1 => float.PositiveInfinity,
        2 => float.NegativeInfinity,
        3 => -0f,
        4 => float.Epsilon,
        5 => 1e-39f,
        6 => float.MaxValue,
        7 => -600000f,
        _ => 3e-6f,
    };

    private static float Gaussian(Random rng) =>
        (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble()));
}
