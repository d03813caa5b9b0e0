using System.Diagnostics;
using System.Runtime.Intrinsics;
using TorchToNnef.KernelCheck;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Quant.Tests;

/// <summary>
/// Every kernel against the scalar reference: in this process for each kernel the hardware runs, and in child
/// processes with AVX-512, AVX2 and all hardware intrinsics switched off in turn (so the fallbacks really run here).
/// </summary>
public class KernelTests
{
    public static TheoryData<Q40KernelKind> Kinds => new(Enum.GetValues<Q40KernelKind>());

    // .NET 10 ignores DOTNET_EnableAVX512F (its knob is DOTNET_EnableAVX512); both are set so the setting works on either
    // side of that rename, and the width check below fails if a switch is silently ignored.
    private const string NoAvx512 = "DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0";

    public static TheoryData<string> IsaSettings => new("none", NoAvx512, "DOTNET_EnableAVX2=0", "DOTNET_EnableHWIntrinsic=0");

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

    [Theory]
    [MemberData(nameof(Kinds))]
    public void KernelMatchesTheScalarReferenceInProcess(Q40KernelKind kind)
    {
        if (!Q40Kernels.IsSupported(kind))
        {
            // Covered by the child-process runs on hardware that has it; here, make sure the machine really lacks it.
            Assert.DoesNotContain(kind, Q40Kernels.SupportedKinds);
            return;
        }

        List<string> failures = KernelChecks.Run(kind, seeds: 2);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20)));
    }

    [Theory]
    [MemberData(nameof(IsaSettings))]
    public void KernelCheckPassesWithIsasSwitchedOff(string setting)
    {
        (int exit, string output) = RunKernelCheck(setting == "none" ? null : setting, forced: null);
        Assert.True(exit == 0, output);

        bool v512 = setting == "none" && Vector512.IsHardwareAccelerated;
        bool v256 = setting is "none" or NoAvx512 && Vector256.IsHardwareAccelerated;
        bool v128 = setting != "DOTNET_EnableHWIntrinsic=0" && Vector128.IsHardwareAccelerated;
        Q40KernelKind active = v512 ? Q40KernelKind.Vector512 : v256 ? Q40KernelKind.Vector256 : v128 ? Q40KernelKind.Vector128 : Q40KernelKind.Scalar;
        string expected = $"widths: v128={v128} v256={v256} v512={v512} active={active}";
        Assert.True(output.Contains(expected, StringComparison.Ordinal), $"expected '{expected}' in:{Environment.NewLine}{output}");
    }

    [Fact]
    public void ForcedKernelIsUsedByTheChildProcess()
    {
        (int exit, string output) = RunKernelCheck(null, forced: "scalar");
        Assert.True(exit == 0, output);
        Assert.Contains("active=Scalar", output, StringComparison.Ordinal);
    }

    private static (int Exit, string Output) RunKernelCheck(string? isaSetting, string? forced)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "TorchToNnef.KernelCheck.dll");
        Assert.True(File.Exists(dll), $"{dll} not built");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add("2");
        psi.Environment.Remove(Q40Kernels.ForceVariable);
        if (forced is not null)
        {
            psi.Environment[Q40Kernels.ForceVariable] = forced;
        }

        foreach (string assignment in isaSetting?.Split(';') ?? [])
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
