using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// The evaluator's gemm against its scalar reference (a sequential chain of fused multiply-adds per output) over row
/// lengths that hit every vector width and every tail, serial and parallel; results must be bit-identical.
/// </summary>
public static class GemmChecks
{
    /// <summary>Returns one line per mismatching case.</summary>
    public static List<string> Run(int seeds)
    {
        var failures = new List<string>();
        int[] widths = [.. Enumerable.Range(1, 70), 127, 128, 129, 512, 515];
        for (int seed = 0; seed < seeds; seed++)
        {
            var rng = new Random(20260101 + seed);
            foreach (int n in widths)
            {
                foreach (int k in new[] { 1, 3, 16, 33 })
                {
                    (int batch, int m) = n % 3 == 0 ? (2, 3) : (1, 2);
                    float[] a = Random(rng, batch * m * k);
                    float[] b = Random(rng, batch * k * n);
                    float[] reference = Gemm.MultiplyReference(a, b, batch, m, n, k);
                    Compare(failures, $"gemm serial n={n} k={k}", reference, Gemm.Multiply(a, b, batch, m, n, k, new ParallelOptions { MaxDegreeOfParallelism = 1 }));
                    Compare(failures, $"gemm parallel n={n} k={k}", reference, Gemm.Multiply(a, b, batch, m, n, k, new ParallelOptions()));
                }
            }
        }

        return failures;
    }

    private static void Compare(List<string> failures, string what, float[] expected, float[] actual)
    {
        for (int i = 0; i < expected.Length; i++)
        {
            if (BitConverter.SingleToInt32Bits(expected[i]) != BitConverter.SingleToInt32Bits(actual[i]))
            {
                failures.Add($"{what} element {i}: {expected[i]:R} vs {actual[i]:R}");
                return;
            }
        }
    }

    private static float[] Random(Random rng, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-8, 8)))).ToArray();
}
