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
/// and small-group convolutions (vectorized along output columns, no patch matrix), and the patch matrix (im2col)
/// for the others.
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
        padded[..(channels * g.PaddedPlane)].Clear();
        for (int c = 0; c < channels; c++)
        {
            Span<float> plane = padded.Slice(c * g.PaddedPlane, g.PaddedPlane);
            for (int r = 0; r < rows; r++)
            {
                int iy = r - g.PadTop;
                if (iy < 0 || iy >= g.H)
                {
                    continue;
                }

                ReadOnlySpan<float> source = input.Slice(((c * g.H) + iy) * g.W, g.W);
                for (int ix = 0; ix < g.W; ix++)
                {
                    int col = ix + g.PadLeft;
                    if (col < 0 || col >= g.PaddedColumns)
                    {
                        continue;
                    }

                    plane[(((col % g.SX) * rows) + r) * columns + (col / g.SX)] = source[ix];
                }
            }
        }
    }

    /// <summary>
    /// One output plane of a direct convolution: <c>output[oy, ox] = chain over (c, ky, kx) of
    /// padded[c][window] · kernel[c, ky, kx]</c> from +0 (no bias).
    /// </summary>
    public static void Direct(KernelWidth width, in ConvGeometry g, ReadOnlySpan<float> padded, int channels, ReadOnlySpan<float> kernel, Span<float> output)
    {
        int rows = g.PaddedRows;
        int columns = g.PhaseColumns;
        output[..g.Positions].Clear();
        for (int oy = 0; oy < g.OH; oy++)
        {
            Span<float> acc = output.Slice(oy * g.OW, g.OW);
            for (int c = 0; c < channels; c++)
            {
                ReadOnlySpan<float> plane = padded.Slice(c * g.PaddedPlane, g.PaddedPlane);
                for (int ky = 0; ky < g.KH; ky++)
                {
                    int r = (oy * g.SY) + (ky * g.DY);
                    for (int kx = 0; kx < g.KW; kx++)
                    {
                        int offset = kx * g.DX;
                        ReadOnlySpan<float> source = plane.Slice((((offset % g.SX) * rows) + r) * columns + (offset / g.SX), g.OW);
                        Axpy(width, kernel[(((c * g.KH) + ky) * g.KW) + kx], source, acc);
                    }
                }
            }
        }
    }

    /// <summary>
    /// The patch matrix of <paramref name="channels"/> planes: row <c>(c, ky, kx)</c>, column <c>(oy, ox)</c>, padding
    /// cells zero (a row-major <c>[channels·kh·kw, oh·ow]</c> right operand of the product with the kernel rows).
    /// </summary>
    public static void Patches(in ConvGeometry g, ReadOnlySpan<float> padded, int channels, Span<float> patches)
    {
        int rows = g.PaddedRows;
        int columns = g.PhaseColumns;
        for (int c = 0; c < channels; c++)
        {
            ReadOnlySpan<float> plane = padded.Slice(c * g.PaddedPlane, g.PaddedPlane);
            for (int ky = 0; ky < g.KH; ky++)
            {
                for (int kx = 0; kx < g.KW; kx++)
                {
                    int offset = kx * g.DX;
                    Span<float> row = patches.Slice((((c * g.KH) + ky) * g.KW + kx) * g.Positions, g.Positions);
                    for (int oy = 0; oy < g.OH; oy++)
                    {
                        int r = (oy * g.SY) + (ky * g.DY);
                        plane.Slice((((offset % g.SX) * rows) + r) * columns + (offset / g.SX), g.OW).CopyTo(row.Slice(oy * g.OW, g.OW));
                    }
                }
            }
        }
    }

    /// <summary><c>y[i] = fma(x[i], alpha, y[i])</c> at a width, the tail with the scalar fma.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Axpy(KernelWidth width, float alpha, ReadOnlySpan<float> x, Span<float> y)
    {
        int n = y.Length;
        ref float xs = ref MemoryMarshal.GetReference(x);
        ref float ys = ref MemoryMarshal.GetReference(y);
        int j = 0;
        if (width == KernelWidth.Vector512)
        {
            Vector512<float> va = Vector512.Create(alpha);
            for (; j <= n - 16; j += 16)
            {
                Vector512.FusedMultiplyAdd(Vector512.LoadUnsafe(ref xs, (nuint)j), va, Vector512.LoadUnsafe(ref ys, (nuint)j)).StoreUnsafe(ref ys, (nuint)j);
            }
        }

        if (width >= KernelWidth.Vector256)
        {
            Vector256<float> va = Vector256.Create(alpha);
            for (; j <= n - 8; j += 8)
            {
                Vector256.FusedMultiplyAdd(Vector256.LoadUnsafe(ref xs, (nuint)j), va, Vector256.LoadUnsafe(ref ys, (nuint)j)).StoreUnsafe(ref ys, (nuint)j);
            }
        }

        if (width >= KernelWidth.Vector128)
        {
            Vector128<float> va = Vector128.Create(alpha);
            for (; j <= n - 4; j += 4)
            {
                Vector128.FusedMultiplyAdd(Vector128.LoadUnsafe(ref xs, (nuint)j), va, Vector128.LoadUnsafe(ref ys, (nuint)j)).StoreUnsafe(ref ys, (nuint)j);
            }
        }

        for (; j < n; j++)
        {
            Unsafe.Add(ref ys, j) = MathF.FusedMultiplyAdd(Unsafe.Add(ref xs, j), alpha, Unsafe.Add(ref ys, j));
        }
    }
}
