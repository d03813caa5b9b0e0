using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.KernelCheck;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// The gemm kernel against its scalar reference, in-process; the shared KernelCheck process (run by the kernel tests
/// with AVX-512, AVX2 and all hardware intrinsics switched off in turn) repeats <see cref="GemmChecks"/> per ISA.
/// </summary>
public class GemmKernelTests
{
    [Fact]
    public void GemmIsBitIdenticalToTheScalarFmaReference()
    {
        List<string> failures = GemmChecks.Run(seeds: 2);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20)));
    }

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
}
