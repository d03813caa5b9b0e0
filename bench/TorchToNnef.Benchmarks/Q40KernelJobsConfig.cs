using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// One job per Q4_0 kernel, chosen in a separate process through <c>T2N_FORCE_KERNEL</c>, with the scalar reference
/// as the baseline (ImageSharp's HwIntrinsics pattern): the Ratio column is each kernel's time over the scalar path's
/// in the same run. Adds GB/s of input and G elements/s. Few iterations: the scalar path on 64 Mi values takes seconds.
/// </summary>
public sealed class Q40KernelJobsConfig : ManualConfig
{
    /// <summary>Builds the config.</summary>
    public Q40KernelJobsConfig()
    {
        Job Base(string kernel) => Job.Default
            .WithWarmupCount(2)
            .WithIterationCount(7)
            .WithEnvironmentVariables(new EnvironmentVariable(Q40Kernels.ForceVariable, kernel))
            .WithId(kernel);

        AddJob(Base("scalar").AsBaseline());
        AddJob(Base("v128"));
        AddJob(Base("v256"));
        AddJob(Base("v512"));
        AddColumn(new ThroughputColumn("GB/s", InputBytes));
        AddColumn(new ThroughputColumn("Gelem/s", Elements));
        HideColumns(Column.Error, Column.StdDev);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }

    /// <summary>Values per operation (the <c>Elements</c> parameter).</summary>
    internal static double Elements(BenchmarkCase c) => Convert.ToDouble(c.Parameters["Elements"], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>Input bytes per operation: elements times the size of the <c>Source</c> dtype (f32 when absent).</summary>
    internal static double InputBytes(BenchmarkCase c)
    {
        DType source = c.Parameters.Items.Any(p => p.Name == "Source") ? (DType)c.Parameters["Source"] : DType.F32;
        return Elements(c) * source.ElementSize();
    }
}
