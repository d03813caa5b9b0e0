using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Kernels;

/// <summary>The scalar kernel: each stage applies <see cref="Q40Reference"/> group by group.</summary>
internal readonly struct Q40ScalarKernel : IQ40Kernel
{
    private const int N = Q40Format.GroupSize;
    private const int B = Q40Format.BlockBytes;

    /// <inheritdoc />
    public static Q40KernelKind Kind => Q40KernelKind.Scalar;

    /// <inheritdoc />
    public static bool IsSupported => true;

    /// <inheritdoc />
    public static void WidenHalf(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = HalfBits.ToSingle(source[i]);
        }
    }

    /// <inheritdoc />
    public static void WidenBFloat16(ReadOnlySpan<ushort> source, Span<float> destination)
    {
        for (int i = 0; i < source.Length; i++)
        {
            destination[i] = BFloat16Conversions.ToSingle(source[i]);
        }
    }

    /// <inheritdoc />
    public static void AbsMax(ReadOnlySpan<float> values, Span<float> absMax)
    {
        for (int g = 0; g < absMax.Length; g++)
        {
            absMax[g] = Q40Reference.AbsMax(values.Slice(g * N, N));
        }
    }

    /// <inheritdoc />
    public static void AbsMaxBits(ReadOnlySpan<ushort> values, Span<ushort> absMaxBits)
    {
        for (int g = 0; g < absMaxBits.Length; g++)
        {
            absMaxBits[g] = Q40Reference.AbsMaxBits(values.Slice(g * N, N));
        }
    }

    /// <inheritdoc />
    public static bool ScalesFromHalves(ReadOnlySpan<ushort> values, Span<ushort> scales, Span<float> reciprocals) =>
        StagedHalfScales.Compute<Q40ScalarKernel>(values, scales, reciprocals);

    /// <inheritdoc />
    public static void Scales(ReadOnlySpan<float> absMax, Span<ushort> scales, Span<float> reciprocals)
    {
        for (int g = 0; g < absMax.Length; g++)
        {
            ushort s = Q40Reference.ScaleF32(absMax[g]);
            scales[g] = s;
            reciprocals[g] = Q40Reference.Reciprocal(s);
        }
    }

    /// <inheritdoc />
    public static void EncodeF32(ReadOnlySpan<float> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks)
    {
        for (int g = 0; g < scales.Length; g++)
        {
            Q40Reference.EncodeF32(values.Slice(g * N, N), scales[g], reciprocals[g], blocks.Slice(g * B, B));
        }
    }

    /// <inheritdoc />
    public static void EncodeHalf(ReadOnlySpan<ushort> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks)
    {
        for (int g = 0; g < scales.Length; g++)
        {
            Q40Reference.EncodeF16(values.Slice(g * N, N), scales[g], reciprocals[g], blocks.Slice(g * B, B));
        }
    }

    /// <inheritdoc />
    public static void EncodeBFloat16(ReadOnlySpan<ushort> values, ReadOnlySpan<ushort> scales, ReadOnlySpan<float> reciprocals, Span<byte> blocks)
    {
        for (int g = 0; g < scales.Length; g++)
        {
            Q40Reference.EncodeBF16(values.Slice(g * N, N), scales[g], reciprocals[g], blocks.Slice(g * B, B));
        }
    }

    /// <inheritdoc />
    public static void DequantizeF32(ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        for (int g = 0; g < blocks.Length / B; g++)
        {
            Q40Reference.DequantizeF32(blocks.Slice(g * B, B), destination.Slice(g * N, N));
        }
    }

    /// <inheritdoc />
    public static void DequantizeF16(ReadOnlySpan<byte> blocks, Span<ushort> destination)
    {
        for (int g = 0; g < blocks.Length / B; g++)
        {
            Q40Reference.DequantizeF16(blocks.Slice(g * B, B), destination.Slice(g * N, N));
        }
    }
}
