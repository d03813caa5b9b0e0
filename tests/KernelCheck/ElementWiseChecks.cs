using System.Numerics;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// Element-wise loops at every width against the operators' scalar forms evaluated with plain index arithmetic:
/// broadcasting shape pairs (scalar, row, column, outer and inner broadcasts, lengths 0..70 around every vector tail),
/// row and column splits over threads, special values (NaN, ±0, ±inf) for the float operators, wrapping integers; and
/// every vectorized unary operator against its scalar form, and leaky_relu against its literal form.
/// </summary>
public static class ElementWiseChecks
{
    private static readonly (int[] X, int[] Y)[] Pairs =
    [
        ([7], [7]), ([1], [33]), ([33], [1]), ([3, 1, 5], [1, 4, 5]), ([2, 3], [2, 1]), ([4, 1], [1, 19]),
        ([2, 1, 3, 1], [1, 5, 1, 17]), ([1, 1], [6, 18]), ([5, 6, 7], [5, 6, 7]), ([300, 1000], [1, 1000]), ([300, 1000], [300, 1]),
        ([1, 600000], [1, 1]), ([2, 0, 3], [2, 1, 3]),
    ];

    /// <summary>Returns one line per mismatching case.</summary>
    public static List<string> Run(int seeds)
    {
        var failures = new List<string>();
        foreach (KernelWidth width in KernelWidths.Supported)
        {
            for (int seed = 0; seed < seeds; seed++)
            {
                var rng = new Random(4242 + seed);
                Lengths(failures, width, rng);
                foreach ((int[] x, int[] y) in Pairs)
                {
                    Broadcast(failures, width, rng, x, y);
                }

                Unary(failures, width, rng);
                LeakyRelu(failures, width, rng);
            }
        }

        return failures;
    }

    private static void Lengths(List<string> failures, KernelWidth width, Random rng)
    {
        for (int n = 0; n <= 70; n++)
        {
            Broadcast(failures, width, rng, [n], [n]);
            Broadcast(failures, width, rng, [n], [1]);
            Broadcast(failures, width, rng, [1], [n]);
        }
    }

    private static void Broadcast(List<string> failures, KernelWidth width, Random rng, int[] xs, int[] ys)
    {
        int[] outShape = xs.Zip(ys, Math.Max).ToArray();
        if (xs.Contains(0) || ys.Contains(0))
        {
            outShape = xs.Zip(ys, (a, b) => a == 0 || b == 0 ? 0 : Math.Max(a, b)).ToArray();
        }

        float[] fx = Floats(rng, Volume(xs));
        float[] fy = Floats(rng, Volume(ys));
        long[] lx = Longs(rng, Volume(xs));
        long[] ly = Longs(rng, Volume(ys));
        int[] ix = Array.ConvertAll(lx, v => (int)v);
        int[] iy = Array.ConvertAll(ly, v => (int)v);
        sbyte[] bx = Array.ConvertAll(lx, v => (sbyte)v);
        sbyte[] by = Array.ConvertAll(ly, v => (sbyte)v);
        string shapes = $"[{string.Join(",", xs)}] op [{string.Join(",", ys)}]";
        foreach (int threads in new[] { 1, 3 })
        {
            Check<AddOperator<float>, float>(failures, width, $"f32 add {shapes}", fx, xs, fy, ys, outShape, threads);
            Check<SubtractOperator<float>, float>(failures, width, $"f32 sub {shapes}", fx, xs, fy, ys, outShape, threads);
            Check<MultiplyOperator<float>, float>(failures, width, $"f32 mul {shapes}", fx, xs, fy, ys, outShape, threads);
            Check<FloatDivideOperator<float>, float>(failures, width, $"f32 div {shapes}", fx, xs, fy, ys, outShape, threads);
            Check<FloatMinOperator<float>, float>(failures, width, $"f32 min {shapes}", fx, xs, fy, ys, outShape, threads);
            Check<FloatMaxOperator<float>, float>(failures, width, $"f32 max {shapes}", fx, xs, fy, ys, outShape, threads);
            Check<MultiplyOperator<long>, long>(failures, width, $"i64 mul {shapes}", lx, xs, ly, ys, outShape, threads);
            Check<AddOperator<int>, int>(failures, width, $"i32 add {shapes}", ix, xs, iy, ys, outShape, threads);
            Check<IntegerMaxOperator<sbyte>, sbyte>(failures, width, $"i8 max {shapes}", bx, xs, by, ys, outShape, threads);
            Check<MultiplyOperator<sbyte>, sbyte>(failures, width, $"i8 mul {shapes}", bx, xs, by, ys, outShape, threads);
        }
    }

    private static void Check<TOp, T>(List<string> failures, KernelWidth width, string what, T[] x, int[] xs, T[] y, int[] ys, int[] outShape, int threads)
        where TOp : struct, IBinaryOperator<T>
        where T : struct, INumberBase<T>
    {
        int n = Volume(outShape);
        var expected = new T[n];
        int[] index = new int[outShape.Length];
        for (int i = 0; i < n; i++)
        {
            int rem = i;
            for (int a = outShape.Length - 1; a >= 0; a--)
            {
                index[a] = rem % outShape[a];
                rem /= outShape[a];
            }

            expected[i] = TOp.Invoke(x[Flat(index, xs)], y[Flat(index, ys)]);
        }

        var actual = new T[n];
        ElementWiseLoops.Binary<TOp, T>(width, x, xs, y, ys, actual, outShape, threads);
        for (int i = 0; i < n; i++)
        {
            if (!Same(expected[i], actual[i]))
            {
                failures.Add($"{width} {what} threads={threads} element {i}: {expected[i]} vs {actual[i]}");
                return;
            }
        }
    }

    private static void Unary(List<string> failures, KernelWidth width, Random rng)
    {
        foreach (int n in new[] { 0, 1, 3, 4, 7, 8, 15, 16, 17, 33, 64, 65, 1000 })
        {
            float[] x = Floats(rng, n);
            for (int i = 0; i < n; i += 5)
            {
                x[i] *= 40; // reach the clamps of exp, sigmoid and tanh
            }

            UnaryCheck<ExpOperator>(failures, width, "exp", x);
            UnaryCheck<ExpOperator>(failures, width, "exp over its range", ExpRange(n));
            UnaryCheck<AbsOperator<float>>(failures, width, "abs", x);
            UnaryCheck<NegateOperator<float>>(failures, width, "neg", x);
            UnaryCheck<SquareOperator<float>>(failures, width, "square", x);
            UnaryCheck<SqrtOperator<float>>(failures, width, "sqrt", x);
            UnaryCheck<ReciprocalOperator<float>>(failures, width, "recip", x);
            UnaryCheck<ReciprocalSqrtOperator<float>>(failures, width, "rsqrt", x);
            UnaryCheck<FloorOperator>(failures, width, "floor", x);
            UnaryCheck<CeilingOperator>(failures, width, "ceil", x);
            UnaryCheck<RoundEvenOperator>(failures, width, "round_even", x);
            UnaryCheck<SigmoidOperator>(failures, width, "sigmoid", x);
            UnaryCheck<TanhOperator>(failures, width, "tanh", x);
            UnaryCheck<SiluOperator>(failures, width, "silu", x);
        }
    }

    private static void UnaryCheck<TOp>(List<string> failures, KernelWidth width, string what, float[] x)
        where TOp : struct, IUnaryOperator<float>
    {
        var actual = new float[x.Length];
        ElementWiseLoops.Run<TOp, float>(width, x, actual);
        for (int i = 0; i < x.Length; i++)
        {
            float expected = TOp.Invoke(x[i]);
            if (!Same(expected, actual[i]))
            {
                failures.Add($"{width} {what} length {x.Length} element {i} of {x[i]:R}: {expected:R} vs {actual[i]:R}");
                return;
            }
        }
    }

    // leaky_relu against its literal form: every length 0..70 (each vector tail), long runs split over threads,
    // specials (NaN, ±0, ±inf) at every position of a vector, and alphas of either sign, zero and NaN.
    private static void LeakyRelu(List<string> failures, KernelWidth width, Random rng)
    {
        float[] specials = [float.NaN, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, -1f, 1f, -float.Epsilon, float.Epsilon, float.MinValue, float.MaxValue, BitConverter.Int32BitsToSingle(unchecked((int)0xFFC12345))];
        foreach (float alpha in new[] { 0.01f, 0.2f, 1f, -0.5f, 0f, -0f, 3e38f, float.NaN })
        {
            foreach (int n in Enumerable.Range(0, 71).Concat([127, 1000, 300001]))
            {
                float[] x = Floats(rng, n);
                for (int i = 0; i < n && i < 70 * specials.Length; i += 1 + (i % 5))
                {
                    x[i] = specials[(i / 3) % specials.Length];
                }

                foreach (int threads in n > 1000 ? new[] { 1, 3 } : new[] { 1 })
                {
                    var actual = new float[n];
                    LeakyReluKernel.Run(width, x, actual, alpha, threads);
                    for (int i = 0; i < n; i++)
                    {
                        float expected = x[i] < 0f ? alpha * x[i] : x[i];

                        // A NaN input passes through with its payload; a NaN alpha's products match as NaN.
                        bool ok = float.IsNaN(x[i])
                            ? BitConverter.SingleToInt32Bits(expected) == BitConverter.SingleToInt32Bits(actual[i])
                            : Same(expected, actual[i]);
                        if (!ok)
                        {
                            failures.Add($"{width} leaky_relu alpha={alpha:R} length {n} threads={threads} element {i} of {x[i]:R}: {expected:R} vs {actual[i]:R}");
                            return;
                        }
                    }
                }
            }
        }
    }

    // n values through exp's whole range: overflow, normal, subnormal results and underflow, plus specials.
    private static float[] ExpRange(int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (i % 7) switch
            {
                0 => float.NaN,
                1 => float.PositiveInfinity,
                2 => float.NegativeInfinity,
                _ => -110f + (205f * i / Math.Max(1, n)),
            };
        }

        return v;
    }

    /// <summary>Bitwise equality, any NaN matching any NaN.</summary>
    internal static bool Same<T>(T a, T b)
        where T : struct, INumberBase<T> =>
        (T.IsNaN(a) && T.IsNaN(b)) || (a.Equals(b) && !(a is float fa && b is float fb && BitConverter.SingleToInt32Bits(fa) != BitConverter.SingleToInt32Bits(fb)));

    /// <summary>Random floats over several binades with NaN, ±0 and ±inf sprinkled in.</summary>
    internal static float[] Floats(Random rng, int n)
    {
        var v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = rng.Next(40) switch
            {
                0 => float.NaN,
                1 => 0f,
                2 => -0f,
                3 => float.PositiveInfinity,
                4 => float.NegativeInfinity,
                _ => (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-10, 10))),
            };
        }

        return v;
    }

    private static long[] Longs(Random rng, int n)
    {
        var v = new long[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = rng.Next(4) == 0 ? rng.NextInt64() : rng.Next(-300, 300);
        }

        return v;
    }

    private static int Volume(int[] shape) => shape.Aggregate(1, (a, b) => a * b);

    private static int Flat(int[] index, int[] shape)
    {
        int flat = 0;
        for (int a = 0; a < shape.Length; a++)
        {
            flat = (flat * shape[a]) + (shape[a] == 1 ? 0 : index[a]);
        }

        return flat;
    }
}
