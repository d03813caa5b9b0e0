using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using TorchToNnef.KernelCheck;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Quant.Tests;

/// <summary>
/// Every kernel against an independent literal statement of the arithmetic and the golden Q4_0 files, in this process
/// and in child processes with AVX-512, AVX2 and all hardware intrinsics switched off in turn. Which kernels must run
/// comes from the CPU (<see cref="CpuKernels"/>: /proc/cpuinfo flags, or T2N_REQUIRED_KERNELS), not from the runtime:
/// a kernel the CPU supports that did not run fails the suite, and a kernel test is skipped (with the missing flags as
/// its reason) only when the CPU lacks it.
/// </summary>
public class KernelTests
{
    // .NET 10 ignores DOTNET_EnableAVX512F (its knob is DOTNET_EnableAVX512); both are set so the setting works on either
    // side of that rename, and the checks below fail if a switch is silently ignored.
    private const string NoAvx512 = "DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0";
    private const string NoAvx2 = "DOTNET_EnableAVX2=0";
    private const string NoHardwareIntrinsics = "DOTNET_EnableHWIntrinsic=0";

    public static TheoryData<string> IsaSettings => new("none", NoAvx512, NoAvx2, NoHardwareIntrinsics);

    [Fact]
    public void TheCpuTellsWhichKernelsMustRun()
    {
        IReadOnlySet<Q40KernelKind>? expected = CpuKernels.Expected;
        Assert.True(expected is not null, $"cannot tell which kernels this CPU runs: read {CpuKernels.Source}; set {CpuKernels.RequiredVariable}");
        Assert.Contains(Q40KernelKind.Scalar, expected);

        // Unless switches narrowed this process, the CPU's list covers every kernel the runtime lets it run: a flag
        // list read wrong (which would excuse kernels from running) shows here.
        bool switched = Environment.GetEnvironmentVariables().Keys.Cast<string>().Any(CpuWidths.IsVectorSetting);
        if (!switched)
        {
            Assert.All(Q40Kernels.SupportedKinds, k => Assert.True(expected.Contains(k), $"{k} runs here but {CpuKernels.Source} does not list it"));
        }
    }

    [Theory]
    [InlineData(Architecture.X64, "fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma avx512f avx512dq avx512cd avx512bw avx512vl", "Scalar,Vector128,Vector256,Vector512")]
    [InlineData(Architecture.X64, "fpu sse sse2 ssse3 sse4_1 sse4_2 avx avx2 fma avx512f avx512cd", "Scalar,Vector128,Vector256")] // Knights Landing: no BW/DQ/VL
    [InlineData(Architecture.X64, "fpu sse sse2 ssse3 sse4_1 sse4_2 avx", "Scalar,Vector128")] // Sandy Bridge: AVX without AVX2
    [InlineData(Architecture.X64, "fpu sse sse2 ssse3", "Scalar")]
    [InlineData(Architecture.Arm64, "fp asimd evtstrm aes crc32", "Scalar,Vector128")]
    [InlineData(Architecture.Arm64, "fp evtstrm", "Scalar")]
    public void CpuFlagsDecideTheExpectedKernels(Architecture architecture, string flags, string expected)
    {
        HashSet<Q40KernelKind> kinds = CpuKernels.FromFlags(flags.Split(' ').ToHashSet(), architecture);
        Assert.Equal(expected, string.Join(",", kinds.Order()));
    }

    [Fact]
    public void SupportedKernelsFollowTheHardware()
    {
        Assert.True(Q40Kernels.IsSupported(Q40KernelKind.Scalar));
        Assert.Equal(Vector128.IsHardwareAccelerated, Q40Kernels.IsSupported(Q40KernelKind.Vector128));
        Assert.Equal(Vector256.IsHardwareAccelerated, Q40Kernels.IsSupported(Q40KernelKind.Vector256));
        Assert.Equal(Vector512.IsHardwareAccelerated, Q40Kernels.IsSupported(Q40KernelKind.Vector512));
        Assert.Equal(Q40Kernels.SupportedKinds.Max(), Q40Kernels.Select(null));
        Assert.Equal(Q40KernelKind.Scalar, Q40Kernels.Select("scalar"));
        Assert.Equal(Q40Kernels.SupportedKinds.Max(), Q40Kernels.Select("no-such-kernel"));
    }

    [Fact]
    public void OneWidthRuleForEveryKernelFamily()
    {
        // A family that runs up to 256 bits here (the evaluator's widths follow the same rule with their own predicate).
        static bool UpTo256(Q40KernelKind k) => k <= Q40KernelKind.Vector256;
        Assert.Equal(Q40KernelKind.Vector256, KernelWidthRule.Select<Q40KernelKind>(null, UpTo256));
        Assert.Equal(Q40KernelKind.Vector128, KernelWidthRule.Select<Q40KernelKind>(" V128 ", UpTo256));
        Assert.Equal(Q40KernelKind.Scalar, KernelWidthRule.Select<Q40KernelKind>("Scalar", UpTo256));
        Assert.Equal(Q40KernelKind.Vector256, KernelWidthRule.Select<Q40KernelKind>("vector512", UpTo256));
        Assert.Equal(Q40KernelKind.Vector256, KernelWidthRule.Select<Q40KernelKind>("avx2", UpTo256));
        Assert.Equal(Q40KernelKind.Scalar, KernelWidthRule.Select<Q40KernelKind>("v512", k => k == Q40KernelKind.Scalar));
    }

    [KernelFact(Q40KernelKind.Scalar)]
    public void ScalarKernelMatchesTheLiteralArithmeticAndTheGoldens() => CheckKernel(Q40KernelKind.Scalar);

    [KernelFact(Q40KernelKind.Vector128)]
    public void Vector128KernelMatchesTheLiteralArithmeticAndTheGoldens() => CheckKernel(Q40KernelKind.Vector128);

    [KernelFact(Q40KernelKind.Vector256)]
    public void Vector256KernelMatchesTheLiteralArithmeticAndTheGoldens() => CheckKernel(Q40KernelKind.Vector256);

    [KernelFact(Q40KernelKind.Vector512)]
    public void Vector512KernelMatchesTheLiteralArithmeticAndTheGoldens() => CheckKernel(Q40KernelKind.Vector512);

    [Theory]
    [MemberData(nameof(IsaSettings))]
    public void EveryKernelTheCpuSupportsRunsAndPassesWithIsasSwitchedOff(string setting)
    {
        IReadOnlySet<Q40KernelKind> expected = CpuKernels.Expected
            ?? throw new InvalidOperationException($"cannot tell which kernels this CPU runs ({CpuKernels.Source}); set {CpuKernels.RequiredVariable}");
        Q40KernelKind widestAllowed = setting switch
        {
            "none" => Q40KernelKind.Vector512,
            NoAvx512 => Q40KernelKind.Vector256,
            NoAvx2 => Q40KernelKind.Vector128,
            _ => Q40KernelKind.Scalar,
        };

        (int exit, string output, IReadOnlyList<Q40KernelKind> ran) = KernelCheckProcess.Run(setting == "none" ? null : setting);
        Assert.True(exit == 0, output);

        // Every kernel the CPU has and the switch leaves on ran; none the switch turns off did (or it was ignored).
        Q40KernelKind[] mustRun = [.. expected.Where(k => k <= widestAllowed).Order()];
        Assert.True(mustRun.All(ran.Contains), $"expected {string.Join(",", mustRun)} to run ({CpuKernels.Source}), ran {string.Join(",", ran)}:{Environment.NewLine}{output}");
        Assert.True(ran.All(k => k <= widestAllowed), $"{setting} was ignored: ran {string.Join(",", ran)}");
        Assert.Contains($"active={ran.Max()}", output, StringComparison.Ordinal);
    }

    [Fact]
    public void ForcedKernelIsUsedByTheChildProcess()
    {
        (int exit, string output, IReadOnlyList<Q40KernelKind> ran) = KernelCheckProcess.Run(null, forced: "scalar", only: Q40KernelKind.Scalar);
        Assert.True(exit == 0, output);
        Assert.Contains("active=Scalar", output, StringComparison.Ordinal);
        Assert.Equal([Q40KernelKind.Scalar], ran);
    }

    [Fact]
    public void ChildProcessesDropInheritedVectorSettings()
    {
        Assert.True(CpuWidths.IsVectorSetting("DOTNET_EnableAVX512"));
        Assert.True(CpuWidths.IsVectorSetting("COMPlus_EnableAVX2"));
        Assert.True(CpuWidths.IsVectorSetting("DOTNET_PreferredVectorBitWidth"));
        Assert.False(CpuWidths.IsVectorSetting("DOTNET_ROOT"));
        Assert.False(CpuWidths.IsVectorSetting("T2N_REQUIRED_KERNELS"));
    }

    // In this process when it can run the kernel; otherwise (inherited DOTNET_Enable* switches, a runtime that keeps
    // 512-bit vectors off) in a child process with a clean configuration, which must then run it.
    private static void CheckKernel(Q40KernelKind kind)
    {
        if (Q40Kernels.IsSupported(kind))
        {
            List<string> failures = KernelChecks.Run(kind, seeds: 2);
            failures.AddRange(GoldenChecks.Run(kind));
            Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20)));
            return;
        }

        (int exit, string output, IReadOnlyList<Q40KernelKind> ran) = KernelCheckProcess.Run(null, only: kind);
        Assert.True(exit == 0 && ran.SequenceEqual([kind]), $"{kind} does not run in this process, and a clean child process could not run it either ({CpuKernels.Source}):{Environment.NewLine}{output}");
    }
}
