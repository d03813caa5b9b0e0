using System.Text.RegularExpressions;
using TorchToNnef.Formats.Checksums;
using TorchToNnef.KernelCheck;

namespace TorchToNnef.Formats.Tests.Checksums;

/// <summary>
/// The archive's CRC-32 (<see cref="GzipCrc32"/>): its tables and folding constants, derived from the polynomial, against
/// published values; every path against System.IO.Hashing in this process and in child processes (the KernelCheck
/// program) with AVX-512, AVX2 and all hardware intrinsics switched off in turn. The paths each process must run come
/// from the CPU's flags (<see cref="CpuCrc32Paths"/>), so an ignored switch, or a path the CPU has that stopped
/// running, fails here.
/// </summary>
public partial class GzipCrc32Tests
{
    public static TheoryData<string> Settings => new(CpuWidths.Settings);

    [Fact]
    public void PolynomialFormsAgree() =>
        Assert.Equal(GzipCrc32Polynomial.Reflected, GzipCrc32Polynomial.Reverse(GzipCrc32Polynomial.Normal));

    [Fact]
    public void TablesMatchTheClassicCrc32Table()
    {
        // Entries of the byte table printed in the PNG specification (annex D) and zlib's crc32.h.
        uint[] t = GzipCrc32Polynomial.SliceBy8Tables();
        Assert.Equal(0u, t[0]);
        Assert.Equal(0x77073096u, t[1]);
        Assert.Equal(0xEE0E612Cu, t[2]);
        Assert.Equal(0x2D02EF8Du, t[255]);
    }

    [Fact]
    public void FoldConstantsMatchThePublishedOnes()
    {
        // The reflected CRC-32 constants of Intel's PCLMULQDQ paper (k1..k4, also in zlib and the Linux kernel): folds
        // of 4 x 128 bits and of 128 bits.
        Assert.Equal((0x1_5444_2BD4UL, 0x1_C6E4_1596UL), GzipCrc32Polynomial.FoldPair(512));
        Assert.Equal((0x1_7519_97D0UL, 0x0_CCAA_009EUL), GzipCrc32Polynomial.FoldPair(128));
    }

    [Fact]
    public void KernelConstantsAreDerivedFromThePolynomial() =>
        Assert.All(GzipCrc32Folding.FoldConstants, c => Assert.Equal(GzipCrc32Polynomial.FoldPair(c.Distance), (c.Low, c.High)));

    [Theory]
    [InlineData(0, 1u)]
    [InlineData(31, 0x8000_0000u)]
    [InlineData(32, GzipCrc32Polynomial.Normal)]
    public void PowersOfXReduceModuloThePolynomial(int n, uint expected) => Assert.Equal(expected, GzipCrc32Polynomial.XPowMod(n));

    [Fact]
    public void EveryPathMatchesSystemIoHashingInProcess()
    {
        List<string> failures = Crc32Checks.Run(seeds: 1);
        Assert.True(failures.Count == 0, string.Join(Environment.NewLine, failures.Take(20)));
    }

    [Fact]
    public void ThisProcessRunsThePathsTheCpuHas()
    {
        Assert.True(CpuCrc32Paths.Known, "cannot read the CPU flags (/proc/cpuinfo)");
        IReadOnlyList<string> cpu = CpuCrc32Paths.Expected("none");
        Assert.All(Crc32Checks.Supported, p => Assert.Contains(p, cpu));
        bool switched = Environment.GetEnvironmentVariables().Keys.Cast<string>().Any(CpuWidths.IsVectorSetting);
        if (!switched && (!cpu.Contains("Vector512") || System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated))
        {
            Assert.Equal(cpu, Crc32Checks.Supported);
        }
    }

    [Theory]
    [MemberData(nameof(Settings))]
    public void EveryPathMatchesSystemIoHashingWithIsasSwitchedOff(string setting)
    {
        (int exit, string output) = RunKernelCheck(setting);
        Assert.True(exit == 0, output);

        IReadOnlyList<string> expected = CpuCrc32Paths.Expected(setting);
        Match ran = RanLine().Match(output);
        Assert.True(ran.Success, output);
        Assert.True(ran.Groups[2].Value == string.Join(",", expected), $"expected CRC-32 paths {string.Join(",", expected)} with {setting}:{Environment.NewLine}{output}");
        Assert.Equal(expected[^1], ran.Groups[1].Value);
    }

    [Theory]
    [InlineData("pclmulqdq avx2", true, "none", "Scalar,Vector128")] // Haswell: no VPCLMULQDQ
    [InlineData("pclmulqdq vpclmulqdq avx2", true, "none", "Scalar,Vector128,Vector256")] // Alder Lake
    [InlineData("pclmulqdq vpclmulqdq avx2 avx512f avx512bw avx512cd avx512dq avx512vl", true, "none", "Scalar,Vector128,Vector256,Vector512")]
    [InlineData("pclmulqdq vpclmulqdq avx2 avx512f avx512bw avx512cd avx512dq avx512vl", true, CpuWidths.NoAvx512, "Scalar,Vector128,Vector256")]
    [InlineData("pclmulqdq vpclmulqdq avx2 avx512f avx512bw avx512cd avx512dq avx512vl", true, CpuWidths.NoAvx2, "Scalar,Vector128")]
    [InlineData("pclmulqdq vpclmulqdq avx2", true, CpuWidths.NoHardwareIntrinsics, "Scalar")]
    [InlineData("asimd aes pmull", false, "none", "Scalar")]
    public void CpuFlagsDecideTheExpectedPaths(string flags, bool x86, string setting, string expected) =>
        Assert.Equal(expected, string.Join(",", CpuCrc32Paths.FromFlags(flags.Split(' ').ToHashSet(), x86, setting)));

    private static (int Exit, string Output) RunKernelCheck(string setting) =>
        CpuWidths.RunChild(setting, forced: null, "1", "--crc32");

    [GeneratedRegex(@"^crc32 ran: widest=(\w+) paths=([A-Za-z0-9,]+)\s*$", RegexOptions.Multiline)]
    private static partial Regex RanLine();
}
