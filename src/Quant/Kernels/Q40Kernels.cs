using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// Chooses the Q4_0 kernel once per process by <see cref="KernelWidthRule"/> (the evaluator's rule too): the widest
/// vector width the hardware accelerates, unless the environment variable <c>T2N_FORCE_KERNEL</c> (<c>scalar</c>,
/// <c>v128</c>, <c>v256</c>, <c>v512</c>) asks for a narrower one (benchmarks and tests). A forced kernel wider than the
/// hardware runs falls back to the best supported one; <see cref="Active"/> always tells which kernel really runs.
/// </summary>
public static class Q40Kernels
{
    /// <summary>Name of the environment variable that forces a kernel.</summary>
    public const string ForceVariable = KernelWidthRule.ForceVariable;

    /// <summary>The kernel every Q4_0 operation of this process uses.</summary>
    public static Q40KernelKind Active { get; } = Select(Environment.GetEnvironmentVariable(ForceVariable));

    /// <summary>True when <paramref name="kind"/> can run on this machine (its vector width is hardware accelerated).</summary>
    public static bool IsSupported(Q40KernelKind kind) => kind switch
    {
        Q40KernelKind.Scalar => Q40ScalarKernel.IsSupported,
        Q40KernelKind.Vector128 => Q40Vector128Kernel.IsSupported,
        Q40KernelKind.Vector256 => Q40Vector256Kernel.IsSupported,
        Q40KernelKind.Vector512 => Q40Vector512Kernel.IsSupported,
        _ => false,
    };

    /// <summary>Every kernel this machine can run, scalar first.</summary>
    public static IReadOnlyList<Q40KernelKind> SupportedKinds =>
        Enum.GetValues<Q40KernelKind>().Where(IsSupported).ToArray();

    internal static Q40KernelKind Select(string? forced) => KernelWidthRule.Select<Q40KernelKind>(forced, IsSupported);

    // Returns false when every block written is known to have a finite scale (see Q40Driver.QuantizeMinMax).
    internal static bool QuantizeMinMax(Q40KernelKind kind, DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks, float percentile) => kind switch
    {
        Q40KernelKind.Vector512 => Q40Driver<Q40Vector512Kernel>.QuantizeMinMax(sourceDType, source, blocks, percentile),
        Q40KernelKind.Vector256 => Q40Driver<Q40Vector256Kernel>.QuantizeMinMax(sourceDType, source, blocks, percentile),
        Q40KernelKind.Vector128 => Q40Driver<Q40Vector128Kernel>.QuantizeMinMax(sourceDType, source, blocks, percentile),
        _ => Q40Driver<Q40ScalarKernel>.QuantizeMinMax(sourceDType, source, blocks, percentile),
    };

    internal static void EncodeWithScales(Q40KernelKind kind, DType sourceDType, ReadOnlySpan<byte> source, ReadOnlySpan<ushort> scales, Span<byte> blocks)
    {
        switch (kind)
        {
            case Q40KernelKind.Vector512:
                Q40Driver<Q40Vector512Kernel>.EncodeWithScales(sourceDType, source, scales, blocks);
                break;
            case Q40KernelKind.Vector256:
                Q40Driver<Q40Vector256Kernel>.EncodeWithScales(sourceDType, source, scales, blocks);
                break;
            case Q40KernelKind.Vector128:
                Q40Driver<Q40Vector128Kernel>.EncodeWithScales(sourceDType, source, scales, blocks);
                break;
            default:
                Q40Driver<Q40ScalarKernel>.EncodeWithScales(sourceDType, source, scales, blocks);
                break;
        }
    }

    internal static void DequantizeF32(Q40KernelKind kind, ReadOnlySpan<byte> blocks, Span<float> destination)
    {
        switch (kind)
        {
            case Q40KernelKind.Vector512:
                Q40Vector512Kernel.DequantizeF32(blocks, destination);
                break;
            case Q40KernelKind.Vector256:
                Q40Vector256Kernel.DequantizeF32(blocks, destination);
                break;
            case Q40KernelKind.Vector128:
                Q40Vector128Kernel.DequantizeF32(blocks, destination);
                break;
            default:
                Q40ScalarKernel.DequantizeF32(blocks, destination);
                break;
        }
    }

    internal static void DequantizeF16(Q40KernelKind kind, ReadOnlySpan<byte> blocks, Span<ushort> destination)
    {
        switch (kind)
        {
            case Q40KernelKind.Vector512:
                Q40Vector512Kernel.DequantizeF16(blocks, destination);
                break;
            case Q40KernelKind.Vector256:
                Q40Vector256Kernel.DequantizeF16(blocks, destination);
                break;
            case Q40KernelKind.Vector128:
                Q40Vector128Kernel.DequantizeF16(blocks, destination);
                break;
            default:
                Q40ScalarKernel.DequantizeF16(blocks, destination);
                break;
        }
    }
}
