using System.Numerics;

namespace TorchToNnef.TestSupport;

/// <summary>
/// The best Q4_0 block any calibration could produce for a group of 32 values, found by brute force: every finite f16
/// scale of both signs (and zero), each with its nearest codes (<c>clamp(round(x / s), -8, 7)</c>, which minimize the
/// squared error for that scale), error <c>sum (x - q * s)^2</c> in double. Independent of the calibrations under test
/// (BCL <see cref="Half"/> only), so it is the yardstick for how close a search comes to the optimum.
/// About 2 M scale-value pairs per group: for samples of groups, not whole tensors.
/// </summary>
public static class Q40ExhaustiveSearch
{
    /// <summary>Values per group.</summary>
    public const int GroupSize = 32;

    // Every finite non-zero f16 value (both signs), padded to whole vectors by repeating the last scale.
    private static readonly Lazy<(double[] Scales, double[] Inverses, ushort[] Bits, int Count)> Candidates = new(Build);

    /// <summary>Number of distinct scales tried per group (zero included).</summary>
    public static int ScaleCount => Candidates.Value.Count + 1;

    /// <summary>The f16 scale bits with the least squared error for <paramref name="group"/>, and that error.</summary>
    /// <exception cref="ArgumentException">The group is not 32 finite values.</exception>
    public static (ushort ScaleBits, double Error) Best(ReadOnlySpan<float> group)
    {
        if (group.Length != GroupSize)
        {
            throw new ArgumentException($"a group holds {GroupSize} values, got {group.Length}", nameof(group));
        }

        Span<double> x = stackalloc double[GroupSize];
        double zeroError = 0;
        for (int i = 0; i < GroupSize; i++)
        {
            if (!float.IsFinite(group[i]))
            {
                throw new ArgumentException("the exhaustive search is defined for finite groups only", nameof(group));
            }

            x[i] = group[i];
            zeroError += x[i] * x[i];
        }

        (double[] scales, double[] inverses, ushort[] bits, int count) = Candidates.Value;
        int w = Vector<double>.Count;
        var low = new Vector<double>(-8);
        var high = new Vector<double>(7);
        double best = zeroError;
        int bestIndex = -1;
        for (int k = 0; k < scales.Length; k += w)
        {
            var s = new Vector<double>(scales, k);
            var inv = new Vector<double>(inverses, k);
            Vector<double> acc = Vector<double>.Zero;
            for (int i = 0; i < GroupSize; i++)
            {
                var xi = new Vector<double>(x[i]);
                Vector<double> q = Vector.Min(Vector.Max(Vector.Round(xi * inv), low), high);
                Vector<double> e = xi - (q * s);
                acc += e * e;
            }

            for (int lane = 0; lane < w && k + lane < count; lane++)
            {
                if (acc[lane] < best)
                {
                    best = acc[lane];
                    bestIndex = k + lane;
                }
            }
        }

        return (bestIndex < 0 ? (ushort)0 : bits[bestIndex], best);
    }

    /// <summary>
    /// Nearest codes (0..15, i.e. <c>q + 8</c>) of <paramref name="group"/> for a scale, the neighbour with the smaller
    /// error when the reciprocal's rounding lands between two levels.
    /// </summary>
    public static void NearestCodes(ReadOnlySpan<float> group, ushort scaleBits, Span<byte> codes)
    {
        double s = (double)BitConverter.UInt16BitsToHalf(scaleBits);
        for (int i = 0; i < GroupSize; i++)
        {
            if (s == 0)
            {
                codes[i] = 8;
                continue;
            }

            double x = group[i];
            int q = (int)Math.Clamp(Math.Round(x / s), -8, 7);
            if (q > -8 && Math.Abs(x - ((q - 1) * s)) < Math.Abs(x - (q * s)))
            {
                q--;
            }
            else if (q < 7 && Math.Abs(x - ((q + 1) * s)) < Math.Abs(x - (q * s)))
            {
                q++;
            }

            codes[i] = (byte)(q + 8);
        }
    }

    /// <summary>Squared error of a group against a scale and codes, dequantized as tract does (<c>(code - 8) * scale</c>).</summary>
    public static double SquaredError(ReadOnlySpan<float> group, ushort scaleBits, ReadOnlySpan<byte> codes)
    {
        float s = (float)BitConverter.UInt16BitsToHalf(scaleBits);
        double sse = 0;
        for (int i = 0; i < GroupSize; i++)
        {
            double e = (double)group[i] - ((codes[i] - 8) * s);
            sse += e * e;
        }

        return sse;
    }

    private static (double[] Scales, double[] Inverses, ushort[] Bits, int Count) Build()
    {
        var bits = new List<ushort>();
        for (int b = 1; b < 0x10000; b++)
        {
            Half h = BitConverter.UInt16BitsToHalf((ushort)b);
            if (Half.IsFinite(h) && h != Half.Zero)
            {
                bits.Add((ushort)b);
            }
        }

        int count = bits.Count;
        int w = Vector<double>.Count;
        while (bits.Count % w != 0)
        {
            bits.Add(bits[^1]);
        }

        double[] scales = [.. bits.Select(b => (double)BitConverter.UInt16BitsToHalf(b))];
        double[] inverses = [.. scales.Select(s => 1 / s)];
        return (scales, inverses, [.. bits], count);
    }
}
