using System.Numerics;
using System.Runtime.Intrinsics;
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
    private const int Factors = 16;
    private const float LowestFactor = 0.45f;
    private const float HighestFactor = 1.05f;
    private const int Refinements = 3;

    // The tutorial's grid search, whose per-scale candidate cache the guard reuses.
    private readonly GridMseCalibration _grid = new();

    private static readonly float[] FactorGrid = [.. Enumerable.Range(0, Factors).Select(k => LowestFactor + (k * (HighestFactor - LowestFactor) / (Factors - 1)))];

    /// <inheritdoc />
    public override string Name => "mse_opt";

    /// <inheritdoc />
    protected override void QuantizeCore(DType sourceDType, ReadOnlySpan<byte> source, Span<byte> blocks)
    {
        // Baselines: min-max, and the grid search (its scales on min-max codes).
        Q40Kernels.QuantizeMinMax(Q40Kernels.Active, sourceDType, source, blocks, 1f);
        ReadOnlySpan<float> x = GroupBlocks.AsSingle(sourceDType, source, out float[]? rented);
        try
        {
            Span<byte> codes = stackalloc byte[N];
            Span<byte> candidate = stackalloc byte[Q40Format.BlockBytes];
            Span<byte> grid = stackalloc byte[Q40Format.BlockBytes];
            for (int g = 0; g < x.Length / N; g++)
            {
                ReadOnlySpan<float> group = x.Slice(g * N, N);
                Span<byte> block = blocks.Slice(g * Q40Format.BlockBytes, Q40Format.BlockBytes);
                if (!IsFinite(group))
                {
                    continue; // min-max's block stands; no search is meaningful on NaN or infinities
                }

                double best = GroupBlocks.SquaredError(group, block);

                block.CopyTo(grid);
                GroupBlocks.Codes(block, codes);
                ushort s0 = Q40Reference.ScaleOf(block);
                GroupBlocks.SetScale(grid, GridMseCalibration.BestScale(group, codes, s0, _grid.CandidatesFor(s0)));
                double gridError = GroupBlocks.SquaredError(group, grid);
                if (gridError < best)
                {
                    best = gridError;
                    grid.CopyTo(block);
                }

                ushort scale = Search(group);
                NearestCodes(group, HalfBits.ToSingle(scale), codes);
                Q40Reference.WriteBlock(scale, codes, candidate);
                if (GroupBlocks.SquaredError(group, candidate) < best)
                {
                    candidate.CopyTo(block);
                }
            }
        }
        finally
        {
            GroupBlocks.Return(rented);
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

        // Refine the best candidate, and the best of the other sign when it is close.
        int k0 = ArgMin(errors);
        (float bestScale, float bestError) = Refine(x, scales[k0], errors[k0]);
        int otherSign = k0 < Factors ? Factors : 0;
        int k1 = ArgMin(errors.Slice(otherSign, Factors)) + otherSign;
        if (errors[k1] < errors[k0] * 1.1f)
        {
            (float s, float e) = Refine(x, scales[k1], errors[k1]);
            if (e < bestError)
            {
                (bestScale, bestError) = (s, e);
            }
        }

        return HalfBits.FromSingle(bestScale);
    }

    // Alternates: least-squares scale for the nearest codes of the current scale (rounded to f16), then the nearest
    // codes of that; also tries the neighbouring f16 values of both. Stops when nothing improves.
    private static (float Scale, float Error) Refine(ReadOnlySpan<float> x, float scale, float error)
    {
        Span<float> trial = stackalloc float[8];
        Span<float> trialErrors = stackalloc float[8];
        for (int it = 0; it < Refinements; it++)
        {
            (double sxq, double sqq) = LeastSquaresSums(x, scale);
            ushort center = HalfBits.FromSingle(sqq == 0 ? scale : (float)(sxq / sqq));
            ushort current = HalfBits.FromSingle(scale);
            trial[0] = HalfBits.ToSingle(center);
            trial[1] = HalfBits.ToSingle((ushort)(center + 1));
            trial[2] = HalfBits.ToSingle((ushort)(center - 1));
            for (int d = 1; d <= 2; d++)
            {
                trial[1 + (2 * d)] = HalfBits.ToSingle((ushort)(current + d));
                trial[2 + (2 * d)] = HalfBits.ToSingle((ushort)(current - d));
            }

            trial[7] = HalfBits.ToSingle((ushort)(center + 2));
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

    // sum(x q) and sum(q^2) for round-to-nearest codes q of a scale (f32 reciprocal: a heuristic step only).
    private static (double Sxq, double Sqq) LeastSquaresSums(ReadOnlySpan<float> x, float scale)
    {
        float inv = scale == 0 ? 0 : 1 / scale;
        if (Vector.IsHardwareAccelerated && Vector<float>.Count <= N)
        {
            var vinv = new Vector<float>(inv);
            Vector<float> sxq = Vector<float>.Zero;
            Vector<float> sqq = Vector<float>.Zero;
            for (int i = 0; i < N; i += Vector<float>.Count)
            {
                var xi = new Vector<float>(x[i..]);
                Vector<float> q = Vector.Min(Vector.Max(Vector.Round(xi * vinv), new Vector<float>(-8f)), new Vector<float>(7f));
                sxq += xi * q;
                sqq += q * q;
            }

            return (Vector.Sum(sxq), Vector.Sum(sqq));
        }

        double a = 0, b = 0;
        for (int i = 0; i < N; i++)
        {
            float q = Math.Clamp(MathF.Round(x[i] * inv), -8f, 7f);
            a += x[i] * q;
            b += q * q;
        }

        return (a, b);
    }

    /// <summary>
    /// Nearest codes (clamped to the 16 levels) for a scale: a guess from the f32 reciprocal, then settled by comparing
    /// the exact errors of the neighbouring levels, so rounding of the reciprocal cannot pick a farther level.
    /// </summary>
    internal static void NearestCodes(ReadOnlySpan<float> x, float scale, Span<byte> codes)
    {
        if (scale == 0 || !float.IsFinite(scale))
        {
            codes[..N].Fill(8);
            return;
        }

        float inv = 1f / scale;
        for (int i = 0; i < N; i++)
        {
            int q = (int)Math.Clamp(MathF.Round(x[i] * inv), -8f, 7f);
            double xd = x[i];
            double e = Math.Abs(xd - ((double)q * scale));
            if (q > -8 && Math.Abs(xd - ((double)(q - 1) * scale)) < e)
            {
                q--;
            }
            else if (q < 7 && Math.Abs(xd - ((double)(q + 1) * scale)) < e)
            {
                q++;
            }

            codes[i] = (byte)(q + 8);
        }
    }

    // Squared error of each scale with nearest codes, many scales at once (f32; used to rank candidates only).
    private static void Evaluate(ReadOnlySpan<float> x, ReadOnlySpan<float> scales, Span<float> errors)
    {
        int k = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            for (; k <= scales.Length - 16; k += 16)
            {
                Vector512<float> s = Vector512.Create(scales[k..]);
                Vector512<float> inv = Vector512.ConditionalSelect(Vector512.Equals(s, Vector512<float>.Zero), Vector512<float>.Zero, Vector512<float>.One / s);
                Vector512<float> acc = Vector512<float>.Zero;
                for (int i = 0; i < N; i++)
                {
                    Vector512<float> xi = Vector512.Create(x[i]);
                    Vector512<float> q = Vector512.MinNative(Vector512.MaxNative(Vector512.Round(xi * inv), Vector512.Create(-8f)), Vector512.Create(7f));
                    Vector512<float> e = xi - (q * s);
                    acc += e * e;
                }

                // An infinite scale gives NaN (0 * inf): rank it last.
                Vector512.ConditionalSelect(Vector512.Equals(acc, acc), acc, Vector512.Create(float.PositiveInfinity)).CopyTo(errors[k..]);
            }
        }

        int w = Vector<float>.Count;
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

                Vector.ConditionalSelect(Vector.Equals(acc, acc), acc, new Vector<float>(float.PositiveInfinity)).CopyTo(errors[k..]);
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

            errors[k] = float.IsNaN(acc) ? float.PositiveInfinity : acc;
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
