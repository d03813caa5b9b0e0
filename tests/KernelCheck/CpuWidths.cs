using System.Diagnostics;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.KernelCheck;

/// <summary>
/// The evaluator kernel widths a process must run, from the CPU's own feature list (<see cref="CpuKernels"/>:
/// <c>/proc/cpuinfo</c> or <c>T2N_REQUIRED_KERNELS</c>), not from the runtime: a runtime that silently stopped using
/// a width the CPU has fails the kernel tests instead of quietly testing less. Each switch of the child processes
/// removes the widths it disables; children start from a clean vector configuration (inherited <c>DOTNET_Enable*</c>
/// settings and width limits removed, 512-bit vectors allowed).
/// </summary>
public static class CpuWidths
{
    /// <summary>AVX-512 off (.NET 10's knob and the older one, so the switch works on either side of the rename).</summary>
    public const string NoAvx512 = "DOTNET_EnableAVX512F=0;DOTNET_EnableAVX512=0";

    /// <summary>AVX2 (and with it 256-bit vectors) off.</summary>
    public const string NoAvx2 = "DOTNET_EnableAVX2=0";

    /// <summary>Every hardware intrinsic off.</summary>
    public const string NoHardwareIntrinsics = "DOTNET_EnableHWIntrinsic=0";

    /// <summary>Switches the tests run child processes with.</summary>
    public static readonly string[] Settings = ["none", NoAvx512, NoAvx2, NoHardwareIntrinsics];

    /// <summary>True when the CPU's kernels are known (flags readable or required kernels given).</summary>
    public static bool Known => CpuKernels.Expected is not null;

    /// <summary>Where the expectation came from, for messages.</summary>
    public static string Source => CpuKernels.Source;

    /// <summary>Names of the widths (<c>Scalar</c>, <c>Vector128</c>, ...) a process with <paramref name="setting"/> must run, scalar first.</summary>
    public static IReadOnlyList<string> Expected(string setting)
    {
        IReadOnlySet<Q40KernelKind> cpu = CpuKernels.Expected
            ?? throw new InvalidOperationException($"cannot tell which widths this CPU runs ({CpuKernels.Source}); set {CpuKernels.RequiredVariable}");
        Q40KernelKind widest = setting switch
        {
            "none" => Q40KernelKind.Vector512,
            NoAvx512 => Q40KernelKind.Vector256,
            NoAvx2 => Q40KernelKind.Vector128,
            _ => Q40KernelKind.Scalar,
        };
        return [.. cpu.Where(k => k <= widest).Order().Select(k => k.ToString())];
    }

    /// <summary>True for the runtime settings that change which vector widths a process uses.</summary>
    public static bool IsVectorSetting(string name)
    {
        foreach (string prefix in new[] { "DOTNET_", "COMPlus_" })
        {
            if (name.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                string knob = name[prefix.Length..];
                return knob.StartsWith("Enable", StringComparison.OrdinalIgnoreCase)
                    || knob.Equals("PreferredVectorBitWidth", StringComparison.OrdinalIgnoreCase)
                    || knob.Equals("MaxVectorTBitWidth", StringComparison.OrdinalIgnoreCase);
            }
        }

        return false;
    }

    /// <summary>
    /// A start for the KernelCheck program with a clean vector configuration, then <paramref name="setting"/>
    /// (<c>name=value;...</c>, or "none") and the forced kernel, if any, applied.
    /// </summary>
    public static ProcessStartInfo ChildProcess(string dll, string setting, string? forced, params string[] arguments)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (string a in arguments)
        {
            psi.ArgumentList.Add(a);
        }

        foreach (string name in psi.Environment.Keys.ToList())
        {
            if (IsVectorSetting(name))
            {
                psi.Environment.Remove(name);
            }
        }

        psi.Environment.Remove(Q40Kernels.ForceVariable);
        psi.Environment["DOTNET_PreferredVectorBitWidth"] = "512";
        if (forced is not null)
        {
            psi.Environment[Q40Kernels.ForceVariable] = forced;
        }

        foreach (string assignment in setting == "none" ? [] : setting.Split(';'))
        {
            string[] kv = assignment.Split('=');
            psi.Environment[kv[0]] = kv[1];
        }

        return psi;
    }

    /// <summary>
    /// Runs this KernelCheck build (next to the calling test assembly) in a child process made by
    /// <see cref="ChildProcess"/> and returns its exit code and its standard output followed by its standard error.
    /// </summary>
    /// <param name="setting">As for <see cref="ChildProcess"/>.</param>
    /// <param name="forced">As for <see cref="ChildProcess"/>.</param>
    /// <param name="arguments">KernelCheck's command line.</param>
    public static (int Exit, string Output) RunChild(string setting, string? forced, params string[] arguments)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "TorchToNnef.KernelCheck.dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} not built", dll);
        }

        using Process p = Process.Start(ChildProcess(dll, setting, forced, arguments))!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(5)))
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"KernelCheck {string.Join(' ', arguments)} with {setting} did not finish in 5 minutes");
        }

        return (p.ExitCode, stdout + stderr.Result);
    }
}
