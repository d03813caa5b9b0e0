using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// The gemm kernel against its scalar reference (a sequential chain of fused multiply-adds per output), over row
/// lengths that hit every vector width and every tail, serial and parallel; bit-identical results are required.
/// The ISA matrix re-runs it with Vector512, Vector256 and all hardware paths switched off.
/// </summary>
public class GemmKernelTests
{
    [Fact]
    public void GemmIsBitIdenticalToTheScalarFmaReference()
    {
        IsaMatrix.AssertSwitchesHonoured();
        var rng = new Random(20260101);
        int[] widths = [.. Enumerable.Range(1, 70), 127, 128, 129, 512, 515];
        foreach (int n in widths)
        {
            foreach (int k in new[] { 1, 3, 16, 33 })
            {
                (int batch, int m) = n % 3 == 0 ? (2, 3) : (1, 2);
                float[] a = Random(rng, batch * m * k);
                float[] b = Random(rng, batch * k * n);
                float[] reference = Gemm.MultiplyReference(a, b, batch, m, n, k);
                AssertBits(reference, Gemm.Multiply(a, b, batch, m, n, k, new ParallelOptions { MaxDegreeOfParallelism = 1 }), n, k);
                AssertBits(reference, Gemm.Multiply(a, b, batch, m, n, k, new ParallelOptions()), n, k);
            }
        }
    }

    [Fact]
    public void GemmUnderTheIsaMatrix() =>
        IsaMatrix.Run(typeof(GemmKernelTests).Assembly.Location, "FullyQualifiedName~GemmKernelTests.GemmIsBitIdenticalToTheScalarFmaReference");

    [Fact]
    public void ReferenceIsTheExactFmaChain()
    {
        // -(1 + 2e) + (1 + e)^2 = e^2 exactly: the fused second step keeps the e^2 that rounding (1 + e)^2 first
        // would lose (a plain multiply-then-add gives 0). The k order is the written order.
        float e = MathF.Pow(2, -12);
        float[] a = [-1, 1 + e];
        float[] b = [1 + (2 * e), 1 + e];
        Assert.Equal(e * e, Gemm.MultiplyReference(a, b, 1, 1, 1, 2)[0]);
        Assert.Equal(e * e, Gemm.Multiply(a, b, 1, 1, 1, 2, new ParallelOptions())[0]);
    }

    private static void AssertBits(float[] expected, float[] actual, int n, int k)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]), $"n {n}, k {k}, element {i}: {expected[i]:R} vs {actual[i]:R}");
        }
    }

    private static float[] Random(Random rng, int count) =>
        Enumerable.Range(0, count).Select(_ => (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-8, 8)))).ToArray();
}
