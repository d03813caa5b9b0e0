using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>256-bit products (AVX2): 6 × 16 register tiles (12 accumulators); Q4_0 codes converted and scaled in registers.</summary>
internal readonly struct GemmVector256Kernel : IGemmKernel
{
    /// <inheritdoc />
    public static KernelWidth Width => KernelWidth.Vector256;

    /// <inheritdoc />
    public static int MR => 6;

    /// <inheritdoc />
    public static int NR => 16;

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
        Vector256<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Vector256.LoadUnsafe(ref r0); c01 = Vector256.LoadUnsafe(ref r0, 8);
            c10 = Vector256.LoadUnsafe(ref r1); c11 = Vector256.LoadUnsafe(ref r1, 8);
            c20 = Vector256.LoadUnsafe(ref r2); c21 = Vector256.LoadUnsafe(ref r2, 8);
            c30 = Vector256.LoadUnsafe(ref r3); c31 = Vector256.LoadUnsafe(ref r3, 8);
            c40 = Vector256.LoadUnsafe(ref r4); c41 = Vector256.LoadUnsafe(ref r4, 8);
            c50 = Vector256.LoadUnsafe(ref r5); c51 = Vector256.LoadUnsafe(ref r5, 8);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector256<float>.Zero;
        }

        for (nint p = 0; p < kc; p++)
        {
            Vector256<float> b0 = Vector256.LoadUnsafe(ref b);
            Vector256<float> b1 = Vector256.LoadUnsafe(ref b, 8);
            Vector256<float> x = Vector256.Create(a);
            c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01);
            x = Vector256.Create(Unsafe.Add(ref a, 1));
            c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11);
            x = Vector256.Create(Unsafe.Add(ref a, 2));
            c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21);
            x = Vector256.Create(Unsafe.Add(ref a, 3));
            c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31);
            x = Vector256.Create(Unsafe.Add(ref a, 4));
            c40 = Vector256.FusedMultiplyAdd(x, b0, c40); c41 = Vector256.FusedMultiplyAdd(x, b1, c41);
            x = Vector256.Create(Unsafe.Add(ref a, 5));
            c50 = Vector256.FusedMultiplyAdd(x, b0, c50); c51 = Vector256.FusedMultiplyAdd(x, b1, c51);
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 16);
        }

        c00.StoreUnsafe(ref r0); c01.StoreUnsafe(ref r0, 8);
        c10.StoreUnsafe(ref r1); c11.StoreUnsafe(ref r1, 8);
        c20.StoreUnsafe(ref r2); c21.StoreUnsafe(ref r2, 8);
        c30.StoreUnsafe(ref r3); c31.StoreUnsafe(ref r3, 8);
        c40.StoreUnsafe(ref r4); c41.StoreUnsafe(ref r4, 8);
        c50.StoreUnsafe(ref r5); c51.StoreUnsafe(ref r5, 8);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GemvRowMajor(int n, int k, ref float a, ref float b, nint ldb, ref float c)
    {
        int j = 0;
        for (; j <= n - 32; j += 32)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            ref float row = ref Unsafe.Add(ref b, j);
            for (int p = 0; p < k; p++)
            {
                Vector256<float> x = Vector256.Create(Unsafe.Add(ref a, p));
                s0 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref row), s0);
                s1 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref row, 8), s1);
                s2 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref row, 16), s2);
                s3 = Vector256.FusedMultiplyAdd(x, Vector256.LoadUnsafe(ref row, 24), s3);
                row = ref Unsafe.Add(ref row, ldb);
            }

            ref float d = ref Unsafe.Add(ref c, j);
            s0.StoreUnsafe(ref d); s1.StoreUnsafe(ref d, 8); s2.StoreUnsafe(ref d, 16); s3.StoreUnsafe(ref d, 24);
        }

        for (; j <= n - 8; j += 8)
        {
            Vector256<float> s0 = Vector256<float>.Zero;
            ref float row = ref Unsafe.Add(ref b, j);
            for (int p = 0; p < k; p++)
            {
                s0 = Vector256.FusedMultiplyAdd(Vector256.Create(Unsafe.Add(ref a, p)), Vector256.LoadUnsafe(ref row), s0);
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
        int nb = w.BlocksPerRow;
        int end = panel0 + panels;
        int panel = panel0;
        for (; panel <= end - 2; panel += 2)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int blk = 0; blk < nb; blk++)
            {
                (Vector256<float> f0, Vector256<float> f1) = Scales(w, panel, blk);
                (Vector256<float> f2, Vector256<float> f3) = Scales(w, panel + 1, blk);
                ref byte qa = ref w.Codes(panel, blk);
                ref byte qb = ref w.Codes(panel + 1, blk);
                ref float x = ref Unsafe.Add(ref a, blk * 32);
                for (int q = 0; q < 4; q++)
                {
                    Vector256<int> d0 = Load(ref qa, q * 64), d1 = Load(ref qa, (q * 64) + 32);
                    Vector256<int> d2 = Load(ref qb, q * 64), d3 = Load(ref qb, (q * 64) + 32);
                    for (int t = 0; t < 8; t++)
                    {
                        Vector256<float> xv = Vector256.Create(Unsafe.Add(ref x, (q * 8) + t));
                        s0 = Vector256.FusedMultiplyAdd(xv, Weight(d0, f0), s0);
                        s1 = Vector256.FusedMultiplyAdd(xv, Weight(d1, f1), s1);
                        s2 = Vector256.FusedMultiplyAdd(xv, Weight(d2, f2), s2);
                        s3 = Vector256.FusedMultiplyAdd(xv, Weight(d3, f3), s3);
                        d0 = Vector256.ShiftRightLogical(d0, 4);
                        d1 = Vector256.ShiftRightLogical(d1, 4);
                        d2 = Vector256.ShiftRightLogical(d2, 4);
                        d3 = Vector256.ShiftRightLogical(d3, 4);
                    }
                }
            }

            ref float o = ref Unsafe.Add(ref c, (panel - panel0) * 16);
            s0.StoreUnsafe(ref o); s1.StoreUnsafe(ref o, 8); s2.StoreUnsafe(ref o, 16); s3.StoreUnsafe(ref o, 24);
        }

        for (; panel < end; panel++)
        {
            Vector256<float> s0 = Vector256<float>.Zero, s1 = s0;
            for (int blk = 0; blk < nb; blk++)
            {
                (Vector256<float> f0, Vector256<float> f1) = Scales(w, panel, blk);
                ref byte qa = ref w.Codes(panel, blk);
                ref float x = ref Unsafe.Add(ref a, blk * 32);
                for (int q = 0; q < 4; q++)
                {
                    Vector256<int> d0 = Load(ref qa, q * 64), d1 = Load(ref qa, (q * 64) + 32);
                    for (int t = 0; t < 8; t++)
                    {
                        Vector256<float> xv = Vector256.Create(Unsafe.Add(ref x, (q * 8) + t));
                        s0 = Vector256.FusedMultiplyAdd(xv, Weight(d0, f0), s0);
                        s1 = Vector256.FusedMultiplyAdd(xv, Weight(d1, f1), s1);
                        d0 = Vector256.ShiftRightLogical(d0, 4);
                        d1 = Vector256.ShiftRightLogical(d1, 4);
                    }
                }
            }

            ref float o = ref Unsafe.Add(ref c, (panel - panel0) * 16);
            s0.StoreUnsafe(ref o); s1.StoreUnsafe(ref o, 8);
        }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodeQ40(Q40Panels w, int panel, int block, ref float dst, nint stride)
    {
        (Vector256<float> f0, Vector256<float> f1) = Scales(w, panel, block);
        ref byte codes = ref w.Codes(panel, block);
        for (int q = 0; q < 4; q++)
        {
            Vector256<int> d0 = Load(ref codes, q * 64), d1 = Load(ref codes, (q * 64) + 32);
            for (int t = 0; t < 8; t++)
            {
                ref float row = ref Unsafe.Add(ref dst, ((q * 8) + t) * stride);
                Weight(d0, f0).StoreUnsafe(ref row);
                Weight(d1, f1).StoreUnsafe(ref row, 8);
                d0 = Vector256.ShiftRightLogical(d0, 4);
                d1 = Vector256.ShiftRightLogical(d1, 4);
            }
        }
    }

    // (code - 8) · scale from the low nibble of each lane: both steps exact.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Weight(Vector256<int> codes, Vector256<float> scale) =>
        (Vector256.ConvertToSingle(codes & Vector256.Create(15)) - Vector256.Create(8f)) * scale;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<int> Load(ref byte codes, int offset) =>
        Vector256.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref codes, offset)));

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Low, Vector256<float> High) Scales(Q40Panels w, int panel, int block)
    {
        Vector256<ushort> bits = Vector256.LoadUnsafe(ref w.Scales(panel, block));
        return (HalfVectors.ToSingle(Vector256.WidenLower(bits)), HalfVectors.ToSingle(Vector256.WidenUpper(bits)));
    }
}
