using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Environments;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.NativeAot;
using TorchToNnef.Formats.Checksums;
using PackageCrc32 = System.IO.Hashing.Crc32;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// The CRC-32 of the stored <c>.nnef.tgz</c> (<see cref="GzipCrc32"/>, each path forced, and its default) against
/// System.IO.Hashing's <c>Crc32</c>, the baseline of the Ratio column, in two jobs: the JIT, and a Native AOT build
/// with the CLI's x86-64-v3 baseline, where VPCLMULQDQ is used only through a run-time check and 512-bit vectors
/// never are (a path the job cannot run shows as NA). Sizes: one export-llm write of Q4_0 blocks (32 chunks of
/// 4096 blocks of 18 bytes, 2,359,296 bytes, fresh in the caches) and 64 MiB (from memory). Run with
/// <c>--filter '*Crc32Benchmarks*'</c>.
/// </summary>
[Config(typeof(Crc32Config))]
public class Crc32Benchmarks
{
    private byte[] _data = null!;

    /// <summary>Bytes hashed per operation.</summary>
    [Params(2_359_296, 64 << 20)]
    public int Bytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _data = new byte[Bytes];
        new Random(5).NextBytes(_data);
    }

    [Benchmark(Baseline = true)]
    public uint SystemIoHashing() => PackageCrc32.HashToUInt32(_data);

    [Benchmark]
    public uint Default() => GzipCrc32.Compute(_data);

    [Benchmark]
    public uint Vector512() => GzipCrc32.Append(GzipCrc32Path.Vector512, 0, _data);

    [Benchmark]
    public uint Vector256() => GzipCrc32.Append(GzipCrc32Path.Vector256, 0, _data);

    [Benchmark]
    public uint Vector128() => GzipCrc32.Append(GzipCrc32Path.Vector128, 0, _data);

    [Benchmark]
    public uint Scalar() => GzipCrc32.Append(GzipCrc32Path.Scalar, 0, _data);

    private sealed class Crc32Config : ManualConfig
    {
        public Crc32Config()
        {
            Job Base() => Job.Default.WithWarmupCount(3).WithIterationCount(10);
            AddJob(Base().WithId("JIT"));
            // The generated AOT project sits under the repository's Directory.Build.props (warnings as errors), and
            // BenchmarkDotNet's own trim warnings must not stop it.
            AddJob(Base().WithId("AOT-v3").WithArguments([new MsBuildArgument("/p:TreatWarningsAsErrors=false")]).WithToolchain(NativeAotToolchain.CreateBuilder()
                .UseNuGet()
                .IlcInstructionSet("x86-64-v3")
                .TargetFrameworkMoniker("net10.0")
                .DisplayName("NativeAOT x86-64-v3")
                .ToToolchain()));
            AddColumn(new ThroughputColumn("GB/s", c => Convert.ToDouble(c.Parameters["Bytes"], System.Globalization.CultureInfo.InvariantCulture)));
            HideColumns(Column.Error, Column.StdDev);
            WithOptions(ConfigOptions.DisableOptimizationsValidator);

            // The AOT build of the whole benchmark program takes 5-10 minutes on the shared 2-core machine.
            WithBuildTimeout(TimeSpan.FromMinutes(30));
        }
    }
}
