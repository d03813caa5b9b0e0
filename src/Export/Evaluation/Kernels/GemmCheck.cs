namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Self-check of <see cref="Gemm"/> against its scalar reference over row lengths that exercise every vector width
/// and every tail (0 to 3 vectors plus 0 to 15 leftovers), serial and parallel. Used by the tests, in-process and in
/// child processes with hardware paths switched off (<c>DOTNET_EnableAVX512F=0</c>, <c>DOTNET_EnableAVX2=0</c>,
/// <c>DOTNET_EnableHWIntrinsic=0</c>).
/// </summary>
internal static class GemmCheck
{
    /// <summary>Returns the number of mismatching cases (0 when every result is bit-identical).</summary>
    public static int Run(TextWriter log)
    {
        var rng = new Random(20260101);
        int failures = 0;
        int[] widths = [.. Enumerable.Range(1, 70), 127, 128, 129, 512, 515];
        foreach (int n in widths)
        {
            foreach (int k in new[] { 1, 3, 16, 33 })
            {
                (int batch, int m) = n % 3 == 0 ? (2, 3) : (1, 2);
                float[] a = Random(rng, batch * m * k);
                float[] b = Random(rng, batch * k * n);
                float[] reference = Gemm.MultiplyReference(a, b, batch, m, n, k);
                var serial = new ParallelOptions { MaxDegreeOfParallelism = 1 };
                if (!Same(reference, Gemm.Multiply(a, b, batch, m, n, k, serial)) || !Same(reference, Gemm.Multiply(a, b, batch, m, n, k, new ParallelOptions())))
                {
                    log.WriteLine($"gemm mismatch: batch {batch}, m {m}, n {n}, k {k}");
                    failures++;
                }
            }
        }

        return failures;
    }

    private static float[] Random(Random rng, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-8, 8)))).ToArray();

    private static bool Same(float[] x, float[] y) =>
        x.Length == y.Length && x.Zip(y).All(p => BitConverter.SingleToInt32Bits(p.First) == BitConverter.SingleToInt32Bits(p.Second));
}
