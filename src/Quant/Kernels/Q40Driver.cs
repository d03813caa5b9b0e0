using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// Runs a kernel's stages over any number of whole groups, in batches that stay in L1 (the source is read from
/// memory once, then again from L1), and sends the groups a vector kernel cannot encode (non-finite values, an f16
/// reciprocal that overflowed) to the scalar reference. One copy of this code is compiled per kernel.
/// </summary>
internal static class Q40Driver<TKernel>
    where TKernel : struct, IQ40Kernel
{
    /// <summary>Groups per batch: 64 groups of f32 are 8 KiB, well inside L1.</summary>
    internal const int BatchGroups = 64;

    private const int N = Q40Format.GroupSize;
    private const int B = Q40Format.BlockBytes;

    /// <summary>
    /// Min-max quantization of whole groups of <paramref name="sourceDType"/> values (raw little-endian bytes) into
    /// blocks. With <paramref name="percentile"/> &lt; 1 the absolute maximum is replaced by torch's quantile of |x|.
    /// Returns false when every block written is known to have a finite scale, true when some may not (f16 min-max
    /// knows from its scale pass; other paths do not look, and the caller checks the blocks).
    /// </summary>
    [SkipLocalsInit]
    public static bool QuantizeMinMax(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks, float percentile)
    {
        bool usePercentile = percentile < 1f;
        if (sourceDType == DType.F16 && !usePercentile)
        {
            return QuantizeHalfMinMax(MemoryMarshal.Cast<byte, ushort>(source), blocks);
        }

        int groups = blocks.Length / B;
        Span<float> absMax = stackalloc float[BatchGroups];
        Span<float> calibrated = stackalloc float[BatchGroups];
        Span<ushort> scales = stackalloc ushort[BatchGroups];
        Span<float> reciprocals = stackalloc float[BatchGroups];
        Span<float> group = stackalloc float[N];
        for (int g0 = 0; g0 < groups; g0 += BatchGroups)
        {
            int n = Math.Min(BatchGroups, groups - g0);
            Span<float> a = absMax[..n];
            GroupAbsMax(sourceDType, source, g0, a);
            Span<float> c = a;
            if (usePercentile)
            {
                c = calibrated[..n];
                for (int g = 0; g < n; g++)
                {
                    c[g] = Percentile.OfAbs(WidenGroup(sourceDType, source, g0 + g, group), percentile);
                }
            }

            Span<ushort> s = scales[..n];
            Span<float> r = reciprocals[..n];
            TKernel.Scales(c, s, r);
            Span<byte> dst = blocks.Slice(g0 * B, n * B);
            Encode(sourceDType, source, g0, s, r, dst);
            FixUp(sourceDType, source, g0, a, s, r, dst);
        }

        return true;
    }

    // f16 min-max: the maxima, scales and reciprocals in one kernel pass (ScalesFromHalves), which also tells whether
    // the batch has groups for the reference; only then are the scales looked at again.
    [SkipLocalsInit]
    private static bool QuantizeHalfMinMax(ReadOnlySpan<ushort> source, Span<byte> blocks)
    {
        int groups = blocks.Length / B;
        Span<ushort> scales = stackalloc ushort[BatchGroups];
        Span<float> reciprocals = stackalloc float[BatchGroups];
        bool nonFinite = false;
        for (int g0 = 0; g0 < groups; g0 += BatchGroups)
        {
            int n = Math.Min(BatchGroups, groups - g0);
            ReadOnlySpan<ushort> values = source.Slice(g0 * N, n * N);
            Span<ushort> s = scales[..n];
            Span<float> r = reciprocals[..n];
            bool special = TKernel.ScalesFromHalves(values, s, r);
            Span<byte> dst = blocks.Slice(g0 * B, n * B);
            TKernel.EncodeHalf(values, s, r, dst);
            if (special)
            {
                nonFinite |= FixUpHalf(values, s, r, dst);
            }
        }

        return nonFinite;
    }

    // FixUp for f16 min-max, from the scales: an f16 group's maximum is non-finite exactly when its scale is (a finite
    // maximum divided by 8 stays finite). Returns true when some scale is non-finite.
    private static bool FixUpHalf(ReadOnlySpan<ushort> values, ReadOnlySpan<ushort> s, ReadOnlySpan<float> r, Span<byte> dst)
    {
        bool nonFinite = false;
        for (int g = 0; g < s.Length; g++)
        {
            nonFinite |= (s[g] & 0x7C00) == 0x7C00;
            if (NormalHalfScale.NeedsReference(s[g], r[g]) && TKernel.Kind != Q40KernelKind.Scalar)
            {
                Q40Reference.EncodeF16(values.Slice(g * N, N), s[g], r[g], dst.Slice(g * B, B));
            }
        }

        return nonFinite;
    }

    /// <summary>Encodes pre-computed scales (used by calibrations that choose their own scales).</summary>
    [SkipLocalsInit]
    public static void EncodeWithScales(DType sourceDType, ReadOnlySpan<byte> source, ReadOnlySpan<ushort> scales, Span<byte> blocks)
    {
        int groups = blocks.Length / B;
        Span<float> absMax = stackalloc float[BatchGroups];
        Span<float> reciprocals = stackalloc float[BatchGroups];
        for (int g0 = 0; g0 < groups; g0 += BatchGroups)
        {
            int n = Math.Min(BatchGroups, groups - g0);
            Span<float> a = absMax[..n];
            GroupAbsMax(sourceDType, source, g0, a);
            ReadOnlySpan<ushort> s = scales.Slice(g0, n);
            Span<float> r = reciprocals[..n];
            for (int g = 0; g < n; g++)
            {
                r[g] = Q40Reference.Reciprocal(s[g]);
            }

            Span<byte> dst = blocks.Slice(g0 * B, n * B);
            Encode(sourceDType, source, g0, s, r, dst);
            FixUp(sourceDType, source, g0, a, s, r, dst);
        }
    }

    // Absolute maxima of groups [g0, g0 + a.Length) as f32 (exact; NaN when a group holds one).
    [SkipLocalsInit]
    private static void GroupAbsMax(DType sourceDType, ReadOnlySpan<byte> source, int g0, Span<float> a)
    {
        if (sourceDType == DType.F32)
        {
            TKernel.AbsMax(MemoryMarshal.Cast<byte, float>(source).Slice(g0 * N, a.Length * N), a);
            return;
        }

        Span<ushort> bits = stackalloc ushort[BatchGroups];
        bits = bits[..a.Length];
        TKernel.AbsMaxBits(MemoryMarshal.Cast<byte, ushort>(source).Slice(g0 * N, a.Length * N), bits);
        if (sourceDType == DType.F16)
        {
            TKernel.WidenHalf(bits, a);
        }
        else
        {
            TKernel.WidenBFloat16(bits, a);
        }
    }

    private static ReadOnlySpan<float> WidenGroup(DType sourceDType, ReadOnlySpan<byte> source, int g, Span<float> buffer)
    {
        switch (sourceDType)
        {
            case DType.F32:
                return MemoryMarshal.Cast<byte, float>(source).Slice(g * N, N);
            case DType.F16:
                TKernel.WidenHalf(MemoryMarshal.Cast<byte, ushort>(source).Slice(g * N, N), buffer);
                return buffer;
            default:
                TKernel.WidenBFloat16(MemoryMarshal.Cast<byte, ushort>(source).Slice(g * N, N), buffer);
                return buffer;
        }
    }

    private static void Encode(DType sourceDType, ReadOnlySpan<byte> source, int g0, ReadOnlySpan<ushort> s, ReadOnlySpan<float> r, Span<byte> dst)
    {
        int n = s.Length;
        switch (sourceDType)
        {
            case DType.F32:
                TKernel.EncodeF32(MemoryMarshal.Cast<byte, float>(source).Slice(g0 * N, n * N), s, r, dst);
                break;
            case DType.F16:
                TKernel.EncodeHalf(MemoryMarshal.Cast<byte, ushort>(source).Slice(g0 * N, n * N), s, r, dst);
                break;
            default:
                TKernel.EncodeBFloat16(MemoryMarshal.Cast<byte, ushort>(source).Slice(g0 * N, n * N), s, r, dst);
                break;
        }
    }

    // True when some group holds a non-finite value (its absolute maximum is not finite) or has an infinite
    // reciprocal: both have all exponent bits set, checked 8 lanes at a time.
    private static bool AnySpecial(ReadOnlySpan<float> absMax, ReadOnlySpan<float> r)
    {
        ReadOnlySpan<uint> a = MemoryMarshal.Cast<float, uint>(absMax);
        ReadOnlySpan<uint> b = MemoryMarshal.Cast<float, uint>(r);
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            Vector256<uint> exponent = Vector256.Create(0x7F80_0000u);
            for (; i <= a.Length - Vector256<uint>.Count; i += Vector256<uint>.Count)
            {
                Vector256<uint> special = Vector256.Equals(Vector256.Create(a[i..]) & exponent, exponent) | Vector256.Equals(Vector256.Create(b[i..]) & exponent, exponent);
                if (special != Vector256<uint>.Zero)
                {
                    return true;
                }
            }
        }

        for (; i < a.Length; i++)
        {
            if ((a[i] & 0x7F80_0000u) == 0x7F80_0000u || (b[i] & 0x7F80_0000u) == 0x7F80_0000u)
            {
                return true;
            }
        }

        return false;
    }

    // Groups with a non-finite value or an infinite reciprocal are encoded again by the reference, from the raw source.
    private static void FixUp(DType sourceDType, ReadOnlySpan<byte> source, int firstGroup, ReadOnlySpan<float> absMax, ReadOnlySpan<ushort> s, ReadOnlySpan<float> r, Span<byte> dst)
    {
        if (TKernel.Kind == Q40KernelKind.Scalar || !AnySpecial(absMax, r))
        {
            return;
        }

        for (int g = 0; g < absMax.Length; g++)
        {
            if (float.IsFinite(absMax[g]) && !float.IsInfinity(r[g]))
            {
                continue;
            }

            int first = (firstGroup + g) * N;
            Span<byte> block = dst.Slice(g * B, B);
            switch (sourceDType)
            {
                case DType.F32:
                    Q40Reference.EncodeF32(MemoryMarshal.Cast<byte, float>(source).Slice(first, N), s[g], r[g], block);
                    break;
                case DType.F16:
                    Q40Reference.EncodeF16(MemoryMarshal.Cast<byte, ushort>(source).Slice(first, N), s[g], r[g], block);
                    break;
                default:
                    Q40Reference.EncodeBF16(MemoryMarshal.Cast<byte, ushort>(source).Slice(first, N), s[g], r[g], block);
                    break;
            }
        }
    }
}
