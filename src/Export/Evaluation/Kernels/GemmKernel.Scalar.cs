using System.Runtime.CompilerServices;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Scalar products, one <see cref="MathF.FusedMultiplyAdd"/> at a time: the path of machines without SIMD and the
/// reference the vector kernels are compared with (their tails also call the column helpers here).
/// </summary>
internal readonly struct GemmKernelScalar : IGemmKernel
{
    /// <inheritdoc />
    public static KernelWidth Width => KernelWidth.Scalar;

    /// <inheritdoc />
    public static int MR => 4;

    /// <inheritdoc />
    public static int NR => 4;

    /// <inheritdoc />
    public static void Tile(nint kc, ref float a, ref float b, ref float c, nint ldc, bool accumulate)
    {
        Span<float> acc = stackalloc float[16];
        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                acc[(i * 4) + j] = accumulate ? Unsafe.Add(ref c, (i * ldc) + j) : 0f;
            }
        }

        for (nint p = 0; p < kc; p++)
        {
            for (int i = 0; i < 4; i++)
            {
                float x = Unsafe.Add(ref a, (p * 4) + i);
                for (int j = 0; j < 4; j++)
                {
                    acc[(i * 4) + j] = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref b, (p * 4) + j), acc[(i * 4) + j]);
                }
            }
        }

        for (int i = 0; i < 4; i++)
        {
            for (int j = 0; j < 4; j++)
            {
                Unsafe.Add(ref c, (i * ldc) + j) = acc[(i * 4) + j];
            }
        }
    }

    /// <inheritdoc />
    public static void GemvRowMajor(int n, int k, ref float a, ref float b, nint ldb, ref float c)
    {
        // Row by row of B: each output still accumulates over p in order, and B is read contiguously.
        for (int j = 0; j < n; j++)
        {
            Unsafe.Add(ref c, j) = 0f;
        }

        for (int p = 0; p < k; p++)
        {
            float x = Unsafe.Add(ref a, p);
            ref float row = ref Unsafe.Add(ref b, p * ldb);
            for (int j = 0; j < n; j++)
            {
                Unsafe.Add(ref c, j) = MathF.FusedMultiplyAdd(x, Unsafe.Add(ref row, j), Unsafe.Add(ref c, j));
            }
        }
    }

    /// <inheritdoc />
    public static void GemvTransposed(int n, int k, ref float a, ref float b, nint ldb, ref float c) =>
        GemvTransposedColumns(0, n, k, ref a, ref b, ldb, ref c);

    /// <inheritdoc />
    public static void GemvQ40(Q40Panels w, int panel0, int panels, ref float a, ref float c)
    {
        for (int panel = panel0; panel < panel0 + panels; panel++)
        {
            for (int lane = 0; lane < Q40Panels.PanelRows; lane++)
            {
                float s = 0f;
                for (int blk = 0; blk < w.BlocksPerRow; blk++)
                {
                    float scale = HalfVectors.ToSingle(Unsafe.Add(ref w.Scales(panel, blk), lane));
                    ref byte codes = ref w.Codes(panel, blk);
                    for (int q = 0; q < 4; q++)
                    {
                        uint word = Unsafe.As<byte, uint>(ref Unsafe.Add(ref codes, ((q * Q40Panels.PanelRows) + lane) * 4));
                        for (int t = 0; t < 8; t++)
                        {
                            float wv = ((int)((word >> (4 * t)) & 15) - 8) * scale;
                            s = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, (blk * 32) + (q * 8) + t), wv, s);
                        }
                    }
                }

                Unsafe.Add(ref c, ((panel - panel0) * Q40Panels.PanelRows) + lane) = s;
            }
        }
    }

    /// <inheritdoc />
    public static void DecodeQ40(Q40Panels w, int panel, int block, ref float dst, nint stride)
    {
        ref byte codes = ref w.Codes(panel, block);
        for (int lane = 0; lane < Q40Panels.PanelRows; lane++)
        {
            float scale = HalfVectors.ToSingle(Unsafe.Add(ref w.Scales(panel, block), lane));
            for (int q = 0; q < 4; q++)
            {
                uint word = Unsafe.As<byte, uint>(ref Unsafe.Add(ref codes, ((q * Q40Panels.PanelRows) + lane) * 4));
                for (int t = 0; t < 8; t++)
                {
                    Unsafe.Add(ref dst, (((q * 8) + t) * stride) + lane) = ((int)((word >> (4 * t)) & 15) - 8) * scale;
                }
            }
        }
    }

    /// <summary>Columns <c>[j0, n)</c> of <see cref="GemvRowMajor"/>, one chain per column (tails of the vector kernels).</summary>
    public static void GemvRowMajorColumns(int j0, int n, int k, ref float a, ref float b, nint ldb, ref float c)
    {
        for (int j = j0; j < n; j++)
        {
            float s = 0f;
            for (int p = 0; p < k; p++)
            {
                s = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, p), Unsafe.Add(ref b, (p * ldb) + j), s);
            }

            Unsafe.Add(ref c, j) = s;
        }
    }

    /// <summary>Columns <c>[j0, n)</c> of <see cref="GemvTransposed"/>, one chain per column.</summary>
    public static void GemvTransposedColumns(int j0, int n, int k, ref float a, ref float b, nint ldb, ref float c)
    {
        for (int j = j0; j < n; j++)
        {
            ref float row = ref Unsafe.Add(ref b, j * ldb);
            float s = 0f;
            for (int p = 0; p < k; p++)
            {
                s = MathF.FusedMultiplyAdd(Unsafe.Add(ref a, p), Unsafe.Add(ref row, p), s);
            }

            Unsafe.Add(ref c, j) = s;
        }
    }
}
