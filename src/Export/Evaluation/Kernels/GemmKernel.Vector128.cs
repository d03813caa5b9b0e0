using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>128-bit products (SSE, NEON): 6 × 8 register tiles (12 accumulators).</summary>
internal readonly struct GemmVector128Kernel : IGemmKernel
{
    /// <inheritdoc />
    public static KernelWidth Width => KernelWidth.Vector128;

    /// <inheritdoc />
    public static int MR => 6;

    /// <inheritdoc />
    public static int NR => 8;

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
        Vector128<float> c00, c01, c10, c11, c20, c21, c30, c31, c40, c41, c50, c51;
        if (accumulate)
        {
            c00 = Vector128.LoadUnsafe(ref r0); c01 = Vector128.LoadUnsafe(ref r0, 4);
            c10 = Vector128.LoadUnsafe(ref r1); c11 = Vector128.LoadUnsafe(ref r1, 4);
            c20 = Vector128.LoadUnsafe(ref r2); c21 = Vector128.LoadUnsafe(ref r2, 4);
            c30 = Vector128.LoadUnsafe(ref r3); c31 = Vector128.LoadUnsafe(ref r3, 4);
            c40 = Vector128.LoadUnsafe(ref r4); c41 = Vector128.LoadUnsafe(ref r4, 4);
            c50 = Vector128.LoadUnsafe(ref r5); c51 = Vector128.LoadUnsafe(ref r5, 4);
        }
        else
        {
            c00 = c01 = c10 = c11 = c20 = c21 = c30 = c31 = c40 = c41 = c50 = c51 = Vector128<float>.Zero;
        }

        for (nint p = 0; p < kc; p++)
        {
            Vector128<float> b0 = Vector128.LoadUnsafe(ref b);
            Vector128<float> b1 = Vector128.LoadUnsafe(ref b, 4);
            Vector128<float> x = Vector128.Create(a);
            c00 = Vector128.FusedMultiplyAdd(x, b0, c00); c01 = Vector128.FusedMultiplyAdd(x, b1, c01);
            x = Vector128.Create(Unsafe.Add(ref a, 1));
            c10 = Vector128.FusedMultiplyAdd(x, b0, c10); c11 = Vector128.FusedMultiplyAdd(x, b1, c11);
            x = Vector128.Create(Unsafe.Add(ref a, 2));
            c20 = Vector128.FusedMultiplyAdd(x, b0, c20); c21 = Vector128.FusedMultiplyAdd(x, b1, c21);
            x = Vector128.Create(Unsafe.Add(ref a, 3));
            c30 = Vector128.FusedMultiplyAdd(x, b0, c30); c31 = Vector128.FusedMultiplyAdd(x, b1, c31);
            x = Vector128.Create(Unsafe.Add(ref a, 4));
            c40 = Vector128.FusedMultiplyAdd(x, b0, c40); c41 = Vector128.FusedMultiplyAdd(x, b1, c41);
            x = Vector128.Create(Unsafe.Add(ref a, 5));
            c50 = Vector128.FusedMultiplyAdd(x, b0, c50); c51 = Vector128.FusedMultiplyAdd(x, b1, c51);
            a = ref Unsafe.Add(ref a, 6);
            b = ref Unsafe.Add(ref b, 8);
        }

        c00.StoreUnsafe(ref r0); c01.StoreUnsafe(ref r0, 4);
        c10.StoreUnsafe(ref r1); c11.StoreUnsafe(ref r1, 4);
        c20.StoreUnsafe(ref r2); c21.StoreUnsafe(ref r2, 4);
        c30.StoreUnsafe(ref r3); c31.StoreUnsafe(ref r3, 4);
        c40.StoreUnsafe(ref r4); c41.StoreUnsafe(ref r4, 4);
        c50.StoreUnsafe(ref r5); c51.StoreUnsafe(ref r5, 4);
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GemvRowMajor(int n, int k, ref float a, ref float b, nint ldb, ref float c)
    {
        int j = 0;
        for (; j <= n - 16; j += 16)
        {
            Vector128<float> s0 = Vector128<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            ref float row = ref Unsafe.Add(ref b, j);
            for (int p = 0; p < k; p++)
            {
                Vector128<float> x = Vector128.Create(Unsafe.Add(ref a, p));
                s0 = Vector128.FusedMultiplyAdd(x, Vector128.LoadUnsafe(ref row), s0);
                s1 = Vector128.FusedMultiplyAdd(x, Vector128.LoadUnsafe(ref row, 4), s1);
                s2 = Vector128.FusedMultiplyAdd(x, Vector128.LoadUnsafe(ref row, 8), s2);
                s3 = Vector128.FusedMultiplyAdd(x, Vector128.LoadUnsafe(ref row, 12), s3);
                row = ref Unsafe.Add(ref row, ldb);
            }

            ref float d = ref Unsafe.Add(ref c, j);
            s0.StoreUnsafe(ref d); s1.StoreUnsafe(ref d, 4); s2.StoreUnsafe(ref d, 8); s3.StoreUnsafe(ref d, 12);
        }

        for (; j <= n - 4; j += 4)
        {
            Vector128<float> s0 = Vector128<float>.Zero;
            ref float row = ref Unsafe.Add(ref b, j);
            for (int p = 0; p < k; p++)
            {
                s0 = Vector128.FusedMultiplyAdd(Vector128.Create(Unsafe.Add(ref a, p)), Vector128.LoadUnsafe(ref row), s0);
                row = ref Unsafe.Add(ref row, ldb);
            }

            s0.StoreUnsafe(ref Unsafe.Add(ref c, j));
        }

        GemmKernelScalar.GemvRowMajorColumns(j, n, k, ref a, ref b, ldb, ref c);
    }

    /// <inheritdoc />
    public static void GemvTransposed(int n, int k, ref float a, ref float b, nint ldb, ref float c) =>
        GemvTransposedKernels.Sse(n, k, ref a, ref b, ldb, ref c);

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void GemvQ40(Q40Panels w, int panel0, int panels, ref float a, ref float c)
    {
        int nb = w.BlocksPerRow;
        for (int panel = panel0; panel < panel0 + panels; panel++)
        {
            Vector128<float> s0 = Vector128<float>.Zero, s1 = s0, s2 = s0, s3 = s0;
            for (int blk = 0; blk < nb; blk++)
            {
                Vector128<float> f0 = Scales(w, panel, blk, 0), f1 = Scales(w, panel, blk, 4), f2 = Scales(w, panel, blk, 8), f3 = Scales(w, panel, blk, 12);
                ref byte codes = ref w.Codes(panel, blk);
                ref float x = ref Unsafe.Add(ref a, blk * 32);
                for (int q = 0; q < 4; q++)
                {
                    Vector128<int> d0 = Load(ref codes, q * 64), d1 = Load(ref codes, (q * 64) + 16);
                    Vector128<int> d2 = Load(ref codes, (q * 64) + 32), d3 = Load(ref codes, (q * 64) + 48);
                    for (int t = 0; t < 8; t++)
                    {
                        Vector128<float> xv = Vector128.Create(Unsafe.Add(ref x, (q * 8) + t));
                        s0 = Vector128.FusedMultiplyAdd(xv, Weight(d0, f0), s0);
                        s1 = Vector128.FusedMultiplyAdd(xv, Weight(d1, f1), s1);
                        s2 = Vector128.FusedMultiplyAdd(xv, Weight(d2, f2), s2);
                        s3 = Vector128.FusedMultiplyAdd(xv, Weight(d3, f3), s3);
                        d0 = Vector128.ShiftRightLogical(d0, 4);
                        d1 = Vector128.ShiftRightLogical(d1, 4);
                        d2 = Vector128.ShiftRightLogical(d2, 4);
                        d3 = Vector128.ShiftRightLogical(d3, 4);
                    }
                }
            }

            ref float o = ref Unsafe.Add(ref c, (panel - panel0) * 16);
            s0.StoreUnsafe(ref o); s1.StoreUnsafe(ref o, 4); s2.StoreUnsafe(ref o, 8); s3.StoreUnsafe(ref o, 12);
        }
    }

    /// <inheritdoc />
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void DecodeQ40(Q40Panels w, int panel, int block, ref float dst, nint stride)
    {
        ref byte codes = ref w.Codes(panel, block);
        for (int g = 0; g < 4; g++)
        {
            Vector128<float> f = Scales(w, panel, block, g * 4);
            for (int q = 0; q < 4; q++)
            {
                Vector128<int> d = Load(ref codes, (q * 64) + (g * 16));
                for (int t = 0; t < 8; t++)
                {
                    Weight(d, f).StoreUnsafe(ref Unsafe.Add(ref dst, (((q * 8) + t) * stride) + (g * 4)));
                    d = Vector128.ShiftRightLogical(d, 4);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Weight(Vector128<int> codes, Vector128<float> scale) =>
        (Vector128.ConvertToSingle(codes & Vector128.Create(15)) - Vector128.Create(8f)) * scale;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<int> Load(ref byte codes, int offset) =>
        Vector128.LoadUnsafe(ref Unsafe.As<byte, int>(ref Unsafe.Add(ref codes, offset)));

    // Four scales (lanes first .. first + 3) of a record, read as one 64-bit load so nothing past the record is touched.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Scales(Q40Panels w, int panel, int block, int first)
    {
        ulong four = Unsafe.ReadUnaligned<ulong>(ref Unsafe.As<ushort, byte>(ref Unsafe.Add(ref w.Scales(panel, block), first)));
        return HalfVectors.ToSingle(Vector128.WidenLower(Vector128.CreateScalarUnsafe(four).AsUInt16()));
    }
}
