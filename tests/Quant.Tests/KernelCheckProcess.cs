using System.Diagnostics;
using System.Text.RegularExpressions;
using TorchToNnef.KernelCheck;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Quant.Tests;

/// <summary>
/// Runs tests/KernelCheck in a child process with a clean vector configuration: every inherited <c>DOTNET_Enable*</c>
/// (and legacy <c>COMPlus_Enable*</c>) switch, vector-width limit and forced kernel is removed, 512-bit vectors are
/// allowed (.NET otherwise leaves them off on CPUs that throttle), then the given switches are applied.
/// </summary>
internal static partial class KernelCheckProcess
{
    public static (int Exit, string Output, IReadOnlyList<Q40KernelKind> Ran) Run(string? isaSetting, string? forced = null, Q40KernelKind? only = null, int seeds = 2)
    {
        string dll = Path.Combine(AppContext.BaseDirectory, "TorchToNnef.KernelCheck.dll");
        Assert.True(File.Exists(dll), $"{dll} not built");
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        psi.ArgumentList.Add(seeds.ToString(System.Globalization.CultureInfo.InvariantCulture));
        if (only is { } k)
        {
            psi.ArgumentList.Add("--only");
            psi.ArgumentList.Add(k.ToString());
        }

        foreach (string name in psi.Environment.Keys.ToList())
        {
            if (CpuWidths.IsVectorSetting(name))
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

        foreach (string assignment in isaSetting?.Split(';') ?? [])
        {
            string[] kv = assignment.Split('=');
            psi.Environment[kv[0]] = kv[1];
        }

        using Process p = Process.Start(psi)!;
        Task<string> stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        Assert.True(p.WaitForExit(TimeSpan.FromMinutes(5)), "KernelCheck timed out");
        string output = stdout + stderr.Result;
        Match ran = RanLine().Match(output);
        IReadOnlyList<Q40KernelKind> kinds = ran.Success
            ? [.. ran.Groups[1].Value.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(Enum.Parse<Q40KernelKind>)]
            : [];
        return (p.ExitCode, output, kinds);
    }

    [GeneratedRegex(@"^ran: ([A-Za-z0-9,]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex RanLine();
}
