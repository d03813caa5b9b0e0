using System.Runtime.Intrinsics;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>The vector width an evaluator kernel runs at.</summary>
internal enum KernelWidth
{
    /// <summary>One value at a time: the reference every vector path is compared with.</summary>
    Scalar,

    /// <summary>128-bit vectors (SSE, NEON).</summary>
    Vector128,

    /// <summary>256-bit vectors (AVX2).</summary>
    Vector256,

    /// <summary>512-bit vectors (AVX-512).</summary>
    Vector512,
}

/// <summary>
/// Chooses the evaluator's kernel width once per process by the Q4_0 quantizer's rule (<see cref="KernelWidthRule"/>):
/// the widest one the hardware accelerates, unless the environment variable <c>T2N_FORCE_KERNEL</c> (<c>scalar</c>,
/// <c>v128</c>, <c>v256</c>, <c>v512</c>) asks for a narrower one. Kernels accept the width as an argument, so tests run
/// every supported width in one process; <see cref="Active"/> is what the operators use.
/// </summary>
internal static class KernelWidths
{
    /// <summary>Name of the environment variable that forces a width.</summary>
    public const string ForceVariable = KernelWidthRule.ForceVariable;

    /// <summary>The width the evaluator's operators run at in this process.</summary>
    public static KernelWidth Active { get; } = Select(Environment.GetEnvironmentVariable(ForceVariable));

    /// <summary>Every width this machine runs, scalar first.</summary>
    public static IReadOnlyList<KernelWidth> Supported { get; } = Enum.GetValues<KernelWidth>().Where(IsSupported).ToArray();

    /// <summary>True when the hardware accelerates vectors of <paramref name="width"/>.</summary>
    public static bool IsSupported(KernelWidth width) => width switch
    {
        KernelWidth.Scalar => true,
        KernelWidth.Vector128 => Vector128.IsHardwareAccelerated,
        KernelWidth.Vector256 => Vector256.IsHardwareAccelerated,
        KernelWidth.Vector512 => Vector512.IsHardwareAccelerated,
        _ => false,
    };

    /// <summary>The widest supported width, or the forced one when it is narrower (an unknown name is ignored).</summary>
    internal static KernelWidth Select(string? forced) => KernelWidthRule.Select<KernelWidth>(forced, IsSupported);
}
