using System.Numerics;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Calibration;

/// <summary>
/// Our per-group search for the scale (of either sign) and codes that minimize the squared error
/// <c>sum (x - (code - 8) * scale)^2</c> with the f16 scale tract stores:
/// <list type="number">
/// <item>for each sign, a grid of scales from 0.4x to 1.05x of the range-covering scale, each with round-to-nearest
/// codes, evaluated together with SIMD;</item>
/// <item>from the best candidates, alternating least-squares refinement (optimal scale for the codes, then nearest
/// codes for the f16-rounded scale) plus the neighbouring f16 values;</item>
/// <item>a guard: the result is compared, with one exact error definition, with what min-max and the tutorial's grid
/// search give for the same group, and the best of the three is kept — so it is never worse than either, per group.</item>
/// </list>
/// </summary>
public sealed class MseOptCalibration : Q40Calibration
{
    private const int N = Q40Format.GroupSize;
    private const int Factors = 24;
    private const float LowestFactor = 0.4f;
    private const float HighestFactor = 1.05f;
    private const int Refinements = 4;

    private static readonly float[] FactorGrid = [.. Enumerable.Range(0, Factors).Select(k => LowestFactor + (k * (HighestFactor - LowestFactor) / (Factors - 1)))];

    /// <inheritdoc />
    public override string Name => "mse_opt";

    /// <inheritdoc />
    protected override void QuantizeCore(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks, bool ggmlOrder)
    {
        // Baselines: min-max, and the grid search (its scales on min-max codes).
        Q40Kernels.QuantizeMinMax(Q40Kernels.Active, sourceDType, source, blocks, ggmlOrder, 1f);
        float[] x = GroupBlocks.ToSingle(sourceDType, source);
        Span<byte> codes = stackalloc byte[N];
        Span<byte> candidate = stackalloc byte[Q40Format.BlockBytes];
        Span<byte> grid = stackalloc byte[Q40Format.BlockBytes];
        for (int g = 0; g < x.Length / N; g++)
        {
            ReadOnlySpan<float> group = x.AsSpan(g * N, N);
            Span<byte> block = blocks.Slice(g * Q40Format.BlockBytes, Q40Format.BlockBytes);
            if (!IsFinite(group))
            {
                continue; // min-max's block stands; no search is meaningful on NaN or infinities
            }

            double best = GroupBlocks.SquaredError(group, block, ggmlOrder);

            block.CopyTo(grid);
            GroupBlocks.Codes(block, codes, ggmlOrder);
            GroupBlocks.SetScale(grid, GridMseCalibration.BestScale(group, codes, Q40Reference.ScaleOf(block), 100, 0.8f));
            double gridError = GroupBlocks.SquaredError(group, grid, ggmlOrder);
            if (gridError < best)
            {
                best = gridError;
                grid.CopyTo(block);
            }

            ushort scale = Search(group);
            NearestCodes(group, HalfBits.ToSingle(scale), codes);
            Q40Reference.WriteBlock(scale, codes, candidate, ggmlOrder);
            if (GroupBlocks.SquaredError(group, candidate, ggmlOrder) < best)
            {
                candidate.CopyTo(block);
            }
        }
    }

    /// <summary>The f16 scale the search settles on for one finite group.</summary>
    internal static ushort Search(ReadOnlySpan<float> x)
    {
        float maxPos = 0, maxNeg = 0;
        foreach (float v in x)
        {
            maxPos = MathF.Max(maxPos, v);
            maxNeg = MathF.Max(maxNeg, -v);
        }

        // Positive scales reach -8s..7s, negative ones -7|s|..8|s|: the covering scale of each sign.
        float coverPositive = MathF.Max(maxNeg / 8, maxPos / 7);
        float coverNegative = -MathF.Max(maxPos / 8, maxNeg / 7);
        if (coverPositive == 0)
        {
            return HalfBits.FromSingle(-0f);
        }

        Span<float> scales = stackalloc float[2 * Factors];
        Span<float> errors = stackalloc float[2 * Factors];
        for (int k = 0; k < Factors; k++)
        {
            scales[k] = HalfBits.Round(coverPositive * FactorGrid[k]);
            scales[Factors + k] = HalfBits.Round(coverNegative * FactorGrid[k]);
        }

        Evaluate(x, scales, errors);

        // Refine the best candidate of each sign.
        float bestScale = 0;
        float bestError = float.PositiveInfinity;
        for (int sign = 0; sign < 2; sign++)
        {
            int k = ArgMin(errors.Slice(sign * Factors, Factors)) + (sign * Factors);
            (float s, float e) = Refine(x, scales[k], errors[k]);
            if (e < bestError)
            {
                (bestScale, bestError) = (s, e);
            }
        }

        return HalfBits.FromSingle(bestScale);
    }

    // Alternates: least-squares scale for the current codes (rounded to f16), then nearest codes; also tries the
    // neighbouring f16 values of the best scale.
    private static (float Scale, float Error) Refine(ReadOnlySpan<float> x, float scale, float error)
    {
        Span<byte> codes = stackalloc byte[N];
        Span<float> trial = stackalloc float[8];
        Span<float> trialErrors = stackalloc float[8];
        for (int it = 0; it < Refinements; it++)
        {
            NearestCodes(x, scale, codes);
            double sxq = 0, sqq = 0;
            for (int i = 0; i < N; i++)
            {
                int q = codes[i] - 8;
                sxq += (double)x[i] * q;
                sqq += q * q;
            }

            ushort center = HalfBits.FromSingle(sqq == 0 ? scale : (float)(sxq / sqq));
            trial[0] = HalfBits.ToSingle(center);
            ushort current = HalfBits.FromSingle(scale);
            for (int d = 1; d <= 3; d++)
            {
                trial[(2 * d) - 1] = HalfBits.ToSingle((ushort)(current + d));
                trial[2 * d] = HalfBits.ToSingle((ushort)(current - d));
            }

            trial[7] = HalfBits.ToSingle((ushort)(center + 1));
            foreach (ref float t in trial)
            {
                // Stepping across zero or past the largest f16 gives NaN or infinity: never a useful scale.
                t = float.IsFinite(t) ? t : scale;
            }

            Evaluate(x, trial, trialErrors);
            int k = ArgMin(trialErrors);
            if (!(trialErrors[k] < error))
            {
                break;
            }

            (scale, error) = (trial[k], trialErrors[k]);
        }

        return (scale, error);
    }

    /// <summary>Round-to-nearest codes (clamped to the 16 levels) for a scale, computed in double.</summary>
    internal static void NearestCodes(ReadOnlySpan<float> x, float scale, Span<byte> codes)
    {
        for (int i = 0; i < N; i++)
        {
            double q = scale == 0 || !float.IsFinite(scale) ? 0 : Math.Round(x[i] / (double)scale, MidpointRounding.ToEven);
            codes[i] = (byte)(Math.Clamp(q, -8, 7) + 8);
        }
    }

    // Squared error of each scale with nearest codes, many scales at once (f32; used to rank candidates only).
    private static void Evaluate(ReadOnlySpan<float> x, ReadOnlySpan<float> scales, Span<float> errors)
    {
        int w = Vector<float>.Count;
        int k = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; k <= scales.Length - w; k += w)
            {
                var s = new Vector<float>(scales[k..]);
                Vector<float> inv = Vector.ConditionalSelect(Vector.Equals(s, Vector<float>.Zero), Vector<float>.Zero, Vector<float>.One / s);
                Vector<float> acc = Vector<float>.Zero;
                for (int i = 0; i < N; i++)
                {
                    var xi = new Vector<float>(x[i]);
                    Vector<float> q = Vector.Min(Vector.Max(Vector.Round(xi * inv), new Vector<float>(-8f)), new Vector<float>(7f));
                    Vector<float> e = xi - (q * s);
                    acc += e * e;
                }

                acc.CopyTo(errors[k..]);
            }
        }

        for (; k < scales.Length; k++)
        {
            float s = scales[k];
            float inv = s == 0 ? 0 : 1 / s;
            float acc = 0;
            for (int i = 0; i < N; i++)
            {
                float q = Math.Clamp(MathF.Round(x[i] * inv), -8f, 7f);
                float e = x[i] - (q * s);
                acc += e * e;
            }

            errors[k] = acc;
        }
    }

    private static int ArgMin(ReadOnlySpan<float> values)
    {
        int best = 0;
        for (int i = 1; i < values.Length; i++)
        {
            if (values[i] < values[best])
            {
                best = i;
            }
        }

        return best;
    }

    private static bool IsFinite(ReadOnlySpan<float> x)
    {
        foreach (float v in x)
        {
            if (!float.IsFinite(v))
            {
                return false;
            }
        }

        return true;
    }
}
