using System.Text.RegularExpressions;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.KernelCheck;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// Every evaluator kernel against its scalar reference: in this process at each width it runs, and in child processes
/// (the KernelCheck program) with AVX-512, AVX2 and all hardware intrinsics switched off in turn. The widths each
/// process must run come from the CPU (<see cref="CpuWidths"/>), so a switch that is ignored, or a runtime that stops
/// using a width the CPU has, fails here.
/// </summary>
public partial class EvaluatorKernelTests
{
    public static TheoryData<string> Settings => new(CpuWidths.Settings);

    [Fact]
    public void ThisProcessRunsTheWidthsTheCpuHas()
    {
        Assert.True(CpuWidths.Known, $"cannot tell which widths this CPU runs ({CpuWidths.Source})");
        IReadOnlyList<string> expected = CpuWidths.Expected("none");
        string[] supported = [.. KernelWidths.Supported.Select(w => w.ToString())];
        Assert.All(supported, w => Assert.Contains(w, expected));
        bool switched = Environment.GetEnvironmentVariables().Keys.Cast<string>().Any(CpuWidths.IsVectorSetting);
        if (!switched && Vector512Allowed())
        {
            // Unless this process was narrowed on purpose, it runs everything the CPU has.
            Assert.Equal(expected, supported);
        }

        Assert.Equal(KernelWidths.Supported[^1], KernelWidths.Active);
    }

    [Fact]
    public void KernelsMatchTheirScalarReferencesInProcess()
    {
        List<string> failures = EvaluatorChecks.Run(seeds: 1);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20)));
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void KernelsMatchTheirScalarReferencesWithIsasSwitchedOff(string setting)
    {
        (int exit, string output) = RunKernelCheck(setting, forced: null);
        Assert.True(exit == 0, output);
        IReadOnlyList<string> expected = CpuWidths.Expected(setting);
        Match ran = RanLine().Match(output);
        Assert.True(ran.Success, output);
        Assert.True(ran.Groups[2].Value == string.Join(",", expected), $"expected widths {string.Join(",", expected)} ({CpuWidths.Source}) with {setting}:{Environment.NewLine}{output}");
        Assert.Equal(expected[^1], ran.Groups[1].Value);
    }

    [Fact]
    public void ForcedWidthIsUsedByTheChildProcess()
    {
        (int exit, string output) = RunKernelCheck("none", forced: "scalar");
        Assert.True(exit == 0, output);
        Assert.Equal("Scalar", RanLine().Match(output).Groups[1].Value);
    }

    // .NET leaves 512-bit vectors off on CPUs that throttle unless told otherwise; then equality cannot be asked of
    // this process, only of the children, which are started with 512-bit vectors allowed.
    private static bool Vector512Allowed() =>
        !CpuWidths.Expected("none").Contains("Vector512") || System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated;

    private static (int Exit, string Output) RunKernelCheck(string setting, string? forced) =>
        CpuWidths.RunChild(setting, forced, "1", "--evaluator");

    [GeneratedRegex(@"^evaluator ran: active=(\w+) widths=([A-Za-z0-9,]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex RanLine();
}
