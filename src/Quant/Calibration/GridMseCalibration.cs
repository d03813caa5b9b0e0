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

    // The candidate scales depend only on the min-max scale: computed once per distinct scale (a sequential chain of
    // f16 roundings) and shared by all groups and threads. Indexed by the scale's f16 bits; the table (512 KiB of
    // references) is made on first use, not when the built-in registry is: every t2n start made two of them, ~3.5 ms
    // of page faults and zeroing on the one busy core before the first weight (bench/README.md, "Weights before the graph").
    private float[]?[]? _candidates;

    /// <inheritdoc />
    protected override void QuantizeCore(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks)
    {
        Q40Kernels.QuantizeMinMax(Q40Kernels.Active, sourceDType, source, blocks, 1f);
        ReadOnlySpan<float> x = GroupBlocks.AsSingle(sourceDType, source, out float[]? rented);
        try
        {
            Span<byte> codes = stackalloc byte[Q40Format.GroupSize];
            for (int g = 0; g < x.Length / Q40Format.GroupSize; g++)
            {
                Span<byte> block = blocks.Slice(g * Q40Format.BlockBytes, Q40Format.BlockBytes);
                GroupBlocks.Codes(block, codes);
                ushort s0 = Q40Reference.ScaleOf(block);
                ushort best = BestScale(x.Slice(g * Q40Format.GroupSize, Q40Format.GroupSize), codes, s0, CandidatesFor(s0));
                GroupBlocks.SetScale(block, best);
            }
        }
        finally
        {
            GroupBlocks.Return(rented);
        }
    }

    /// <summary>The tutorial's candidate scales after <paramref name="s0"/> (cached per instance).</summary>
    internal float[] CandidatesFor(ushort s0)
    {
        float[]?[] table = LazyInitializer.EnsureInitialized(ref _candidates, static () => new float[]?[65536]);
        float[]? c = Volatile.Read(ref table[s0]);
        if (c is null)
        {
            c = Candidates(s0, GridSize, (float)MaxShrink);
            Interlocked.CompareExchange(ref table[s0], c, null);
        }

        return c;
    }

    /// <summary>
    /// The tutorial's candidates: <c>s_k = f16(s_{k-1} - step)</c> with <c>step = f16(f16(s0 - f16(s0 * shrink)) / grid)</c>,
    /// as f32 values.
    /// </summary>
    internal static float[] Candidates(ushort s0, int grid, float shrink)
    {
        float scale0 = HalfBits.ToSingle(s0);
        float lower = HalfBits.Round(scale0 * shrink);
        float step = HalfBits.Round(HalfBits.Round(scale0 - lower) / grid);
        var c = new float[grid];
        float current = scale0;
        for (int k = 0; k < grid; k++)
        {
            current = HalfBits.Round(current - step);
            c[k] = current;
        }

        return c;
    }

    /// <summary>
    /// The tutorial's choice for one group with fixed <paramref name="codes"/>: the first candidate (min-max scale
    /// <paramref name="s0"/> first) with the lowest error <c>sum (x - (code - 8) * s)^2</c>, strict improvement only.
    /// </summary>
    internal static ushort BestScale(ReadOnlySpan<float> x, ReadOnlySpan<byte> codes, ushort s0, ReadOnlySpan<float> candidates)
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

        double s = HalfBits.ToSingle(s0);
        double bestError = sxx - (2 * s * sxq) + (s * s * sqq);
        int best = -1;
        for (int k = 0; k < candidates.Length; k++)
        {
            double c = candidates[k];
            double e = sxx - (2 * c * sxq) + (c * c * sqq);
            if (e < bestError)
            {
                bestError = e;
                best = k;
            }
        }

        return best < 0 ? s0 : HalfBits.FromSingle(candidates[best]);
    }
}
