using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// One row times a B stored transposed (<c>b[j·ldb + p]</c>, e.g. a <c>linear</c> weight <c>[out, in]</c>): rows of B
/// are read in blocks of 8 (AVX) or 4 (SSE) values and transposed in registers, so each vector holds one position p of
/// 8 (4) outputs and every output still accumulates over p in order with fused multiply-adds.
/// </summary>
internal static class GemvTransposedKernels
{
    /// <summary>AVX path, 16 outputs (two chains) at a time, then 8 (one chain); scalar chains for the last columns.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avx(int n, int k, ref float a, ref float b, nint ldb, ref float c)
    {
        if (!System.Runtime.Intrinsics.X86.Avx.IsSupported)
        {
            GemmKernelScalar.GemvTransposedColumns(0, n, k, ref a, ref b, ldb, ref c);
            return;
        }

        int j = 0;
        for (; j <= n - 16; j += 16)
        {
            // Two independent chains (outputs j..j+7 and j+8..j+15): one chain alone waits on the FMA latency.
            ref float r0 = ref Unsafe.Add(ref b, j * ldb);
            ref float r8 = ref Unsafe.Add(ref b, (j + 8) * ldb);
            Vector256<float> s0 = Vector256<float>.Zero;
            Vector256<float> s1 = Vector256<float>.Zero;
            int p = 0;
            for (; p <= k - 8; p += 8)
            {
                ref float x = ref Unsafe.Add(ref a, p);
                s0 = Block8(ref Unsafe.Add(ref r0, p), ldb, ref x, s0);
                s1 = Block8(ref Unsafe.Add(ref r8, p), ldb, ref x, s1);
            }

            for (; p < k; p++)
            {
                Vector256<float> xp = Vector256.Create(Unsafe.Add(ref a, p));
                s0 = Vector256.FusedMultiplyAdd(xp, Column8(ref Unsafe.Add(ref r0, p), ldb), s0);
                s1 = Vector256.FusedMultiplyAdd(xp, Column8(ref Unsafe.Add(ref r8, p), ldb), s1);
            }

            s0.StoreUnsafe(ref Unsafe.Add(ref c, j));
            s1.StoreUnsafe(ref Unsafe.Add(ref c, j + 8));
        }

        for (; j <= n - 8; j += 8)
        {
            ref float r0 = ref Unsafe.Add(ref b, j * ldb);
            Vector256<float> s = Vector256<float>.Zero;
            int p = 0;
            for (; p <= k - 8; p += 8)
            {
                s = Block8(ref Unsafe.Add(ref r0, p), ldb, ref Unsafe.Add(ref a, p), s);
            }

            for (; p < k; p++)
            {
                s = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, p)), Column8(ref Unsafe.Add(ref r0, p), ldb), s);
            }

            s.StoreUnsafe(ref Unsafe.Add(ref c, j));
        }

        GemmKernelScalar.GemvTransposedColumns(j, n, k, ref a, ref b, ldb, ref c);
    }

    // Positions p..p+7 of 8 rows of B (starting at col, rows ldb apart) transposed in registers, each position
    // added to the chain in order: s += x[p + i] * column i.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Block8(ref float col, nint ldb, ref float x, Vector256<float> s)
    {
        Transposes.LoadTransposed8x8(ref col, ldb, out Vector256<float> v0, out Vector256<float> v1, out Vector256<float> v2, out Vector256<float> v3, out Vector256<float> v4, out Vector256<float> v5, out Vector256<float> v6, out Vector256<float> v7);
        s = Vector256.FusedMultiplyAdd(Vector256.Create(x), v0, s);
        s = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 1)), v1, s);
        s = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 2)), v2, s);
        s = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 3)), v3, s);
        s = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 4)), v4, s);
        s = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 5)), v5, s);
        s = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 6)), v6, s);
        return Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref x, 7)), v7, s);
    }

    // Position p (at col) of 8 rows of B, ldb apart.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Column8(ref float col, nint ldb) => Vector256.Create(
        col, Unsafe.Add(ref col, ldb), Unsafe.Add(ref col, 2 * ldb), Unsafe.Add(ref col, 3 * ldb),
        Unsafe.Add(ref col, 4 * ldb), Unsafe.Add(ref col, 5 * ldb), Unsafe.Add(ref col, 6 * ldb), Unsafe.Add(ref col, 7 * ldb));

    /// <summary>SSE path, 4 outputs at a time; scalar chains for the last columns (and without SSE).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Sse(int n, int k, ref float a, ref float b, nint ldb, ref float c)
    {
        if (!System.Runtime.Intrinsics.X86.Sse.IsSupported)
        {
            GemmKernelScalar.GemvTransposedColumns(0, n, k, ref a, ref b, ldb, ref c);
            return;
        }

        int j = 0;
        for (; j <= n - 4; j += 4)
        {
            ref float r0 = ref Unsafe.Add(ref b, j * ldb);
            Vector128<float> s = Vector128<float>.Zero;
            int p = 0;
            for (; p <= k - 4; p += 4)
            {
                ref float col = ref Unsafe.Add(ref r0, p);
                Vector128<float> v0 = Vector128.LoadUnsafe(ref col);
                Vector128<float> v1 = Vector128.LoadUnsafe(ref Unsafe.Add(ref col, ldb));
                Vector128<float> v2 = Vector128.LoadUnsafe(ref Unsafe.Add(ref col, 2 * ldb));
                Vector128<float> v3 = Vector128.LoadUnsafe(ref Unsafe.Add(ref col, 3 * ldb));
                Transposes.Transpose4x4(ref v0, ref v1, ref v2, ref v3);
                ref float x = ref Unsafe.Add(ref a, p);
                s = Vector128.FusedMultiplyAdd(Vector128.Create(x), v0, s);
                s = Vector128.FusedMultiplyAdd(Vector128.Create(Unsafe.Add(ref x, 1)), v1, s);
                s = Vector128.FusedMultiplyAdd(Vector128.Create(Unsafe.Add(ref x, 2)), v2, s);
                s = Vector128.FusedMultiplyAdd(Vector128.Create(Unsafe.Add(ref x, 3)), v3, s);
            }

            for (; p < k; p++)
            {
                ref float col = ref Unsafe.Add(ref r0, p);
                Vector128<float> v = Vector128.Create(col, Unsafe.Add(ref col, ldb), Unsafe.Add(ref col, 2 * ldb), Unsafe.Add(ref col, 3 * ldb));
                s = Vector128.FusedMultiplyAdd(Vector128.Create(Unsafe.Add(ref a, p)), v, s);
            }

            s.StoreUnsafe(ref Unsafe.Add(ref c, j));
        }

        GemmKernelScalar.GemvTransposedColumns(j, n, k, ref a, ref b, ldb, ref c);
    }
}

/// <summary>In-register transposes of square blocks of floats (exact data movement).</summary>
internal static class Transposes
{
    /// <summary>
    /// Loads 8 rows of 8 floats, <paramref name="stride"/> floats apart from <paramref name="first"/>, and transposes
    /// them (<see cref="Transpose8x8"/>): v<c>i</c> holds element <c>i</c> of each row. The caller proves the 8 rows lie
    /// within its buffer.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void LoadTransposed8x8(
        ref float first, nint stride,
        out Vector256<float> v0, out Vector256<float> v1, out Vector256<float> v2, out Vector256<float> v3,
        out Vector256<float> v4, out Vector256<float> v5, out Vector256<float> v6, out Vector256<float> v7)
    {
        v0 = Vector256.LoadUnsafe(ref first);
        v1 = Vector256.LoadUnsafe(ref Unsafe.Add(ref first, stride));
        v2 = Vector256.LoadUnsafe(ref Unsafe.Add(ref first, 2 * stride));
        v3 = Vector256.LoadUnsafe(ref Unsafe.Add(ref first, 3 * stride));
        v4 = Vector256.LoadUnsafe(ref Unsafe.Add(ref first, 4 * stride));
        v5 = Vector256.LoadUnsafe(ref Unsafe.Add(ref first, 5 * stride));
        v6 = Vector256.LoadUnsafe(ref Unsafe.Add(ref first, 6 * stride));
        v7 = Vector256.LoadUnsafe(ref Unsafe.Add(ref first, 7 * stride));
        Transpose8x8(ref v0, ref v1, ref v2, ref v3, ref v4, ref v5, ref v6, ref v7);
    }

    /// <summary>Rows v0..v7 of an 8 × 8 block become its columns (AVX).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose8x8(
        ref Vector256<float> v0, ref Vector256<float> v1, ref Vector256<float> v2, ref Vector256<float> v3,
        ref Vector256<float> v4, ref Vector256<float> v5, ref Vector256<float> v6, ref Vector256<float> v7)
    {
        Vector256<float> t0 = Avx.UnpackLow(v0, v1), t1 = Avx.UnpackHigh(v0, v1);
        Vector256<float> t2 = Avx.UnpackLow(v2, v3), t3 = Avx.UnpackHigh(v2, v3);
        Vector256<float> t4 = Avx.UnpackLow(v4, v5), t5 = Avx.UnpackHigh(v4, v5);
        Vector256<float> t6 = Avx.UnpackLow(v6, v7), t7 = Avx.UnpackHigh(v6, v7);
        Vector256<float> u0 = Avx.Shuffle(t0, t2, 0x44), u1 = Avx.Shuffle(t0, t2, 0xEE);
        Vector256<float> u2 = Avx.Shuffle(t1, t3, 0x44), u3 = Avx.Shuffle(t1, t3, 0xEE);
        Vector256<float> u4 = Avx.Shuffle(t4, t6, 0x44), u5 = Avx.Shuffle(t4, t6, 0xEE);
        Vector256<float> u6 = Avx.Shuffle(t5, t7, 0x44), u7 = Avx.Shuffle(t5, t7, 0xEE);
        v0 = Avx.Permute2x128(u0, u4, 0x20);
        v1 = Avx.Permute2x128(u1, u5, 0x20);
        v2 = Avx.Permute2x128(u2, u6, 0x20);
        v3 = Avx.Permute2x128(u3, u7, 0x20);
        v4 = Avx.Permute2x128(u0, u4, 0x31);
        v5 = Avx.Permute2x128(u1, u5, 0x31);
        v6 = Avx.Permute2x128(u2, u6, 0x31);
        v7 = Avx.Permute2x128(u3, u7, 0x31);
    }

    /// <summary>Rows v0..v3 of a 4 × 4 block become its columns (SSE).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Transpose4x4(ref Vector128<float> v0, ref Vector128<float> v1, ref Vector128<float> v2, ref Vector128<float> v3)
    {
        Vector128<float> t0 = Sse.UnpackLow(v0, v1), t1 = Sse.UnpackHigh(v0, v1);
        Vector128<float> t2 = Sse.UnpackLow(v2, v3), t3 = Sse.UnpackHigh(v2, v3);
        v0 = Sse.MoveLowToHigh(t0, t2);
        v1 = Sse.MoveHighToLow(t2, t0);
        v2 = Sse.MoveLowToHigh(t1, t3);
        v3 = Sse.MoveHighToLow(t3, t1);
    }
}
