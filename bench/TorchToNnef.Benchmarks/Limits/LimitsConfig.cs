using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace TorchToNnef.Benchmarks.Limits;

/// <summary>
/// Config for benchmarks judged against machine limits: medians (the machine is shared and noisy), the Rate and
/// OfLimit columns, and a short job (each case is long enough to be measured in a few iterations) run in process: the
/// limits and the kernels share the process, and no benchmark project is rebuilt (a rebuild takes minutes on the
/// shared 2-core machine).
/// </summary>
public sealed class LimitsConfig : ManualConfig
{
    /// <summary>Builds the config.</summary>
    public LimitsConfig()
    {
        AddJob(Job.Default.WithWarmupCount(3).WithIterationCount(9).WithToolchain(InProcessEmitToolchain.Instance).WithId("limits"));
        AddColumn(StatisticColumn.Median, StatisticColumn.Min, StatisticColumn.Max);
        AddColumn(new LimitColumn(fraction: false), new LimitColumn(fraction: true));
        HideColumns(Column.Error, Column.StdDev);
        WithOptions(ConfigOptions.DisableOptimizationsValidator);
    }
}
