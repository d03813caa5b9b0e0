using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Mathematics;
using BenchmarkDotNet.Running;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// A throughput column computed from a benchmark case's parameters and its mean time: e.g. GB/s of input
/// (10^9 bytes per second) or G elements/s.
/// </summary>
public sealed class ThroughputColumn(string name, Func<BenchmarkCase, double> unitsPerOperation) : IColumn
{
    /// <inheritdoc />
    public string Id => "Throughput." + name;

    /// <inheritdoc />
    public string ColumnName => name;

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc />
    public int PriorityInCategory => 0;

    /// <inheritdoc />
    public bool IsNumeric => true;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend => $"{name}: units of work per second / 10^9, from the mean time";

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        Statistics? stats = summary[benchmarkCase]?.ResultStatistics;
        if (stats is null || stats.Mean <= 0)
        {
            return "NA";
        }

        double perSecond = unitsPerOperation(benchmarkCase) / (stats.Mean * 1e-9);
        return (perSecond / 1e9).ToString("0.000", System.Globalization.CultureInfo.InvariantCulture);
    }

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;
}
