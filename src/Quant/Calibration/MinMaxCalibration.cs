using System.Globalization;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Calibration;

/// <summary>
/// torch_to_nnef's min-max calibration, byte for byte: <c>scale = f16(absmax / -8)</c> per group (always &lt;= 0),
/// <c>code = clamp(floor(x * f16(1/scale) + 8.5), 0, 15)</c>, with the arithmetic of the input dtype (f16 inputs round
/// every step to f16; bf16 inputs are promoted to f32). With a percentile below 1 the absolute maximum is replaced by
/// torch's linear-interpolation quantile of |x| (values beyond it saturate to code 0 or 15).
/// Runs on the fastest SIMD kernel of the machine (<see cref="Q40Kernels.Active"/>).
/// </summary>
public sealed class MinMaxCalibration : Q40Calibration
{
    /// <summary>Creates the calibration.</summary>
    /// <param name="percentile">Quantile of |x| used as the group's range, in (0, 1]; 1 means the true maximum.</param>
    /// <exception cref="ArgumentOutOfRangeException">The percentile is not in (0, 1].</exception>
    public MinMaxCalibration(double percentile = 1.0)
    {
        if (!(percentile > 0 && percentile <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(percentile), percentile, "The percentile must be in (0, 1].");
        }

        Percentile = percentile;
    }

    /// <summary>The quantile of |x| that sets each group's scale (1 = maximum).</summary>
    public double Percentile { get; }

    /// <inheritdoc />
    public override string Name => Percentile >= 1 ? "min_max" : "min_max_p" + Percentile.ToString(CultureInfo.InvariantCulture);

    /// <inheritdoc />
    protected override void QuantizeCore(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks) =>
        QuantizeCoreReportingScales(sourceDType, source, blocks);

    /// <inheritdoc />
    private protected override bool QuantizeCoreReportingScales(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks) =>
        Q40Kernels.QuantizeMinMax(Q40Kernels.Active, sourceDType, source, blocks, (float)Percentile);
}
