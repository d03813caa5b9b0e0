using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// Geometry of a 2-D convolution window (1-D is the case <c>H = kh = 1</c>): input <c>H × W</c>, kernel <c>kh × kw</c>,
/// strides, dilations, padding before each axis, output <c>oh × ow</c>.
/// </summary>
internal readonly record struct ConvGeometry(int H, int W, int KH, int KW, int SY, int SX, int DY, int DX, int PadTop, int PadLeft, int OH, int OW)
{
    /// <summary>Kernel cells.</summary>
    public int Cells => KH * KW;

    /// <summary>Output positions.</summary>
    public int Positions => OH * OW;

    /// <summary>Rows of a padded plane: every row a window reads, zeros outside the input.</summary>
    public int PaddedRows => ((OH - 1) * SY) + ((KH - 1) * DY) + 1;

    /// <summary>Columns of a padded plane.</summary>
    public int PaddedColumns => ((OW - 1) * SX) + ((KW - 1) * DX) + 1;

    /// <summary>Columns of one stride phase of a padded row.</summary>
    public int PhaseColumns => (PaddedColumns + SX - 1) / SX;

    /// <summary>Floats of one padded, phase-split plane.</summary>
    public int PaddedPlane => SX * PaddedRows * PhaseColumns;
}

/// <summary>
/// Float convolution kernels that keep the evaluator's accumulation order — for each output, one chain of fused
/// multiply-adds over (input channel of the group, kernel row, kernel column) in that order, padding cells included as
/// zeros, bias added after — so they give the bits of the matrix-product formulation: a direct kernel for depthwise
/// and small-group convolutions (vectorized along output columns, no patch matrix), and the padded planes the
/// product's patch operand (<see cref="ConvPatches"/>) is packed from for the others.
/// </summary>
internal static class ConvKernels
{
    /// <summary>
    /// Copies <paramref name="channels"/> input planes into zero-padded planes split by column phase of the stride, so
    /// that for output column <c>ox</c> and kernel column <c>kx</c> the input value is at
    /// <c>phase (kx·dx) % sx, column ox + (kx·dx) / sx</c> of the window's row: contiguous in <c>ox</c>.
    /// </summary>
    public static void Pad(in ConvGeometry g, ReadOnlySpan<float> input, int channels, Span<float> padded)
    {
        int rows = g.PaddedRows;
        int columns = g.PhaseColumns;
        if (input.Length < channels * g.H * g.W || padded.Length < channels * g.PaddedPlane)
        {
            throw new ArgumentException("padding buffers are shorter than the geometry needs");
        }

        // Input columns that land inside the padded row: padded column = ix + PadLeft.
        int ix0 = Math.Max(0, -g.PadLeft);
        int ix1 = Math.Min(g.W, g.PaddedColumns - g.PadLeft);
        padded[..(channels * g.PaddedPlane)].Clear();
        if (ix0 >= ix1)
        {
            return;
        }

        for (int c = 0; c < channels; c++)
        {
            Span<float> plane = padded.Slice(c * g.PaddedPlane, g.PaddedPlane);
            for (int r = Math.Max(0, g.PadTop); r < rows; r++)
            {
                int iy = r - g.PadTop;
                if (iy >= g.H)
                {
                    break;
                }

                ReadOnlySpan<float> source = input.Slice(((c * g.H) + iy) * g.W, g.W);
                if (g.SX == 1)
                {
                    source[ix0..ix1].CopyTo(plane.Slice((r * columns) + ix0 + g.PadLeft, ix1 - ix0));
                    continue;
                }

                // Stride phases: padded column col goes to phase col % SX, position col / SX of that phase's row.
                for (int phase = 0; phase < g.SX; phase++)
                {
                    int first = ix0 + ((((phase - ((ix0 + g.PadLeft) % g.SX)) % g.SX) + g.SX) % g.SX);
                    Span<float> row = plane.Slice(((phase * rows) + r) * columns, columns);
                    int j = (first + g.PadLeft) / g.SX;
                    for (int ix = first; ix < ix1; ix += g.SX)
                    {
                        row[j++] = source[ix];
                    }
                }
            }
        }
    }

    /// <summary>
    /// One output plane of a direct convolution: <c>output[oy, ox] = chain over (c, ky, kx) of
    /// padded[c][window] · kernel[c, ky, kx]</c> from +0, then <paramref name="bias"/> added (a second rounding, as a
    /// separate addition would). Output columns are computed in register blocks of four
    /// vectors (every tap loaded once per block, the accumulators stored once); a row's last columns are the last full
    /// vector recomputed (an output's chain does not depend on its neighbours), rows narrower than a vector run at a
    /// narrower width, so every width gives the bits of the scalar chain.
    /// </summary>
    public static void Direct(KernelWidth width, in ConvGeometry g, ReadOnlySpan<float> padded, int channels, ReadOnlySpan<float> kernel, Span<float> output, float bias = 0f)
    {
        int taps = channels * g.Cells;
        if (padded.Length < channels * g.PaddedPlane || kernel.Length < taps || output.Length < g.Positions)
        {
            throw new ArgumentException("direct convolution buffers are shorter than the geometry needs");
        }

        Span<int> offsets = taps <= 512 ? stackalloc int[taps] : new int[taps];
        TapOffsets(g, channels, offsets);
        if (width == KernelWidth.Vector512 && g.OW >= 16)
        {
            DirectRows<ConvLanes512, Vector512<float>>(g, padded, kernel, offsets, output, bias);
        }
        else if (width >= KernelWidth.Vector256 && g.OW >= 8)
        {
            DirectRows<ConvLanes256, Vector256<float>>(g, padded, kernel, offsets, output, bias);
        }
        else if (width >= KernelWidth.Vector128 && g.OW >= 4)
        {
            DirectRows<ConvLanes128, Vector128<float>>(g, padded, kernel, offsets, output, bias);
        }
        else
        {
            DirectRows<ConvLanesScalar, float>(g, padded, kernel, offsets, output, bias);
        }
    }

    // Offset in the padded planes of tap (c, ky, kx) for output (0, 0): channel plane, column phase, kernel row, column.
    internal static void TapOffsets(in ConvGeometry g, int channels, Span<int> offsets)
    {
        int rows = g.PaddedRows;
        int columns = g.PhaseColumns;
        int t = 0;
        for (int c = 0; c < channels; c++)
        {
            for (int ky = 0; ky < g.KH; ky++)
            {
                for (int kx = 0; kx < g.KW; kx++)
                {
                    int offset = kx * g.DX;
                    offsets[t++] = (c * g.PaddedPlane) + ((((offset % g.SX) * rows) + (ky * g.DY)) * columns) + (offset / g.SX);
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void DirectRows<TLanes, TVector>(in ConvGeometry g, ReadOnlySpan<float> padded, ReadOnlySpan<float> kernel, ReadOnlySpan<int> offsets, Span<float> output, float bias)
        where TLanes : struct, IConvLanes<TVector>
        where TVector : struct
    {
        int v = TLanes.Count;
        int ow = g.OW;
        int taps = offsets.Length;
        nint rowStep = g.SY * (nint)g.PhaseColumns;
        ref float src = ref MemoryMarshal.GetReference(padded);
        ref float k = ref MemoryMarshal.GetReference(kernel);
        ref int off = ref MemoryMarshal.GetReference(offsets);
        TVector b = TLanes.Broadcast(bias);
        for (int oy = 0; oy < g.OH; oy++)
        {
            ref float row = ref Unsafe.Add(ref src, oy * rowStep);
            ref float outRow = ref Unsafe.Add(ref MemoryMarshal.GetReference(output), oy * (nint)ow);
            int ox = 0;
            for (; ox <= ow - (4 * v); ox += 4 * v)
            {
                TVector a0 = TLanes.Zero, a1 = a0, a2 = a0, a3 = a0;
                ref float at = ref Unsafe.Add(ref row, ox);
                for (int t = 0; t < taps; t++)
                {
                    ref float s = ref Unsafe.Add(ref at, Unsafe.Add(ref off, t));
                    TVector w = TLanes.Broadcast(Unsafe.Add(ref k, t));
                    a0 = TLanes.Fma(TLanes.Load(ref s), w, a0);
                    a1 = TLanes.Fma(TLanes.Load(ref Unsafe.Add(ref s, v)), w, a1);
                    a2 = TLanes.Fma(TLanes.Load(ref Unsafe.Add(ref s, 2 * v)), w, a2);
                    a3 = TLanes.Fma(TLanes.Load(ref Unsafe.Add(ref s, 3 * v)), w, a3);
                }

                ref float d = ref Unsafe.Add(ref outRow, ox);
                TLanes.Store(TLanes.Add(a0, b), ref d);
                TLanes.Store(TLanes.Add(a1, b), ref Unsafe.Add(ref d, v));
                TLanes.Store(TLanes.Add(a2, b), ref Unsafe.Add(ref d, 2 * v));
                TLanes.Store(TLanes.Add(a3, b), ref Unsafe.Add(ref d, 3 * v));
            }

            for (; ox < ow; ox += v)
            {
                // The last vector of the row ends at the row's end (recomputing some columns) when fewer remain.
                int x = Math.Min(ox, ow - v);
                TVector a0 = TLanes.Zero;
                ref float at = ref Unsafe.Add(ref row, x);
                for (int t = 0; t < taps; t++)
                {
                    a0 = TLanes.Fma(TLanes.Load(ref Unsafe.Add(ref at, Unsafe.Add(ref off, t))), TLanes.Broadcast(Unsafe.Add(ref k, t)), a0);
                }

                TLanes.Store(TLanes.Add(a0, b), ref Unsafe.Add(ref outRow, x));
            }
        }
    }
}
