using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// The patch matrix of a 2-D convolution (row <c>(c, ky, kx)</c>, column <c>(oy, ox)</c>) as a right operand of the
/// matrix product that is never built: <see cref="PanelPacking"/> copies each block the product needs straight from the
/// padded, phase-split input planes (<see cref="ConvKernels.Pad"/>) into the kernel's panels, so a convolution costs
/// the product plus one pass over its input instead of a <c>channels·kh·kw × oh·ow</c> matrix written and read back.
/// </summary>
internal sealed class ConvPatches
{
    // Offset of tap (c, ky, kx) for output (0, 0) in the padded planes.
    private readonly int[] _taps;

    /// <summary>Wraps <paramref name="channels"/> padded planes of <paramref name="padded"/> from <paramref name="start"/>.</summary>
    public ConvPatches(ConvGeometry geometry, float[] padded, int start, int channels)
    {
        if (start < 0 || (long)start + ((long)channels * geometry.PaddedPlane) > padded.Length)
        {
            throw new ArgumentException("padded planes are shorter than the geometry needs");
        }

        Geometry = geometry;
        Padded = padded;
        Start = start;
        _taps = new int[channels * geometry.Cells];
        ConvKernels.TapOffsets(geometry, channels, _taps);
    }

    /// <summary>The window geometry.</summary>
    public ConvGeometry Geometry { get; }

    /// <summary>The padded planes.</summary>
    public float[] Padded { get; }

    /// <summary>Index of the first plane's first value.</summary>
    public int Start { get; }

    /// <summary>Rows of the patch matrix (the product's summed length).</summary>
    public int Taps => _taps.Length;

    /// <summary>
    /// Packs columns (output positions) <c>[x0, x0 + count)</c> and rows (taps) <c>[p0, p0 + kc)</c> into panels of
    /// <paramref name="width"/> positions, as <see cref="PanelPacking.Pack"/> lays them out (positions past
    /// <paramref name="count"/> zero).
    /// </summary>
    public void Pack(int x0, int count, int p0, int kc, int width, Span<float> dst)
    {
        ConvGeometry g = Geometry;
        if (x0 < 0 || count < 0 || x0 + count > g.Positions || p0 < 0 || kc < 0 || p0 + kc > _taps.Length || dst.Length < (count + width - 1) / width * width * kc)
        {
            throw new ArgumentOutOfRangeException(nameof(count), "patch block outside the patch matrix or the destination");
        }

        nint rowStep = g.SY * (nint)g.PhaseColumns;
        ref float src = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(Padded), Start);
        ref int taps = ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(_taps), p0);
        ref float d = ref MemoryMarshal.GetReference(dst);
        int panels = (count + width - 1) / width;
        for (int panel = 0; panel < panels; panel++)
        {
            int first = x0 + (panel * width);
            int w = Math.Min(width, count - (panel * width));
            ref float to = ref Unsafe.Add(ref d, panel * (nint)kc * width);
            int i = 0;
            while (i < w)
            {
                // One run of consecutive output columns of one output row: contiguous in every tap's plane.
                int pos = first + i;
                int oy = pos / g.OW;
                int ox = pos - (oy * g.OW);
                int len = Math.Min(g.OW - ox, w - i);
                ref float at = ref Unsafe.Add(ref src, (oy * rowStep) + ox);
                for (int p = 0; p < kc; p++)
                {
                    MemoryMarshal.CreateReadOnlySpan(ref Unsafe.Add(ref at, Unsafe.Add(ref taps, p)), len)
                        .CopyTo(MemoryMarshal.CreateSpan(ref Unsafe.Add(ref to, (p * (nint)width) + i), len));
                }

                i += len;
            }

            if (w < width)
            {
                for (int p = 0; p < kc; p++)
                {
                    MemoryMarshal.CreateSpan(ref Unsafe.Add(ref to, (p * (nint)width) + w), width - w).Clear();
                }
            }
        }
    }
}
