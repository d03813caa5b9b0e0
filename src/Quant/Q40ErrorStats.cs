using System.Globalization;

namespace TorchToNnef.Quant;

/// <summary>
/// Quantization error of a tensor (or part of one): the original values against their dequantized Q4_0 values as
/// tract computes them in f32. Pairs where either value is not finite are counted in <see cref="NonFiniteCount"/>
/// and left out of the sums, so one overflowing group does not hide the error of the rest.
/// </summary>
public sealed class Q40ErrorStats
{
    /// <summary>Finite value pairs measured.</summary>
    public long Count { get; private set; }

    /// <summary>Pairs left out because the original or the dequantized value is NaN or infinite.</summary>
    public long NonFiniteCount { get; private set; }

    /// <summary>Sum of squared errors.</summary>
    public double SumSquaredError { get; private set; }

    /// <summary>Sum of squared original values.</summary>
    public double SumSquaredSignal { get; private set; }

    /// <summary>Largest absolute error.</summary>
    public double MaxAbsError { get; private set; }

    /// <summary>Root mean squared error (0 when nothing was measured).</summary>
    public double Rmse => Count == 0 ? 0 : Math.Sqrt(SumSquaredError / Count);

    /// <summary>Signal-to-quantization-noise ratio in dB (infinite when the error is zero).</summary>
    public double SqnrDb => SumSquaredError == 0 ? double.PositiveInfinity : 10 * Math.Log10(SumSquaredSignal / SumSquaredError);

    /// <summary>Adds the error of <paramref name="original"/> against <paramref name="dequantized"/> (same length).</summary>
    public void Add(ReadOnlySpan<float> original, ReadOnlySpan<float> dequantized)
    {
        if (original.Length != dequantized.Length)
        {
            throw new ArgumentException("Both spans must have the same length.", nameof(dequantized));
        }

        long count = 0;
        long nonFinite = 0;
        double sse = 0;
        double signal = 0;
        double max = MaxAbsError;
        for (int i = 0; i < original.Length; i++)
        {
            float x = original[i];
            float w = dequantized[i];
            if (!float.IsFinite(x) || !float.IsFinite(w))
            {
                nonFinite++;
                continue;
            }

            double e = (double)x - w;
            sse += e * e;
            signal += (double)x * x;
            max = Math.Max(max, Math.Abs(e));
            count++;
        }

        Count += count;
        NonFiniteCount += nonFinite;
        SumSquaredError += sse;
        SumSquaredSignal += signal;
        MaxAbsError = max;
    }

    /// <summary>Adds another set of statistics to this one.</summary>
    public void Merge(Q40ErrorStats other)
    {
        Count += other.Count;
        NonFiniteCount += other.NonFiniteCount;
        SumSquaredError += other.SumSquaredError;
        SumSquaredSignal += other.SumSquaredSignal;
        MaxAbsError = Math.Max(MaxAbsError, other.MaxAbsError);
    }

    /// <summary>Formats as <c>rmse=… max=… sqnr=…dB</c>.</summary>
    public override string ToString() => string.Create(
        CultureInfo.InvariantCulture,
        $"rmse={Rmse:G6} max_abs={MaxAbsError:G6} sqnr={SqnrDb:F2}dB{(NonFiniteCount > 0 ? $" non_finite={NonFiniteCount}" : string.Empty)}");
}
