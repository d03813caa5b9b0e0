using System.Numerics.Tensors;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Batched f32 dot products, the core of matmul, einsum, linear and float convolution:
/// <c>c[t, i, j] = Σ_k a[t, i, k] · b[t, j, k]</c> with both operands contiguous along k, so each output element is one
/// <see cref="TensorPrimitives.Dot(ReadOnlySpan{float}, ReadOnlySpan{float})"/> (vectorized, f32 accumulation).
/// Rows are spread over threads when the product is large enough to pay for it.
/// </summary>
internal static class Gemm
{
    private const long ParallelThreshold = 1 << 18;

    /// <summary>Computes <c>c</c> (<c>batch × m × n</c>) from <c>a</c> (<c>batch × m × k</c>) and <c>b</c> (<c>batch × n × k</c>).</summary>
    public static float[] DotRows(float[] a, float[] b, int batch, int m, int n, int k, ParallelOptions parallel)
    {
        var c = new float[checked(batch * m * n)];
        int rows = batch * m;
        long work = (long)rows * n * k;
        if (work >= ParallelThreshold && rows > 1 && parallel.MaxDegreeOfParallelism != 1)
        {
            Parallel.For(0, rows, parallel, row => Row(a, b, c, row, m, n, k));
        }
        else
        {
            for (int row = 0; row < rows; row++)
            {
                Row(a, b, c, row, m, n, k);
            }
        }

        return c;
    }

    /// <summary>Scalar reference: a plain sequential f32 sum per output element.</summary>
    public static float[] DotRowsReference(float[] a, float[] b, int batch, int m, int n, int k)
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
                        s += a[(((t * m) + i) * k) + p] * b[(((t * n) + j) * k) + p];
                    }

                    c[(((t * m) + i) * n) + j] = s;
                }
            }
        }

        return c;
    }

    private static void Row(float[] a, float[] b, float[] c, int row, int m, int n, int k)
    {
        int t = row / m;
        ReadOnlySpan<float> x = a.AsSpan(row * k, k);
        Span<float> dst = c.AsSpan(row * n, n);
        int bBase = t * n * k;
        for (int j = 0; j < n; j++)
        {
            dst[j] = TensorPrimitives.Dot(x, b.AsSpan(bBase + (j * k), k));
        }
    }
}
