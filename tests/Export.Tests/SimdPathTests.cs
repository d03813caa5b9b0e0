using System.Diagnostics;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// Runs the kernel self-checks in child processes with hardware paths switched off in turn, so the Vector256,
/// Vector128 and scalar paths are each compared with the scalar reference (the JIT reads the switches at startup).
/// </summary>
public class SimdPathTests(ITestOutputHelper log)
{
    // .NET 10 reads DOTNET_EnableAVX512 (DOTNET_EnableAVX512F no longer turns Vector512 off), so both are set; the
    // child reports which widths its JIT accelerated and the test checks the intended path really ran.
    [Theory]
    [InlineData(null, "Vector512 ")]
    [InlineData("DOTNET_EnableAVX512F,DOTNET_EnableAVX512", "Vector512 False, Vector256 True")]
    [InlineData("DOTNET_EnableAVX2", "Vector256 False, Vector128 True")]
    [InlineData("DOTNET_EnableHWIntrinsic", "Vector128 False")]
    public void KernelsMatchTheScalarReferenceWithHardwarePathOff(string? switchedOff, string expectedWidths)
    {
        string dll = KernelCheckPath();
        var start = new ProcessStartInfo("dotnet", [dll]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (string name in switchedOff?.Split(',') ?? [])
        {
            start.Environment[name] = "0";
        }

        using Process p = Process.Start(start)!;
        string output = p.StandardOutput.ReadToEnd() + p.StandardError.ReadToEnd();
        Assert.True(p.WaitForExit(300_000), "kernel check timed out");
        log.WriteLine($"{switchedOff ?? "all paths on"}: {output}");
        Assert.True(p.ExitCode == 0, output);
        Assert.Contains(expectedWidths, output);
    }

    private static string KernelCheckPath()
    {
        // The test assembly lives in tests/Export.Tests/bin/<Configuration>/<tfm>/; the checker is built alongside.
        string here = AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar);
        string tfm = Path.GetFileName(here);
        string configuration = Path.GetFileName(Path.GetDirectoryName(here)!);
        string dll = Path.Combine(TestSupport.Golden.RepoRoot, "tests", "Export.KernelCheck", "bin", configuration, tfm, "TorchToNnef.Export.KernelCheck.dll");
        return File.Exists(dll) ? dll : throw new FileNotFoundException($"kernel checker not built at {dll}");
    }
}
