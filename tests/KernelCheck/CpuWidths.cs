namespace TorchToNnef.KernelCheck;

/// <summary>
/// The kernel widths a process must run, derived from the CPU's own feature list (<c>/proc/cpuinfo</c>), not from the
/// runtime: a runtime that silently stopped using AVX-512 on a CPU that has it fails the kernel tests instead of
/// quietly testing less. Each ISA switch of the child processes removes what it disables.
/// </summary>
public static class CpuWidths
{
    /// <summary>Switches the tests run child processes with (none, then AVX-512, AVX2 and every intrinsic off).</summary>
    public static readonly string[] Settings =
    [
        "none",
        "DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0",
        "DOTNET_EnableAVX2=0",
        "DOTNET_EnableHWIntrinsic=0",
    ];

    /// <summary>The CPU's feature flags (empty when <c>/proc/cpuinfo</c> has none, e.g. not Linux).</summary>
    public static IReadOnlySet<string> Flags { get; } = ReadFlags();

    /// <summary>True when the flags could be read, so expectations come from the CPU.</summary>
    public static bool Known => Flags.Count > 0;

    /// <summary>Names of the widths (<c>Scalar</c>, <c>Vector128</c>, ...) a process with <paramref name="setting"/> must run, scalar first.</summary>
    public static IReadOnlyList<string> Expected(string setting)
    {
        bool x86 = Flags.Contains("sse2");
        bool arm = Flags.Contains("asimd");
        bool intrinsics = !setting.Contains("EnableHWIntrinsic=0", StringComparison.Ordinal);
        bool v128 = intrinsics && (x86 || arm);
        bool v256 = v128 && x86 && !setting.Contains("EnableAVX2=0", StringComparison.Ordinal) && Flags.Contains("avx2") && Flags.Contains("fma");
        bool v512 = v256 && !setting.Contains("EnableAVX512", StringComparison.Ordinal)
            && new[] { "avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl" }.All(Flags.Contains);
        var widths = new List<string> { "Scalar" };
        if (v128)
        {
            widths.Add("Vector128");
        }

        if (v256)
        {
            widths.Add("Vector256");
        }

        if (v512)
        {
            widths.Add("Vector512");
        }

        return widths;
    }

    private static HashSet<string> ReadFlags()
    {
        const string path = "/proc/cpuinfo";
        if (!File.Exists(path))
        {
            return [];
        }

        foreach (string line in File.ReadLines(path))
        {
            if (line.StartsWith("flags", StringComparison.Ordinal) || line.StartsWith("Features", StringComparison.Ordinal))
            {
                int colon = line.IndexOf(':', StringComparison.Ordinal);
                return [.. line[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries)];
            }
        }

        return [];
    }
}
