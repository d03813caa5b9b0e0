using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Batched f32 matrix product, the core of matmul, einsum, linear and float convolution:
/// <c>c[t, i, j] = Σ_p a[t, i, p] · b[t, p, j]</c>, with <c>a</c> laid out <c>batch × m × k</c> and <c>b</c>
/// <c>batch × k × n</c>. Every output element accumulates over <c>p</c> in order with a fused multiply-add, as tract's
/// FMA matrix kernels do, so the result does not depend on the vector width: the Vector512/256/128 paths (vectorized
/// across <c>j</c>) and the scalar reference give identical bits. Rows are spread over threads when the product is
/// large enough to pay for it.
/// </summary>
internal static class Gemm
{
    private const long ParallelThreshold = 1 << 18;
    private const int RowBlock = 4;
    private const int ColumnTile = 512;

    /// <summary>Computes <c>c</c> (<c>batch × m × n</c>).</summary>
    public static float[] Multiply(float[] a, float[] b, int batch, int m, int n, int k, ParallelOptions parallel)
    {
        var c = new float[checked(batch * m * n)];
        int blocksPerBatch = (m + RowBlock - 1) / RowBlock;
        int blocks = batch * blocksPerBatch;
        long work = (long)batch * m * n * k;
        if (work >= ParallelThreshold && blocks > 1 && parallel.MaxDegreeOfParallelism != 1)
        {
            Parallel.For(0, blocks, parallel, block => Block(a, b, c, block, blocksPerBatch, m, n, k));
        }
        else
        {
            for (int block = 0; block < blocks; block++)
            {
                Block(a, b, c, block, blocksPerBatch, m, n, k);
            }
        }

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

    // Up to RowBlock output rows of one batch, ColumnTile columns at a time: for each p in order, row r of the
    // tile gets fma(a[r, p], b[p, tile], c[r, tile]). Each b tile is read once for all rows of the block and the c
    // tiles stay in L1; every element still accumulates over p in order, so the bits do not depend on the blocking.
    private static void Block(float[] a, float[] b, float[] c, int block, int blocksPerBatch, int m, int n, int k)
    {
        int t = block / blocksPerBatch;
        int row0 = (t * m) + ((block % blocksPerBatch) * RowBlock);
        int rows = Math.Min(RowBlock, (t * m) + m - row0);
        int bBase = t * k * n;
        for (int j0 = 0; j0 < n; j0 += ColumnTile)
        {
            int width = Math.Min(ColumnTile, n - j0);
            for (int p = 0; p < k; p++)
            {
                ReadOnlySpan<float> bTile = b.AsSpan(bBase + (p * n) + j0, width);
                for (int r = 0; r < rows; r++)
                {
                    int row = row0 + r;
                    Axpy(a[(row * k) + p], bTile, c.AsSpan((row * n) + j0, width));
                }
            }
        }
    }

    /// <summary><c>y[j] = fma(alpha, x[j], y[j])</c>; bounds: <paramref name="x"/> and <paramref name="y"/> have equal lengths.</summary>
    internal static void Axpy(float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = y.Length;
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int j = 0;
        if (Vector512.IsHardwareAccelerated && n >= Vector512<float>.Count)
        {
            Vector512<float> va = Vector512.Create(alpha);
            for (; j <= n - Vector512<float>.Count; j += Vector512<float>.Count)
            {
                Vector512.FusedMultiplyAdd(va, Vector512.LoadUnsafe(ref xs, (nuint)j), Vector512.LoadUnsafe(ref ys, (nuint)j)).StoreUnsafe(ref ys, (nuint)j);
            }
        }

        if (Vector256.IsHardwareAccelerated && n - j >= Vector256<float>.Count)
        {
            Vector256<float> va = Vector256.Create(alpha);
            for (; j <= n - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                Vector256.FusedMultiplyAdd(va, Vector256.LoadUnsafe(ref xs, (nuint)j), Vector256.LoadUnsafe(ref ys, (nuint)j)).StoreUnsafe(ref ys, (nuint)j);
            }
        }

        if (Vector128.IsHardwareAccelerated && n - j >= Vector128<float>.Count)
        {
            Vector128<float> va = Vector128.Create(alpha);
            for (; j <= n - Vector128<float>.Count; j += Vector128<float>.Count)
            {
                Vector128.FusedMultiplyAdd(va, Vector128.LoadUnsafe(ref xs, (nuint)j), Vector128.LoadUnsafe(ref ys, (nuint)j)).StoreUnsafe(ref ys, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            Unsafe.Add(ref ys, j) = MathF.FusedMultiplyAdd(alpha, Unsafe.Add(ref xs, j), Unsafe.Add(ref ys, j));
        }
    }
}
