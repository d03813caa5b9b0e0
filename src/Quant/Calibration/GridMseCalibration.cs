using System.Globalization;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Calibration;

/// <summary>
/// The scale grid search of torch_to_nnef's quantization tutorial (<c>fp_to_tract_q4_0_with_grid_mse_calibration</c>):
/// quantize with min-max, keep the codes, then walk each group's f16 scale from the min-max value down to
/// <see cref="MaxShrink"/> of it in <see cref="GridSize"/> steps (the step and every position rounded to f16, as the
/// tutorial does on f16 tensors) and keep the first scale with the lowest squared error. Unlike the tutorial, the
/// error is measured against tract's exact f32 dequantization whatever the weight dtype (the tutorial uses the
/// weight's own dtype), so results are independent of how f16 arithmetic would round the error.
/// </summary>
public sealed class GridMseCalibration : Q40Calibration
{
    /// <summary>Creates the calibration.</summary>
    /// <param name="gridSize">Number of steps (the tutorial's registry uses 100).</param>
    /// <param name="maxShrink">Smallest scale tried, as a fraction of the min-max scale.</param>
    /// <exception cref="ArgumentOutOfRangeException">A grid below 1 or a shrink outside (0, 1).</exception>
    public GridMseCalibration(int gridSize = 100, double maxShrink = 0.8)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(gridSize, 1);
        if (!(maxShrink > 0 && maxShrink < 1))
        {
            throw new ArgumentOutOfRangeException(nameof(maxShrink), maxShrink, "The shrink factor must be in (0, 1).");
        }

        GridSize = gridSize;
        MaxShrink = maxShrink;
    }

    /// <summary>Steps of the search.</summary>
    public int GridSize { get; }

    /// <summary>Smallest scale tried, as a fraction of the min-max scale.</summary>
    public double MaxShrink { get; }

    /// <inheritdoc />
    public override string Name => string.Create(CultureInfo.InvariantCulture, $"grid_mse_{GridSize}_{MaxShrink}");

    /// <inheritdoc />
    protected override void QuantizeCore(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks, bool ggmlOrder)
    {
        Q40Kernels.QuantizeMinMax(Q40Kernels.Active, sourceDType, source, blocks, ggmlOrder, 1f);
        float[] x = GroupBlocks.ToSingle(sourceDType, source);
        Span<byte> codes = stackalloc byte[Q40Format.GroupSize];
        for (int g = 0; g < x.Length / Q40Format.GroupSize; g++)
        {
            Span<byte> block = blocks.Slice(g * Q40Format.BlockBytes, Q40Format.BlockBytes);
            GroupBlocks.Codes(block, codes, ggmlOrder);
            ushort best = BestScale(x.AsSpan(g * Q40Format.GroupSize, Q40Format.GroupSize), codes, Q40Reference.ScaleOf(block), GridSize, (float)MaxShrink);
            GroupBlocks.SetScale(block, best);
        }
    }

    /// <summary>
    /// The tutorial's search for one group with fixed <paramref name="codes"/>: candidates
    /// <c>s_k = f16(s_{k-1} - step)</c>, <c>step = f16(f16(s0 - f16(s0 * shrink)) / grid)</c>, error
    /// <c>sum (x - (code - 8) * s)^2</c>, strict improvement only.
    /// </summary>
    internal static ushort BestScale(ReadOnlySpan<float> x, ReadOnlySpan<byte> codes, ushort s0, int grid, float shrink)
    {
        // With the codes fixed, the error is a quadratic in s: sum x^2 - 2 s sum(x q) + s^2 sum(q^2).
        double sxx = 0, sxq = 0, sqq = 0;
        for (int i = 0; i < x.Length; i++)
        {
            int q = codes[i] - 8;
            sxx += (double)x[i] * x[i];
            sxq += (double)x[i] * q;
            sqq += q * q;
        }

        float scale0 = HalfBits.ToSingle(s0);
        float lower = HalfBits.Round(scale0 * shrink);
        float step = HalfBits.Round(HalfBits.Round(scale0 - lower) / grid);
        double Error(float s) => sxx - (2 * s * sxq) + ((double)s * s * sqq);

        ushort best = s0;
        double bestError = Error(scale0);
        float current = scale0;
        for (int k = 0; k < grid; k++)
        {
            current = HalfBits.Round(current - step);
            double e = Error(current);
            if (e < bestError)
            {
                bestError = e;
                best = HalfBits.FromSingle(current);
            }
        }

        return best;
    }
}
