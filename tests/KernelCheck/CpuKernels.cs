using System.Runtime.InteropServices;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// Which Q4_0 kernels this machine must run, decided from the CPU itself (the flags Linux reports in
/// <c>/proc/cpuinfo</c>, which already leave out what the OS does not enable) and from the optional
/// <see cref="RequiredVariable"/>, never from the runtime, whose answer <c>DOTNET_Enable*</c> settings change.
/// <list type="bullet">
/// <item>Vector512: <c>avx512f avx512bw avx512cd avx512dq avx512vl</c> (what .NET needs to accelerate 512-bit vectors);</item>
/// <item>Vector256: <c>avx2</c>;</item>
/// <item>Vector128: <c>sse4_1</c> on x86, <c>asimd</c> on Arm64;</item>
/// <item>Scalar: always.</item>
/// </list>
/// </summary>
public static class CpuKernels
{
    /// <summary>
    /// Comma-separated kernels that must run whatever the CPU flags say (<c>scalar, v128, v256, v512</c>): for machines
    /// without <c>/proc/cpuinfo</c>, or a CI runner that must prove a given kernel ran (the suite then fails when it
    /// cannot run it).
    /// </summary>
    public const string RequiredVariable = "T2N_REQUIRED_KERNELS";

    private static readonly Dictionary<Q40KernelKind, string[]> X86Flags = new()
    {
        [Q40KernelKind.Vector128] = ["sse4_1"],
        [Q40KernelKind.Vector256] = ["avx2"],
        [Q40KernelKind.Vector512] = ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl"],
    };

    /// <summary>The x86 <c>/proc/cpuinfo</c> flags .NET needs for <paramref name="kind"/>'s vector width.</summary>
    public static IReadOnlyList<string> X86FlagsOf(Q40KernelKind kind) => X86Flags[kind];

    private static readonly Lazy<(HashSet<Q40KernelKind>? Kinds, string Source, Func<Q40KernelKind, string> Lacking)> Detected = new(Detect);

    private static readonly Lazy<IReadOnlySet<string>?> FlagSet = new(() =>
        CpuFlags(out _) is { } flags ? new HashSet<string>(flags, StringComparer.Ordinal) : null);

    /// <summary>The CPU's feature flags from <c>/proc/cpuinfo</c>, or null when there is no such file.</summary>
    public static IReadOnlySet<string>? Flags => FlagSet.Value;

    /// <summary>The kernels this machine must run, or null when neither the CPU flags nor the variable can tell.</summary>
    public static IReadOnlySet<Q40KernelKind>? Expected => Detected.Value.Kinds;

    /// <summary>Where <see cref="Expected"/> came from, for messages.</summary>
    public static string Source => Detected.Value.Source;

    /// <summary>
    /// Why the CPU cannot run <paramref name="kind"/> (the missing flags), or null when it can or when that is unknown.
    /// </summary>
    public static string? LackingReason(Q40KernelKind kind) =>
        Expected is { } e && !e.Contains(kind) ? Detected.Value.Lacking(kind) : null;

    /// <summary>Parses a kernel name as <c>T2N_FORCE_KERNEL</c> spells it (<c>scalar</c>, <c>v128</c>, ...) or as the enum does.</summary>
    public static Q40KernelKind Parse(string name) => name.Trim().ToLowerInvariant() switch
    {
        "scalar" => Q40KernelKind.Scalar,
        "v128" or "vector128" => Q40KernelKind.Vector128,
        "v256" or "vector256" => Q40KernelKind.Vector256,
        "v512" or "vector512" => Q40KernelKind.Vector512,
        _ => throw new ArgumentException($"unknown kernel '{name}' (scalar, v128, v256, v512)", nameof(name)),
    };

    /// <summary>The kernels a CPU with these <c>/proc/cpuinfo</c> flags (x86 "flags", Arm64 "Features") runs.</summary>
    public static HashSet<Q40KernelKind> FromFlags(IReadOnlySet<string> flags, Architecture architecture)
    {
        HashSet<Q40KernelKind> kinds = [Q40KernelKind.Scalar];
        bool x86 = architecture is Architecture.X64 or Architecture.X86;
        foreach (Q40KernelKind k in new[] { Q40KernelKind.Vector128, Q40KernelKind.Vector256, Q40KernelKind.Vector512 })
        {
            bool has = x86
                ? X86Flags[k].All(flags.Contains)
                : architecture == Architecture.Arm64 && k == Q40KernelKind.Vector128 && flags.Contains("asimd");
            if (has)
            {
                kinds.Add(k);
            }
        }

        return kinds;
    }

    private static (HashSet<Q40KernelKind>?, string, Func<Q40KernelKind, string>) Detect()
    {
        HashSet<Q40KernelKind>? kinds = null;
        var sources = new List<string>();
        Func<Q40KernelKind, string> lacking = k => $"{k} is not listed in {RequiredVariable}";
        string[]? flags = CpuFlags(out string flagsLine);
        if (flags is not null)
        {
            var set = new HashSet<string>(flags, StringComparer.Ordinal);
            bool x86 = RuntimeInformation.ProcessArchitecture is Architecture.X64 or Architecture.X86;
            kinds = FromFlags(set, RuntimeInformation.ProcessArchitecture);
            sources.Add($"/proc/cpuinfo '{flagsLine}'");
            lacking = k => x86
                ? $"the CPU lacks {string.Join(", ", X86Flags[k].Where(f => !set.Contains(f)))} (/proc/cpuinfo flags)"
                : $"no {k} kernel for {RuntimeInformation.ProcessArchitecture} with these CPU features (/proc/cpuinfo)";
        }

        string? required = Environment.GetEnvironmentVariable(RequiredVariable);
        if (!string.IsNullOrWhiteSpace(required))
        {
            kinds ??= [Q40KernelKind.Scalar];
            kinds.UnionWith(required.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(Parse));
            sources.Add($"{RequiredVariable}={required}");
        }

        return (kinds, sources.Count == 0 ? "nothing (no /proc/cpuinfo flags, no " + RequiredVariable + ")" : string.Join(" and ", sources), lacking);
    }

    // The feature flags of the first processor: "flags" on x86, "Features" on Arm64. Null when there is no such file.
    private static string[]? CpuFlags(out string line)
    {
        line = string.Empty;
        if (!File.Exists("/proc/cpuinfo"))
        {
            return null;
        }

        foreach (string l in File.ReadLines("/proc/cpuinfo"))
        {
            int colon = l.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && l[..colon].Trim() is "flags" or "Features")
            {
                line = l[..colon].Trim() + ": …";
                return l[(colon + 1)..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            }
        }

        return null;
    }
}
