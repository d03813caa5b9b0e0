using System.Diagnostics;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.KernelCheck;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// Every evaluator kernel against its scalar reference: in this process at each width it runs, and in child processes
/// (the KernelCheck program) with AVX-512, AVX2 and all hardware intrinsics switched off in turn. The widths each
/// process must run come from the CPU's feature list, so a switch that is ignored, or a runtime that stops using a
/// width the CPU has, fails here.
/// </summary>
public class EvaluatorKernelTests
{
    public static TheoryData<string> Settings => new(CpuWidths.Settings);

    [Fact]
    public void ThisProcessRunsEveryWidthTheCpuHas()
    {
        Assert.True(CpuWidths.Known, "/proc/cpuinfo lists no CPU features; the widths to test cannot be derived from the CPU");
        Assert.Equal(CpuWidths.Expected("none"), KernelWidths.Supported.Select(w => w.ToString()));
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
        (int exit, string output) = RunKernelCheck(setting);
        Assert.True(exit == 0, output);
        string ran = string.Join(",", CpuWidths.Expected(setting));
        string expected = $"evaluator widths: active={CpuWidths.Expected(setting)[^1]} ran={ran}";
        Assert.True(output.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in:{Environment.NewLine}{output}");
    }

    [Fact]
    public void ForcedWidthIsUsedByTheChildProcess()
    {
        (int exit, string output) = RunKernelCheck("T2N_FORCE_KERNEL=scalar");
        Assert.True(exit == 0, output);
        Assert.Contains("evaluator widths: active=Scalar", output, StringComparison.Ordinal);
    }

    private static (int Exit, string Output) RunKernelCheck(string setting)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "TorchToNnef.KernelCheck.dll");
        Assert.True(File.Exists(dll), $"{dll} not built");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("1");
        psi.ArgumentList.Add("evaluator");
        psi.Environment.Remove(KernelWidths.ForceVariable);
        foreach (string assignment in setting == "none" ? [] : setting.Split(';'))
        {
            string[] kv = assignment.Split('=');
            psi.Environment[kv[0]] = kv[1];
        }

        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "KernelCheck timed out");
        return (p.ExitCode, stdout + stderr.Result);
    }
}
