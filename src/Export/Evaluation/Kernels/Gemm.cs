namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Batched f32 matrix product, the core of matmul, einsum, linear and float convolution:
/// <c>c[t, i, j] = Σ_p a[t, i, p] · b[t, p, j]</c>. Every output element accumulates over <c>p</c> in order with a
/// fused multiply-add starting from +0, as tract's FMA matrix kernels do, so the result does not depend on the vector
/// width, the blocking, the path (row product or tiled) or the number of threads: the Vector512/256/128 kernels and
/// the scalar reference give identical bits. See <see cref="GemmDriver{TKernel}"/> for how the work is organized.
/// </summary>
internal static class Gemm
{
    /// <summary>Runs <paramref name="problem"/> at <paramref name="width"/> on up to <paramref name="threads"/> threads.</summary>
    public static void Run(KernelWidth width, GemmProblem problem, int threads)
    {
        switch (width)
        {
            case KernelWidth.Vector512:
                GemmDriver<GemmVector512Kernel>.Run(problem, threads);
                break;
            case KernelWidth.Vector256:
                GemmDriver<GemmVector256Kernel>.Run(problem, threads);
                break;
            case KernelWidth.Vector128:
                GemmDriver<GemmVector128Kernel>.Run(problem, threads);
                break;
            default:
                GemmDriver<GemmKernelScalar>.Run(problem, threads);
                break;
        }
    }

    /// <summary>Runs <paramref name="problem"/> at the process's width with the threads <paramref name="parallel"/> allows.</summary>
    public static void Run(GemmProblem problem, ParallelOptions parallel) => Run(KernelWidths.Active, problem, Threads(parallel));

    /// <summary>Worker threads allowed by <paramref name="parallel"/> (all cores when unrestricted).</summary>
    public static int Threads(ParallelOptions parallel) =>
        parallel.MaxDegreeOfParallelism > 0 ? parallel.MaxDegreeOfParallelism : Environment.ProcessorCount;

    /// <summary>Computes <c>c</c> (<c>batch × m × n</c>) from row-major <c>a</c> (<c>batch × m × k</c>) and <c>b</c> (<c>batch × k × n</c>).</summary>
    public static float[] Multiply(float[] a, float[] b, int batch, int m, int n, int k, ParallelOptions parallel) =>
        Multiply(KernelWidths.Active, a, b, batch, m, n, k, Threads(parallel));

    /// <summary><see cref="Multiply(float[], float[], int, int, int, int, ParallelOptions)"/> at a given width.</summary>
    public static float[] Multiply(KernelWidth width, float[] a, float[] b, int batch, int m, int n, int k, int threads)
    {
        var c = new float[checked(batch * m * n)];
        Run(width, new GemmProblem
        {
            Batch = batch,
            M = m,
            N = n,
            K = k,
            A = MatrixOperand.OfSingle(a, 0, k, 1),
            B = MatrixOperand.OfSingle(b, 0, 1, n),
            ABatchOffsets = Enumerable.Range(0, batch).Select(t => t * m * k).ToArray(),
            BBatchOffsets = Enumerable.Range(0, batch).Select(t => t * k * n).ToArray(),
            C = c,
        }, threads);
        return c;
    }

    /// <summary>Scalar reference: each element a sequential chain of <see cref="MathF.FusedMultiplyAdd"/> over p.</summary>
    public static float[] MultiplyReference(float[] a, float[] b, int batch, int m, int n, int k)
    {
        var c = new float[batch * m * n];
        for (int t = 0; t < batch; t++)
        {
            for (int i = 0; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    float s = 0;
                    for (int p = 0; p < k; p++)
                    {
                        s = MathF.FusedMultiplyAdd(a[(((t * m) + i) * k) + p], b[(((t * k) + p) * n) + j], s);
                    }

                    c[(((t * m) + i) * n) + j] = s;
                }
            }
        }

        return c;
    }
}
