using System.Runtime.Intrinsics.X86;
using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Cli.Tests;

public class SelfTestCommandTests
{
    [Fact]
    public void EveryKernelThisCpuSupportsPassesAndIsListed()
    {
        (int code, string output, string err) = CliRunner.Run("selftest");
        Assert.True(code == 0, output + err);
        string[] lines = output.TrimEnd().Split(Environment.NewLine);
        Assert.Equal(Q40Kernels.SupportedKinds.Select(k => k.ToString()), lines.Select(l => l.Split(' ')[1].TrimEnd(':')));
        Assert.All(lines, l => Assert.StartsWith("pass ", l, StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains($"{Q40Kernels.Active} (active)", StringComparison.Ordinal));
    }

    [Fact]
    public void TheKernelsCheckedComeFromTheCpuNotTheRuntimeDefaults()
    {
        // With AVX-512 switched off the 512-bit kernel must not be listed; on a CPU that has it, it must be without.
        (int code, string output, string err) = ChildCli.Run(new Dictionary<string, string> { ["DOTNET_EnableAVX512"] = "0" }, TimeSpan.FromMinutes(2), "selftest");
        Assert.True(code == 0, output + err);
        Assert.DoesNotContain("Vector512", output, StringComparison.Ordinal);
        (code, output, err) = ChildCli.Run(new Dictionary<string, string>(), TimeSpan.FromMinutes(2), "selftest", "--json");
        Assert.True(code == 0, output + err);
        Assert.Equal(Avx512BW.IsSupported, output.Contains("\"Vector512\"", StringComparison.Ordinal));
    }

    [Fact]
    public void TheLibraryCheckCoversEveryTailAndSourceType()
    {
        foreach (Q40KernelKind kind in Q40Kernels.SupportedKinds)
        {
            Q40SelfTestResult result = Q40SelfTest.Run(kind, seed: 7);
            Assert.True(result.Passed, string.Join('\n', result.Failures));
            Assert.Equal(3 * Q40SelfTest.GroupCounts.Count * 3, result.Cases);
        }
    }
}
