using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// Sums in the 16-lane order against a literal statement of that order, reductions along a middle axis, maxima with the
/// first-of-equals rule, integer sums and products in 64 bits, softmax rows and columns, at every width, bit for bit
/// against the scalar width (and the softmax against f64 arithmetic within 4e-6).
/// </summary>
public static class ReductionChecks
{
    /// <summary>Returns one line per mismatching case.</summary>
    public static List<string> Run(int seeds)
    {
        var failures = new List<string>();
        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(99 + seed);
            foreach (int n in Enumerable.Range(0, 70).Concat([127, 128, 129, 1000, 4099]))
            {
                float[] x = GemmChecks.TestFloats(rng, n);
                float expected = LiteralLaneSum(x);
                foreach (KernelWidth width in KernelWidths.Supported)
                {
                    float actual = LaneSum.Sum(width, x);
                    if (BitConverter.SingleToInt32Bits(expected) != BitConverter.SingleToInt32Bits(actual))
                    {
                        failures.Add($"{width} lane sum of {n}: {expected:R} vs {actual:R}");
                    }
                }
            }

            foreach ((int outer, int reduced, int inner) in new[] { (1, 1, 1), (3, 17, 1), (2, 40, 1), (4, 5, 3), (2, 7, 33), (1, 300, 70), (3, 1, 9) })
            {
                float[] x = ElementWiseChecks.Floats(rng, outer * reduced * inner);
                float[] finite = GemmChecks.TestFloats(rng, outer * reduced * inner);
                long[] l = Enumerable.Range(0, outer * reduced * inner).Select(_ => rng.NextInt64()).ToArray();
                Compare(failures, $"sum [{outer},{reduced},{inner}]", (w, d) => ReduceKernels.Sum(w, finite, outer, reduced, inner, d), outer * inner);
                Compare(failures, $"product [{outer},{reduced},{inner}]", (w, d) => ReduceKernels.Product<float>(w, x, outer, reduced, inner, d), outer * inner);
                Compare(failures, $"max [{outer},{reduced},{inner}]", (w, d) => ReduceKernels.Extreme<float>(w, x, outer, reduced, inner, d, max: true), outer * inner);
                Compare(failures, $"min [{outer},{reduced},{inner}]", (w, d) => ReduceKernels.Extreme<float>(w, x, outer, reduced, inner, d, max: false), outer * inner);
                LongSums(failures, l, outer, reduced, inner);
                Softmax(failures, finite, outer, reduced, inner);
            }

            // Softmax rows overlap the passes of consecutive rows: many rows, rows shorter than a vector, tails of every
            // length, and enough values (300 x 1000) that two threads each take a range of rows.
            foreach ((int rows, int length) in new[] { (9, 37), (6, 16), (5, 1000), (4, 3), (17, 15), (3, 33), (2, 64), (4, 50), (3, 80), (300, 1000) })
            {
                Softmax(failures, GemmChecks.TestFloats(rng, rows * length), rows, length, 1);
            }

            // Rows holding a NaN, +inf, -inf, or only -inf: every width gives the reference's NaNs and values.
            float[] special = GemmChecks.TestFloats(rng, 6 * 40);
            special[5] = float.NaN;
            special[40 + 33] = float.PositiveInfinity;
            special[80 + 2] = float.NegativeInfinity;
            special.AsSpan(120, 40).Fill(float.NegativeInfinity);
            special[200 + 39] = float.NaN;
            Softmax(failures, special, 6, 40, 1);
        }

        return failures;
    }

    // The order as documented, written out with plain scalars.
    private static float LiteralLaneSum(float[] x)
    {
        var lanes = new float[16];
        for (int i = 0; i < x.Length; i++)
        {
            lanes[i % 16] += x[i];
        }

        for (int half = 8; half >= 1; half /= 2)
        {
            for (int l = 0; l < half; l++)
            {
                lanes[l] += lanes[l + half];
            }
        }

        return lanes[0];
    }

    private static void Compare(List<string> failures, string what, Action<KernelWidth, float[]> run, int length)
    {
        var expected = new float[length];
        run(KernelWidth.Scalar, expected);
        foreach (KernelWidth width in KernelWidths.Supported)
        {
            var actual = new float[length];
            run(width, actual);
            GemmChecks.Compare(failures, $"{width} {what}", expected, actual);
        }
    }

    private static void LongSums(List<string> failures, long[] x, int outer, int reduced, int inner)
    {
        var expectedSum = new long[outer * inner];
        var expectedProduct = new long[outer * inner];
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                long s = 0, p = 1;
                for (int r = 0; r < reduced; r++)
                {
                    long v = x[(((o * reduced) + r) * inner) + i];
                    s = unchecked(s + v);
                    p = unchecked(p * v);
                }

                expectedSum[(o * inner) + i] = s;
                expectedProduct[(o * inner) + i] = p;
            }
        }

        foreach (KernelWidth width in KernelWidths.Supported)
        {
            var sum = new long[outer * inner];
            var product = new long[outer * inner];
            ReduceKernels.IntegerSum<long>(width, x, outer, reduced, inner, sum);
            ReduceKernels.Product<long>(width, x, outer, reduced, inner, product);
            if (!sum.SequenceEqual(expectedSum) || !product.SequenceEqual(expectedProduct))
            {
                failures.Add($"{width} i64 sum/product [{outer},{reduced},{inner}] differ from exact wrapping arithmetic");
            }
        }
    }

    private static void Softmax(List<string> failures, float[] x, int outer, int reduced, int inner)
    {
        var expected = new float[x.Length];
        Run(KernelWidth.Scalar, x, expected, outer, reduced, inner);
        for (int o = 0; o < outer; o++)
        {
            for (int i = 0; i < inner; i++)
            {
                double max = double.NegativeInfinity, sum = 0;
                for (int r = 0; r < reduced; r++)
                {
                    max = Math.Max(max, x[(((o * reduced) + r) * inner) + i]);
                }

                for (int r = 0; r < reduced; r++)
                {
                    sum += Math.Exp(x[(((o * reduced) + r) * inner) + i] - max);
                }

                for (int r = 0; r < reduced; r++)
                {
                    int at = (((o * reduced) + r) * inner) + i;
                    double exact = Math.Exp(x[at] - max) / sum;
                    if (Math.Abs(exact - expected[at]) > 4e-6 * Math.Max(1e-3, exact) + 1e-30)
                    {
                        failures.Add($"softmax [{outer},{reduced},{inner}] element {at}: {expected[at]:R}, f64 gives {exact:R}");
                        return;
                    }
                }
            }
        }

        foreach (KernelWidth width in KernelWidths.Supported)
        {
            foreach (int threads in new[] { 1, 2 })
            {
                var actual = new float[x.Length];
                Run(width, x, actual, outer, reduced, inner, threads);
                GemmChecks.Compare(failures, $"{width} softmax [{outer},{reduced},{inner}] threads={threads}", expected, actual);
            }
        }
    }

    private static void Run(KernelWidth width, float[] x, float[] y, int outer, int reduced, int inner, int threads = 1)
    {
        if (inner == 1)
        {
            SoftmaxKernels.Rows(width, x, y, outer, reduced, threads);
        }
        else
        {
            SoftmaxKernels.Columns(width, x, y, outer, reduced, inner, threads);
        }
    }
}
