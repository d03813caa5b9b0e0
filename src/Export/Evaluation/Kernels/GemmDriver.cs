using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Runs a <see cref="GemmProblem"/> on the kernels of one width. Products of one row (decode) read B in place: a
/// row-major B is streamed, a transposed f32 B is transposed in registers, Q4_0 panels are decoded in registers; the
/// columns are split over threads. Larger products are blocked (<c>KC</c> values of the summed axis, <c>MC</c> rows,
/// <c>NC</c> columns), both operands packed into panels one block at a time, and the register tile run over the
/// panels; column blocks (and, when they are too few, row ranges) are split over threads. The summed axis is never
/// split: blocks after the first continue each output's chain from the value the previous block stored.
/// </summary>
internal static class GemmDriver<TKernel>
    where TKernel : struct, IGemmKernel
{
    /// <summary>Values of the summed axis per packed block (a multiple of 32, so Q4_0 blocks are never cut).</summary>
    private const int KC = 256;

    /// <summary>Products with less work run on one thread.</summary>
    private const long ParallelThreshold = 1 << 18;

    private static int MC => 96 / TKernel.MR * TKernel.MR;

    private static int NC => 512 / TKernel.NR * TKernel.NR;

    /// <summary>Computes the product on up to <paramref name="threads"/> threads.</summary>
    public static void Run(GemmProblem g, int threads)
    {
        if (g.M == 0 || g.N == 0 || g.Batch == 0)
        {
            return;
        }

        if ((long)g.Batch * g.M * g.N * g.K < ParallelThreshold)
        {
            threads = 1;
        }

        if (g.K == 0)
        {
            for (int t = 0; t < g.Batch; t++)
            {
                for (int i = 0; i < g.M; i++)
                {
                    Span<float> row = g.C.AsSpan(g.COffsetOf(t) + (i * g.RowStride), g.N);
                    row.Clear();
                    if (g.RowBias is float[] bias)
                    {
                        System.Numerics.Tensors.TensorPrimitives.Add(row, bias[g.RowBiasOffset + i], row);
                    }
                }
            }

            return;
        }

        if (g.M == 1 && TryRowProduct(g, threads))
        {
            return;
        }

        int nBlocks = (g.N + NC - 1) / NC;
        int items = g.Batch * nBlocks;
        int mSplit = 1;
        if (items < threads)
        {
            mSplit = Math.Max(1, Math.Min((threads + items - 1) / items, (g.M + TKernel.MR - 1) / TKernel.MR));
        }

        int rowsPerSplit = ((g.M + mSplit - 1) / mSplit + TKernel.MR - 1) / TKernel.MR * TKernel.MR;
        void Item(int item)
        {
            int t = item / (nBlocks * mSplit);
            int rest = item % (nBlocks * mSplit);
            int jb = rest / mSplit;
            int ib = rest % mSplit;
            int i0 = ib * rowsPerSplit;
            int i1 = Math.Min(g.M, i0 + rowsPerSplit);
            if (i0 < i1)
            {
                Block(g, t, i0, i1, jb * NC, Math.Min(g.N, (jb + 1) * NC));
            }
        }

        int total = items * mSplit;
        if (threads > 1 && total > 1)
        {
            Parallel.For(0, total, new ParallelOptions { MaxDegreeOfParallelism = threads }, Item);
        }
        else
        {
            for (int item = 0; item < total; item++)
            {
                Item(item);
            }
        }
    }

    private static void Block(GemmProblem g, int t, int i0, int i1, int j0, int j1)
    {
        int mr = TKernel.MR;
        int nr = TKernel.NR;
        MatrixOperand a = g.AOf(t);
        MatrixOperand b = g.BOf(t);
        int ldc = g.RowStride;
        int cBase = g.COffsetOf(t);
        int width = j1 - j0;
        GemmScratch scratch = GemmScratch.Current;
        Span<float> bPack = scratch.Get(GemmScratch.PackedB, KC * ((width + nr - 1) / nr * nr));
        Span<float> aPack = scratch.Get(GemmScratch.PackedA, KC * ((Math.Min(MC, i1 - i0) + mr - 1) / mr * mr));
        Span<float> edge = scratch.Get(GemmScratch.Small, mr * nr);
        ref float c = ref MemoryMarshal.GetArrayDataReference(g.C);
        for (int pc = 0; pc < g.K; pc += KC)
        {
            int kc = Math.Min(KC, g.K - pc);
            bool accumulate = pc > 0;
            PackB(b, j0, width, pc, kc, bPack);
            for (int ic = i0; ic < i1; ic += MC)
            {
                int mc = Math.Min(MC, i1 - ic);
                PanelPacking.Pack(a, ic, mc, pc, kc, mr, aPack);
                for (int ir = 0; ir < mc; ir += mr)
                {
                    int rows = Math.Min(mr, mc - ir);
                    ref float aPanel = ref aPack[ir / mr * kc * mr];
                    for (int jr = 0; jr < width; jr += nr)
                    {
                        int cols = Math.Min(nr, width - jr);
                        ref float bPanel = ref bPack[jr / nr * kc * nr];
                        ref float tile = ref Unsafe.Add(ref c, cBase + ((ic + ir) * (nint)ldc) + j0 + jr);
                        if (rows == mr && cols == nr)
                        {
                            TKernel.Tile(kc, ref aPanel, ref bPanel, ref tile, ldc, accumulate);
                        }
                        else
                        {
                            EdgeTile(kc, ref aPanel, ref bPanel, ref tile, ldc, rows, cols, accumulate, edge);
                        }
                    }
                }
            }
        }

        if (g.RowBias is float[] bias)
        {
            for (int i = i0; i < i1; i++)
            {
                Span<float> row = g.C.AsSpan(cBase + (i * ldc) + j0, width);
                System.Numerics.Tensors.TensorPrimitives.Add(row, bias[g.RowBiasOffset + i], row);
            }
        }
    }

    // A tile cut by the matrix edge: computed in a full-size buffer, only the valid part copied back.
    private static void EdgeTile(int kc, ref float a, ref float b, ref float c, int ldc, int rows, int cols, bool accumulate, Span<float> edge)
    {
        int nr = TKernel.NR;
        edge.Clear();
        if (accumulate)
        {
            for (int i = 0; i < rows; i++)
            {
                MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref c, i * (nint)ldc), cols).CopyTo(edge.Slice(i * nr, cols));
            }
        }

        TKernel.Tile(kc, ref a, ref b, ref edge[0], nr, accumulate);
        for (int i = 0; i < rows; i++)
        {
            edge.Slice(i * nr, cols).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref c, i * (nint)ldc), cols));
        }
    }

    // Packs B's columns [j0, j0 + width) and summed block [pc, pc + kc) into NR-wide panels; Q4_0 panels are decoded
    // with the kernel's own (vector) decoder, everything else goes through the generic packing.
    private static void PackB(in MatrixOperand b, int j0, int width, int pc, int kc, Span<float> dst)
    {
        if (b.PanelsByRow(out int firstRow) is not Q40Panels panels || (firstRow + j0) % Q40Panels.PanelRows != 0)
        {
            PanelPacking.Pack(b, j0, width, pc, kc, TKernel.NR, dst);
            return;
        }

        int nr = TKernel.NR;
        int paddedWidth = (width + nr - 1) / nr * nr;
        Span<float> block = GemmScratch.Current.Get(GemmScratch.Decoded, 32 * Q40Panels.PanelRows);
        for (int x = 0; x < paddedWidth; x += Q40Panels.PanelRows)
        {
            int panel = (firstRow + j0 + x) / Q40Panels.PanelRows;
            int valid = Math.Clamp(width - x, 0, Q40Panels.PanelRows);
            for (int p = 0; p < kc; p += 32)
            {
                int blk = (pc + p) / 32;
                ref float target = ref dst[(x / nr * kc * nr) + (p * nr) + (x % nr)];
                int lanes = Math.Min(Q40Panels.PanelRows, nr - (x % nr));
                if (valid == 0)
                {
                    for (int r = 0; r < 32; r++)
                    {
                        MemoryMarshal.CreateSpan(ref Unsafe.Add(ref target, r * nr), lanes).Clear();
                    }

                    continue;
                }

                TKernel.DecodeQ40(panels, panel, blk, ref block[0], Q40Panels.PanelRows);
                for (int r = 0; r < 32; r++)
                {
                    Span<float> from = block.Slice(r * Q40Panels.PanelRows, Q40Panels.PanelRows);
                    if (b.RoundToHalf)
                    {
                        for (int l = 0; l < from.Length; l++)
                        {
                            from[l] = (float)(Half)from[l];
                        }
                    }

                    from[valid..].Clear();
                    from[..lanes].CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref target, r * nr), lanes));
                }

                // Panels narrower than 16 (NR of 4 or 8) take the rest of the Q4_0 panel in the next packed panels.
                for (int done = lanes; done < Q40Panels.PanelRows && x + done < paddedWidth; done += Math.Min(nr, Q40Panels.PanelRows - done))
                {
                    int xx = x + done;
                    ref float next = ref dst[(xx / nr * kc * nr) + (p * nr) + (xx % nr)];
                    int n = Math.Min(nr - (xx % nr), Q40Panels.PanelRows - done);
                    for (int r = 0; r < 32; r++)
                    {
                        block.Slice((r * Q40Panels.PanelRows) + done, n).CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref next, r * nr), n));
                    }
                }
            }
        }
    }

    // One row of A: B read in place (streamed, transposed in registers, or Q4_0 panels decoded in registers), columns
    // split over threads. False when B's layout has no such path (then the blocked product runs).
    private static bool TryRowProduct(GemmProblem g, int threads)
    {
        MatrixOperand b0 = g.BOf(0);
        bool q40 = b0.PanelsByRow(out _) is not null && !b0.RoundToHalf;
        bool transposed = b0.Storage == OperandStorage.F32 && b0.PStride == 1;
        bool rowMajor = b0.Storage == OperandStorage.F32 && b0.XStride == 1;
        if (!q40 && !transposed && !rowMajor)
        {
            return false;
        }

        if (q40)
        {
            for (int t = 0; t < g.Batch; t++)
            {
                if (g.BOf(t).PanelsByRow(out int row) is null || row % Q40Panels.PanelRows != 0)
                {
                    return false;
                }
            }
        }

        // A as contiguous f32 rows (converted once when it is not).
        float[] aRows;
        int[] aStarts = new int[g.Batch];
        if (g.A.Storage == OperandStorage.F32 && g.A.PStride == 1)
        {
            aRows = g.A.Single!;
            for (int t = 0; t < g.Batch; t++)
            {
                aStarts[t] = g.AOf(t).Offset;
            }
        }
        else
        {
            aRows = new float[g.Batch * g.K];
            for (int t = 0; t < g.Batch; t++)
            {
                PanelPacking.Pack(g.AOf(t), 0, 1, 0, g.K, 1, aRows.AsSpan(t * g.K, g.K));
                aStarts[t] = t * g.K;
            }
        }

        int chunk = threads > 1 ? Math.Max(64, ((g.N + threads - 1) / threads + 63) / 64 * 64) : g.N;
        int chunks = (g.N + chunk - 1) / chunk;
        void Item(int item)
        {
            int t = item / chunks;
            int j0 = item % chunks * chunk;
            int j1 = Math.Min(g.N, j0 + chunk);
            MatrixOperand b = g.BOf(t);
            ref float a = ref aRows[aStarts[t]];
            ref float c = ref g.C[g.COffsetOf(t) + j0];
            if (q40)
            {
                Q40Panels panels = b.PanelsByRow(out int firstRow)!;
                int panel0 = (firstRow + j0) / Q40Panels.PanelRows;
                int full = (j1 - j0) / Q40Panels.PanelRows;
                TKernel.GemvQ40(panels, panel0, full, ref a, ref c);
                int rest = j1 - j0 - (full * Q40Panels.PanelRows);
                if (rest > 0)
                {
                    Span<float> last = GemmScratch.Current.Get(GemmScratch.Small, Q40Panels.PanelRows);
                    TKernel.GemvQ40(panels, panel0 + full, 1, ref a, ref last[0]);
                    last[..rest].CopyTo(g.C.AsSpan(g.COffsetOf(t) + j0 + (full * Q40Panels.PanelRows), rest));
                }
            }
            else if (transposed)
            {
                TKernel.GemvTransposed(j1 - j0, g.K, ref a, ref b.Single![b.Offset + (j0 * b.XStride)], b.XStride, ref c);
            }
            else
            {
                TKernel.GemvRowMajor(j1 - j0, g.K, ref a, ref b.Single![b.Offset + j0], b.PStride, ref c);
            }

            if (g.RowBias is float[] bias)
            {
                Span<float> row = g.C.AsSpan(g.COffsetOf(t) + j0, j1 - j0);
                System.Numerics.Tensors.TensorPrimitives.Add(row, bias[g.RowBiasOffset], row);
            }
        }

        int total = g.Batch * chunks;
        if (threads > 1 && total > 1)
        {
            Parallel.For(0, total, new ParallelOptions { MaxDegreeOfParallelism = threads }, Item);
        }
        else
        {
            for (int item = 0; item < total; item++)
            {
                Item(item);
            }
        }

        return true;
    }
}
