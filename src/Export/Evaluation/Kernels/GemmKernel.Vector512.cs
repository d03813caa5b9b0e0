using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>AVX-512 products: 8 × 32 register tiles (16 accumulators), Q4_0 decoded with a 16-entry permute.</summary>
internal readonly struct GemmVector512Kernel : IGemmKernel
{
    /// <inheritdoc />
    public static KernelWidth Width => KernelWidth.Vector512;

    /// <inheritdoc />
    public static int MR => 8;

    /// <inheritdoc />
    public static int NR => 32;

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Tile(nint kc, ref float a, ref float b, ref float c, nint ldc, bool accumulate)
    {
        ref float r0 = ref c;
        ref float r1 = ref Unsafe.Add(ref c, ldc);
        ref float r2 = ref Unsafe.Add(ref c, 2 * ldc);
        ref float r3 = ref Unsafe.Add(ref c, 3 * ldc);
        ref float r4 = ref Unsafe.Add(ref c, 4 * ldc);
        ref float r5 = ref Unsafe.Add(ref c, 5 * ldc);
        ref float r6 = ref Unsafe.Add(ref c, 6 * ldc);
        ref float r7 = ref Unsafe.Add(ref c, 7 * ldc);
        Vector512<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51, c60, c61, c70, c71;
        if (accumulate)
        {
            c00 = Vector512.LoadUnsafe(ref r0); c01 = Vector512.LoadUnsafe(ref r0, 16);
            c10 = Vector512.LoadUnsafe(ref r1); c11 = Vector512.LoadUnsafe(ref r1, 16);
            c20 = Vector512.LoadUnsafe(ref r2); c21 = Vector512.LoadUnsafe(ref r2, 16);
            c30 = Vector512.LoadUnsafe(ref r3); c31 = Vector512.LoadUnsafe(ref r3, 16);
            c40 = Vector512.LoadUnsafe(ref r4); c41 = Vector512.LoadUnsafe(ref r4, 16);
            c50 = Vector512.LoadUnsafe(ref r5); c51 = Vector512.LoadUnsafe(ref r5, 16);
            c60 = Vector512.LoadUnsafe(ref r6); c61 = Vector512.LoadUnsafe(ref r6, 16);
            c70 = Vector512.LoadUnsafe(ref r7); c71 = Vector512.LoadUnsafe(ref r7, 16);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = c60 = c61 = c70 = c71 = Vector512<float>.Zero;
        }

        for (nint p = 0; p < kc; p++)
        {
            Vector512<float> b0 = Vector512.LoadUnsafe(ref b);
            Vector512<float> b1 = Vector512.LoadUnsafe(ref b, 16);
            Vector512<float> x = Vector512.Create(a);
            c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(Unsafe.Add(ref a, 1));
            c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(Unsafe.Add(ref a, 2));
            c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(Unsafe.Add(ref a, 3));
            c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(Unsafe.Add(ref a, 4));
            c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(Unsafe.Add(ref a, 5));
            c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(Unsafe.Add(ref a, 6));
            c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(Unsafe.Add(ref a, 7));
            c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            a = ref Unsafe.Add(ref a, 8);
            b = ref Unsafe.Add(ref b, 32);
        }

        c00.StoreUnsafe(ref r0); c01.StoreUnsafe(ref r0, 16);
        c10.StoreUnsafe(ref r1); c11.StoreUnsafe(ref r1, 16);
        c20.StoreUnsafe(ref r2); c21.StoreUnsafe(ref r2, 16);
        c30.StoreUnsafe(ref r3); c31.StoreUnsafe(ref r3, 16);
        c40.StoreUnsafe(ref r4); c41.StoreUnsafe(ref r4, 16);
        c50.StoreUnsafe(ref r5); c51.StoreUnsafe(ref r5, 16);
        c60.StoreUnsafe(ref r6); c61.StoreUnsafe(ref r6, 16);
        c70.StoreUnsafe(ref r7); c71.StoreUnsafe(ref r7, 16);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GemvRowMajor(int n, int k, ref float a, ref float b, nint ldb, ref float c)
    {
        int j = 0;
        for (; j <= n - 64; j += 64)
        {
            Vector512<float> s0 = Vector512<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            ref float row = ref Unsafe.Add(ref b, j);
            for (int p = 0; p < k; p++)
            {
                Vector512<float> x = Vector512.Create(Unsafe.Add(ref a, p));
                s0 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref row), s0);
                s1 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref row, 16), s1);
                s2 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref row, 32), s2);
                s3 = Vector512.FusedMultiplyAdd(x, Vector512.LoadUnsafe(ref row, 48), s3);
                row = ref Unsafe.Add(ref row, ldb);
            }

            ref float d = ref Unsafe.Add(ref c, j);
            s0.StoreUnsafe(ref d); s1.StoreUnsafe(ref d, 16); s2.StoreUnsafe(ref d, 32); s3.StoreUnsafe(ref d, 48);
        }

        for (; j <= n - 16; j += 16)
        {
            Vector512<float> s0 = Vector512<float>.Zero;
            ref float row = ref Unsafe.Add(ref b, j);
            for (int p = 0; p < k; p++)
            {
                s0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref a, p)), Vector512.LoadUnsafe(ref row), s0);
                row = ref Unsafe.Add(ref row, ldb);
            }

            s0.StoreUnsafe(ref Unsafe.Add(ref c, j));
        }

        GemmKernelScalar.GemvRowMajorColumns(j, n, k, ref a, ref b, ldb, ref c);
    }

    /// <inheritdoc />
    public static void GemvTransposed(int n, int k, ref float a, ref float b, nint ldb, ref float c) =>
        GemvTransposedKernels.Avx(n, k, ref a, ref b, ldb, ref c);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GemvQ40(Q40Panels w, int panel0, int panels, ref float a, ref float c)
    {
        Vector512<float> table = Levels();
        int nb = w.BlocksPerRow;
        int end = panel0 + panels;
        int panel = panel0;
        for (; panel <= end - 4; panel += 4)
        {
            // Base references taken once: no call inside the loops, so the accumulators stay in registers.
            ref byte q0 = ref w.Codes(panel + 0, 0);
            ref byte q1 = ref w.Codes(panel + 1, 0);
            ref byte q2 = ref w.Codes(panel + 2, 0);
            ref byte q3 = ref w.Codes(panel + 3, 0);
            ref ushort h0 = ref w.Scales(panel + 0, 0);
            ref ushort h1 = ref w.Scales(panel + 1, 0);
            ref ushort h2 = ref w.Scales(panel + 2, 0);
            ref ushort h3 = ref w.Scales(panel + 3, 0);
            Vector512<float> s0 = Vector512<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int blk = 0; blk < nb; blk++)
            {
                Vector512<float> f0 = Scales(ref Unsafe.Add(ref h0, blk * 16));
                Vector512<float> f1 = Scales(ref Unsafe.Add(ref h1, blk * 16));
                Vector512<float> f2 = Scales(ref Unsafe.Add(ref h2, blk * 16));
                Vector512<float> f3 = Scales(ref Unsafe.Add(ref h3, blk * 16));
                ref float x = ref Unsafe.Add(ref a, blk * 32);
                nint o = blk * 256;
                for (int q = 0; q < 4; q++)
                {
                    Vector512<int> d0 = Vector512.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref q0, o + (q * 64))));
                    Vector512<int> d1 = Vector512.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref q1, o + (q * 64))));
                    Vector512<int> d2 = Vector512.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref q2, o + (q * 64))));
                    Vector512<int> d3 = Vector512.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref q3, o + (q * 64))));
                    ref float xq = ref Unsafe.Add(ref x, q * 8);
                    Vector512<float> x0 = Vector512.Create(Unsafe.Add(ref xq, 0));
                    s0 = Vector512.FusedMultiplyAdd(x0, Avx512F.PermuteVar16x32(table, d0) * f0, s0);
                    s1 = Vector512.FusedMultiplyAdd(x0, Avx512F.PermuteVar16x32(table, d1) * f1, s1);
                    s2 = Vector512.FusedMultiplyAdd(x0, Avx512F.PermuteVar16x32(table, d2) * f2, s2);
                    s3 = Vector512.FusedMultiplyAdd(x0, Avx512F.PermuteVar16x32(table, d3) * f3, s3);
                    Vector512<float> x1 = Vector512.Create(Unsafe.Add(ref xq, 1));
                    s0 = Vector512.FusedMultiplyAdd(x1, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d0, 4)) * f0, s0);
                    s1 = Vector512.FusedMultiplyAdd(x1, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d1, 4)) * f1, s1);
                    s2 = Vector512.FusedMultiplyAdd(x1, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d2, 4)) * f2, s2);
                    s3 = Vector512.FusedMultiplyAdd(x1, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d3, 4)) * f3, s3);
                    Vector512<float> x2 = Vector512.Create(Unsafe.Add(ref xq, 2));
                    s0 = Vector512.FusedMultiplyAdd(x2, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d0, 8)) * f0, s0);
                    s1 = Vector512.FusedMultiplyAdd(x2, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d1, 8)) * f1, s1);
                    s2 = Vector512.FusedMultiplyAdd(x2, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d2, 8)) * f2, s2);
                    s3 = Vector512.FusedMultiplyAdd(x2, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d3, 8)) * f3, s3);
                    Vector512<float> x3 = Vector512.Create(Unsafe.Add(ref xq, 3));
                    s0 = Vector512.FusedMultiplyAdd(x3, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d0, 12)) * f0, s0);
                    s1 = Vector512.FusedMultiplyAdd(x3, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d1, 12)) * f1, s1);
                    s2 = Vector512.FusedMultiplyAdd(x3, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d2, 12)) * f2, s2);
                    s3 = Vector512.FusedMultiplyAdd(x3, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d3, 12)) * f3, s3);
                    Vector512<float> x4 = Vector512.Create(Unsafe.Add(ref xq, 4));
                    s0 = Vector512.FusedMultiplyAdd(x4, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d0, 16)) * f0, s0);
                    s1 = Vector512.FusedMultiplyAdd(x4, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d1, 16)) * f1, s1);
                    s2 = Vector512.FusedMultiplyAdd(x4, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d2, 16)) * f2, s2);
                    s3 = Vector512.FusedMultiplyAdd(x4, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d3, 16)) * f3, s3);
                    Vector512<float> x5 = Vector512.Create(Unsafe.Add(ref xq, 5));
                    s0 = Vector512.FusedMultiplyAdd(x5, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d0, 20)) * f0, s0);
                    s1 = Vector512.FusedMultiplyAdd(x5, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d1, 20)) * f1, s1);
                    s2 = Vector512.FusedMultiplyAdd(x5, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d2, 20)) * f2, s2);
                    s3 = Vector512.FusedMultiplyAdd(x5, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d3, 20)) * f3, s3);
                    Vector512<float> x6 = Vector512.Create(Unsafe.Add(ref xq, 6));
                    s0 = Vector512.FusedMultiplyAdd(x6, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d0, 24)) * f0, s0);
                    s1 = Vector512.FusedMultiplyAdd(x6, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d1, 24)) * f1, s1);
                    s2 = Vector512.FusedMultiplyAdd(x6, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d2, 24)) * f2, s2);
                    s3 = Vector512.FusedMultiplyAdd(x6, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d3, 24)) * f3, s3);
                    Vector512<float> x7 = Vector512.Create(Unsafe.Add(ref xq, 7));
                    s0 = Vector512.FusedMultiplyAdd(x7, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d0, 28)) * f0, s0);
                    s1 = Vector512.FusedMultiplyAdd(x7, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d1, 28)) * f1, s1);
                    s2 = Vector512.FusedMultiplyAdd(x7, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d2, 28)) * f2, s2);
                    s3 = Vector512.FusedMultiplyAdd(x7, Avx512F.PermuteVar16x32(table, Vector512.ShiftRightLogical(d3, 28)) * f3, s3);
                }
            }

            ref float out4 = ref Unsafe.Add(ref c, (panel - panel0) * 16);
            s0.StoreUnsafe(ref out4); s1.StoreUnsafe(ref out4, 16); s2.StoreUnsafe(ref out4, 32); s3.StoreUnsafe(ref out4, 48);
        }

        for (; panel < end; panel++)
        {
            ref byte q0 = ref w.Codes(panel, 0);
            ref ushort h0 = ref w.Scales(panel, 0);
            Vector512<float> s0 = Vector512<float>.Zero;
            for (int blk = 0; blk < nb; blk++)
            {
                Vector512<float> f0 = Scales(ref Unsafe.Add(ref h0, blk * 16));
                ref float x = ref Unsafe.Add(ref a, blk * 32);
                for (int q = 0; q < 4; q++)
                {
                    Vector512<int> d0 = Vector512.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref q0, (blk * 256) + (q * 64))));
                    for (int t = 0; t < 8; t++)
                    {
                        s0 = Vector512.FusedMultiplyAdd(Vector512.Create(Unsafe.Add(ref x, (q * 8) + t)), Avx512F.PermuteVar16x32(table, d0) * f0, s0);
                        d0 = Vector512.ShiftRightLogical(d0, 4);
                    }
                }
            }

            s0.StoreUnsafe(ref Unsafe.Add(ref c, (panel - panel0) * 16));
        }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodeQ40(Q40Panels w, int panel, int block, ref float dst, nint stride)
    {
        Vector512<float> table = Levels();
        Vector512<float> f = Scales(ref w.Scales(panel, block));
        ref byte codes = ref w.Codes(panel, block);
        for (int q = 0; q < 4; q++)
        {
            Vector512<int> d = Vector512.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref codes, q * 64)));
            for (int t = 0; t < 8; t++)
            {
                (Avx512F.PermuteVar16x32(table, d) * f).StoreUnsafe(ref Unsafe.Add(ref dst, ((q * 8) + t) * stride));
                d = Vector512.ShiftRightLogical(d, 4);
            }
        }
    }

    // code - 8 for codes 0..15; the permute reads only the low 4 bits of each index lane.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Levels() =>
        Vector512.Create(-8f, -7f, -6f, -5f, -4f, -3f, -2f, -1f, 0f, 1f, 2f, 3f, 4f, 5f, 6f, 7f);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Scales(ref ushort scales) =>
        HalfVectors.ToSingle(Avx512F.ConvertToVector512UInt32(Vector256.LoadUnsafe(ref scales)));
}
