using System.Globalization;
using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace TorchToNnef.Benchmarks.Limits;

/// <summary>
/// Columns for <see cref="IMeasuredWork"/> classes: <c>Rate</c>, the work per second (10^9 units, from the median
/// time), and <c>OfLimit</c>, that rate as a percentage of the rate its limit benchmark reached in the same run.
/// </summary>
public sealed class LimitColumn(bool fraction) : IColumn
{
    /// <inheritdoc />
    public string Id => fraction ? "Limit.OfLimit" : "Limit.Rate";

    /// <inheritdoc />
    public string ColumnName => fraction ? "OfLimit" : "Rate";

    /// <inheritdoc />
    public bool AlwaysShow => true;

    /// <inheritdoc />
    public ColumnCategory Category => ColumnCategory.Custom;

    /// <inheritdoc />
    public int PriorityInCategory => fraction ? 1 : 0;

    /// <inheritdoc />
    public bool IsNumeric => false;

    /// <inheritdoc />
    public UnitType UnitType => UnitType.Dimensionless;

    /// <inheritdoc />
    public string Legend => fraction
        ? "OfLimit: Rate as a percentage of the Rate of the limit benchmark named in brackets, measured in the same run"
        : "Rate: 10^9 units of work per second (GFMA/s: f32 fused multiply-adds; GB/s: bytes read + written), from the median time";

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, SummaryStyle.Default);

    /// <inheritdoc />
    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        (Work work, double rate)? own = RateOf(summary, benchmarkCase);
        if (own is null)
        {
            return "-";
        }

        if (!fraction)
        {
            return $"{own.Value.rate.ToString("0.00", CultureInfo.InvariantCulture)} {own.Value.work.Unit}";
        }

        if (own.Value.work.Limit is not string limitName)
        {
            return "(limit)";
        }

        BenchmarkCase? limit = summary.BenchmarksCases.FirstOrDefault(c =>
            c.Descriptor.Type == benchmarkCase.Descriptor.Type && c.Descriptor.WorkloadMethod.Name == limitName && c.Job == benchmarkCase.Job);
        (Work work, double rate)? limitRate = limit is null ? null : RateOf(summary, limit);
        return limitRate is null
            ? "?"
            : $"{(100 * own.Value.rate / limitRate.Value.rate).ToString("0.0", CultureInfo.InvariantCulture)}% [{limitName}]";
    }

    /// <inheritdoc />
    public bool IsAvailable(Summary summary) => true;

    /// <inheritdoc />
    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    private static (Work, double)? RateOf(Summary summary, BenchmarkCase c)
    {
        if (Activator.CreateInstance(c.Descriptor.Type) is not IMeasuredWork measured || measured.WorkOf(c.Descriptor.WorkloadMethod.Name) is not Work work)
        {
            return null;
        }

        double? median = summary[c]?.ResultStatistics?.Median;
        return median is > 0 ? (work, work.Units / (median.Value * 1e-9) / 1e9) : null;
    }
}
