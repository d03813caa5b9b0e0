using System.Runtime.InteropServices;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// The CRC-32 paths (<c>TorchToNnef.Formats.Checksums.GzipCrc32Path</c> names) a process must run, from the CPU's
/// <c>/proc/cpuinfo</c> flags, not from the runtime: Vector128 needs <c>pclmulqdq</c>; Vector256 <c>vpclmulqdq</c> and
/// AVX2; Vector512 <c>vpclmulqdq</c> and the AVX-512 flags .NET needs for 512-bit vectors. Each switch of
/// <see cref="CpuWidths.Settings"/> removes what it turns off (VPCLMULQDQ goes with AVX2 or AVX-512, PCLMULQDQ only
/// with all hardware intrinsics).
/// </summary>
public static class CpuCrc32Paths
{
    /// <summary>True when the CPU's flags are readable.</summary>
    public static bool Known => !IsX86 || CpuKernels.Flags is not null;

    private static bool IsX86 => RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;

    /// <summary>The paths a child process started with <paramref name="setting"/> must run, narrowest first.</summary>
    public static IReadOnlyList<string> Expected(string setting) => FromFlags(
        IsX86 ? CpuKernels.Flags ?? throw new InvalidOperationException("cannot read the CPU flags (/proc/cpuinfo)") : new HashSet<string>(),
        IsX86,
        setting);

    /// <summary>The paths for a CPU with these flags under <paramref name="setting"/>.</summary>
    public static IReadOnlyList<string> FromFlags(IReadOnlySet<string> flags, bool x86, string setting)
    {
        var paths = new List<string> { "Scalar" };
        if (!x86 || setting == CpuWidths.NoHardwareIntrinsics)
        {
            return paths;
        }

        if (flags.Contains("pclmulqdq"))
        {
            paths.Add("Vector128");
        }

        bool wide = flags.Contains("vpclmulqdq");
        if (wide && CpuKernels.X86FlagsOf(Q40KernelKind.Vector256).All(flags.Contains) && setting is "none" or CpuWidths.NoAvx512)
        {
            paths.Add("Vector256");
        }

        if (wide && CpuKernels.X86FlagsOf(Q40KernelKind.Vector512).All(flags.Contains) && setting == "none")
        {
            paths.Add("Vector512");
        }

        return paths;
    }
}
