using TorchToNnef.KernelCheck;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Quant.Tests;

/// <summary>
/// A test of one kernel, reported as skipped (with the missing CPU flags as the reason) only when the CPU really cannot
/// run it and this process cannot either; otherwise it runs, and fails if the kernel does not.
/// </summary>
[AttributeUsage(AttributeTargets.Method)]
public sealed class KernelFactAttribute : FactAttribute
{
    /// <summary>Creates the attribute for <paramref name="kind"/>.</summary>
    public KernelFactAttribute(Q40KernelKind kind)
    {
        if (!Q40Kernels.IsSupported(kind) && CpuKernels.LackingReason(kind) is { } reason)
        {
            Skip = $"{kind} kernel not checked on this machine: {reason}";
        }
    }
}
