namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// <see cref="IQ40Kernel.ScalesFromHalves"/> for kernels without a fused version: the stages in turn
/// (<see cref="IQ40Kernel.AbsMaxBits"/>, <see cref="IQ40Kernel.WidenHalf"/>, <see cref="IQ40Kernel.Scales"/>), then a
/// look at each scale and reciprocal, a batch of groups at a time.
/// </summary>
internal static class StagedHalfScales
{
    private const int N = Q40Format.GroupSize;
    private const int Batch = 64;

    /// <summary>See <see cref="IQ40Kernel.ScalesFromHalves"/>.</summary>
    [System.Runtime.CompilerServices.SkipLocalsInit]
    public static bool Compute<TKernel>(ReadOnlySpan<ushort> values, Span<ushort> scales, Span<float> reciprocals)
        where TKernel : struct, IQ40Kernel
    {
        Span<ushort> bits = stackalloc ushort[Batch];
        Span<float> absMax = stackalloc float[Batch];
        bool special = false;
        for (int g0 = 0; g0 < scales.Length; g0 += Batch)
        {
            int n = Math.Min(Batch, scales.Length - g0);
            Span<ushort> m = bits[..n];
            Span<float> a = absMax[..n];
            Span<ushort> s = scales.Slice(g0, n);
            Span<float> r = reciprocals.Slice(g0, n);
            TKernel.AbsMaxBits(values.Slice(g0 * N, n * N), m);
            TKernel.WidenHalf(m, a);
            TKernel.Scales(a, s, r);
            for (int g = 0; g < n; g++)
            {
                special |= NormalHalfScale.NeedsReference(s[g], r[g]);
            }
        }

        return special;
    }
}
