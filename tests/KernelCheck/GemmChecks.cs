using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// The evaluator's matrix products at every width this process runs against the scalar reference (one sequential
/// chain of fused multiply-adds per output over exactly converted operands): shapes that hit every register tile
/// edge, every vector tail, every block boundary (the summed axis across 256, rows across 96, columns across 512), row
/// products (m = 1) and tiled ones, operands transposed, f16, Q4_0 in row layout and in panels (exact and rounded
/// through f16), broadcast batches, one to three threads. Results must be bit-identical (NaN matching NaN).
/// </summary>
public static class GemmChecks
{
    /// <summary>Returns one line per mismatching case.</summary>
    public static List<string> Run(int seeds)
    {
        var failures = new List<string>();
        foreach (KernelWidth width in KernelWidths.Supported)
        {
            for (int seed = 0; seed < seeds; seed++)
            {
                var rng = new Random(20260101 + seed);
                Shapes(failures, width, rng);
                Layouts(failures, width, rng);
                Blocking(failures, width, rng);
                Q40(failures, width, rng);
            }
        }

        return failures;
    }

    // Row-major products over widths of every tail and small summed lengths, one row and several.
    private static void Shapes(List<string> failures, KernelWidth width, Random rng)
    {
        int[] widths = [.. Enumerable.Range(1, 70), 127, 128, 129, 515];
        foreach (int n in widths)
        {
            foreach (int k in new[] { 1, 3, 16, 33 })
            {
                foreach (int m in new[] { 1, n % 7 + 2 })
                {
                    int batch = n % 3 == 0 ? 2 : 1;
                    float[] a = TestFloats(rng, batch * m * k);
                    float[] b = TestFloats(rng, batch * k * n);
                    float[] reference = Gemm.MultiplyReference(a, b, batch, m, n, k);
                    Compare(failures, $"{width} gemm m={m} n={n} k={k} batch={batch}", reference, Gemm.Multiply(width, a, b, batch, m, n, k, 1));
                    if (n % 16 == 1)
                    {
                        Compare(failures, $"{width} gemm 3 threads m={m} n={n} k={k}", reference, Gemm.Multiply(width, a, b, batch, m, n, k, 3));
                    }
                }
            }
        }
    }

    // Transposed and f16 operands, broadcast batches, through strided views.
    private static void Layouts(List<string> failures, KernelWidth width, Random rng)
    {
        foreach ((int m, int n, int k) in new[] { (1, 37, 45), (1, 64, 300), (1, 203, 17), (4, 33, 70), (9, 70, 33), (20, 41, 260) })
        {
            foreach (bool ta in new[] { false, true })
            {
                foreach (bool tb in new[] { false, true })
                {
                    foreach (bool half in new[] { false, true })
                    {
                        const int batch = 3;
                        float[] a = TestFloats(rng, batch * m * k);
                        float[] b = TestFloats(rng, k * n); // one B for every batch item (stride 0)
                        if (half)
                        {
                            RoundToHalf(a);
                            RoundToHalf(b);
                        }

                        float[] bBatched = [.. b, .. b, .. b];
                        float[] reference = Gemm.MultiplyReference(a, bBatched, batch, m, n, k);

                        // Store A as [batch, m, k] or [batch, k, m], B as [k, n] or [n, k].
                        float[] aStored = ta ? Transpose(a, batch, m, k) : a;
                        float[] bStored = tb ? Transpose(b, 1, k, n) : b;
                        MatrixOperand aOp = half
                            ? MatrixOperand.OfHalf(ToHalf(aStored), 0, ta ? 1 : k, ta ? m : 1)
                            : MatrixOperand.OfSingle(aStored, 0, ta ? 1 : k, ta ? m : 1);
                        MatrixOperand bOp = half
                            ? MatrixOperand.OfHalf(ToHalf(bStored), 0, tb ? k : 1, tb ? 1 : n)
                            : MatrixOperand.OfSingle(bStored, 0, tb ? k : 1, tb ? 1 : n);
                        foreach (int threads in new[] { 1, 2 })
                        {
                            var c = new float[batch * m * n];
                            Gemm.Run(width, new GemmProblem
                            {
                                Batch = batch,
                                M = m,
                                N = n,
                                K = k,
                                A = aOp,
                                B = bOp,
                                ABatchOffsets = [0, m * k, 2 * m * k],
                                BBatchOffsets = [0, 0, 0],
                                C = c,
                            }, threads);
                            Compare(failures, $"{width} layout m={m} n={n} k={k} ta={ta} tb={tb} f16={half} threads={threads}", reference, c);
                        }
                    }
                }
            }
        }
    }

    // Sizes that cross every block boundary of the tiled product, on one and two threads.
    private static void Blocking(List<string> failures, KernelWidth width, Random rng)
    {
        foreach ((int m, int n, int k) in new[] { (100, 530, 600), (97, 33, 513), (2, 1030, 260) })
        {
            float[] a = TestFloats(rng, m * k);
            float[] b = TestFloats(rng, k * n);
            float[] reference = Gemm.MultiplyReference(a, b, 1, m, n, k);
            Compare(failures, $"{width} blocked m={m} n={n} k={k}", reference, Gemm.Multiply(width, a, b, 1, m, n, k, 1));
            Compare(failures, $"{width} blocked m={m} n={n} k={k} 2 threads", reference, Gemm.Multiply(width, a, b, 1, m, n, k, 2));
        }
    }

    // A times a Q4_0 weight [n, k] read transposed (linear), in row layout and in panels, exact and through f16; and a
    // Q4_0 B [k, n] read as stored.
    private static void Q40(List<string> failures, KernelWidth width, Random rng)
    {
        foreach ((int m, int n, int k) in new[] { (1, 16, 32), (1, 40, 96), (1, 130, 320), (1, 64, 64), (3, 37, 64), (9, 70, 288), (33, 50, 544) })
        {
            {
                byte[] blocks = TestData.Blocks(rng, n * k / 32);
                float[] a = TestFloats(rng, m * k);
                foreach (bool roundToHalf in new[] { false, true })
                {
                    float[] w = new float[n * k];
                    new BlockQuantData(blocks).Dequantize(0, w, roundToHalf);
                    float[] reference = Gemm.MultiplyReference(a, Transpose(w, 1, n, k), 1, m, n, k);
                    foreach (bool panels in new[] { false, true })
                    {
                        var data = new BlockQuantData(blocks);
                        if (panels && !data.PreparePanels(k))
                        {
                            failures.Add($"Q4_0 [{n}, {k}] could not be laid out in panels");
                            continue;
                        }

                        foreach (int threads in new[] { 1, 2 })
                        {
                            var c = new float[m * n];
                            Gemm.Run(width, new GemmProblem
                            {
                                M = m,
                                N = n,
                                K = k,
                                A = MatrixOperand.OfSingle(a, 0, k, 1),
                                B = MatrixOperand.OfQ40(data, roundToHalf, 0, k, 1),
                                C = c,
                            }, threads);
                            Compare(failures, $"{width} q40 m={m} n={n} k={k} panels={panels} f16={roundToHalf} threads={threads}", reference, c);
                        }
                    }

                    // The same blocks as a [k, n] B read without transposition (blocks run along n).
                    if (n % 32 == 0)
                    {
                        float[] refDirect = Gemm.MultiplyReference(a, w.AsSpan(0, k * n).ToArray(), 1, m, n, k);
                        var c = new float[m * n];
                        Gemm.Run(width, new GemmProblem
                        {
                            M = m,
                            N = n,
                            K = k,
                            A = MatrixOperand.OfSingle(a, 0, k, 1),
                            B = MatrixOperand.OfQ40(new BlockQuantData(blocks), roundToHalf, 0, 1, n),
                            C = c,
                        }, 1);
                        Compare(failures, $"{width} q40 as [k, n] m={m} n={n} k={k} f16={roundToHalf}", refDirect, c);
                    }
                }
            }
        }
    }

    internal static void Compare(List<string> failures, string what, float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            bool same = BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i])
                || (float.IsNaN(expected[i]) && float.IsNaN(actual[i]));
            if (!same)
            {
                failures.Add($"{what} element {i}: {expected[i]:R} vs {actual[i]:R}");
                return;
            }
        }
    }

    /// <summary>Random values over 16 binades, with a few zeros of both signs.</summary>
    internal static float[] TestFloats(Random rng, int count)
    {
        var v = new float[count];
        for (int i = 0; i < count; i++)
        {
            v[i] = rng.Next(64) switch
            {
                0 => 0f,
                1 => -0f,
                _ => (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-8, 8))),
            };
        }

        return v;
    }

    private static float[] Transpose(float[] x, int batch, int rows, int columns)
    {
        var t = new float[x.Length];
        for (int b = 0; b < batch; b++)
        {
            for (int r = 0; r < rows; r++)
            {
                for (int c = 0; c < columns; c++)
                {
                    t[(b * rows * columns) + (c * rows) + r] = x[(b * rows * columns) + (r * columns) + c];
                }
            }
        }

        return t;
    }

    private static void RoundToHalf(float[] x)
    {
        for (int i = 0; i < x.Length; i++)
        {
            x[i] = (float)(Half)x[i];
        }
    }

    private static Half[] ToHalf(float[] x) => Array.ConvertAll(x, v => (Half)v);
}
