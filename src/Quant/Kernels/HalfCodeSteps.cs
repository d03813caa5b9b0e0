using System.Runtime.CompilerServices;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// The f16 code of a product as one add and one rounding. For f16 input the code of a value is
/// <c>clamp(floor(f16(f16(q) + 8.5)), 0, 15)</c> with <c>q = x*r</c> (<see cref="Q40Reference.CodeF16"/>); x and r are
/// f16 values, so q has at most 22 significant bits and is exact in f32. That composite is a monotone step function of
/// q with 15 fixed steps <see cref="Thresholds"/> (independent of r), each just below a half-integer: 8 distinct
/// distances from the half-integer, one per sign and binade of q. So
/// <c>code = clamp(round(q + c[i]), 0, 15)</c> (one f32 rounding of the sum, then round-to-nearest-even, as
/// <c>cvtps2dq</c> does), where <c>c[i] ≈ 8 + that distance</c> comes from an 8-entry table (<see cref="Offsets"/>),
/// indexed by <see cref="Index"/>: the exponent of <c>s = 4q + 1.8125</c>, negated with s's sign (<c>vpsignd</c>), modulo
/// 8. That index is constant within <see cref="Margin"/> of each step and different for steps with different constants
/// (a sign-blind exponent cannot tell the two sides apart; scaling by 4 and shifting by 1.8125 puts the 8 groups of
/// steps in 8 different residues).
/// <para>
/// Everything is derived here from <see cref="Q40Reference.CodeF16"/>, not typed in: the steps by bisection over f32
/// bit patterns, and each constant as the middle of the window of f32 values that put the nearest products of two f16
/// values on either side of each of its steps on the right side (the sum's rounding loses bits of q, so a constant
/// valid for every f32 q does not exist for all steps; one valid for every product of two f16 values does). The test
/// suite checks the formula against the reference for every product of two f16 significands at every exponent.
/// </para>
/// </summary>
internal static class HalfCodeSteps
{
    /// <summary>Scale of q in the index argument <c>s = q * IndexScale + IndexOffset</c>.</summary>
    public const float IndexScale = 4f;

    /// <summary>Offset of the index argument.</summary>
    public const float IndexOffset = 1.8125f;

    /// <summary>Distance from each step within which the index must not change (larger than any offset's fraction).</summary>
    public const float Margin = 1f / 128;

    /// <summary>The smallest f32 q with code k, for k = 1..15 (element k - 1).</summary>
    public static readonly float[] Thresholds = DeriveThresholds();

    /// <summary>The 8 constants c[i], indexed by <see cref="Index"/>.</summary>
    public static readonly float[] Offsets = DeriveOffsets(Thresholds);

    /// <summary>
    /// The table index of q: the biased exponent of <c>s = fl(4q + 1.8125)</c> (its bits shifted right by 23, sign bit
    /// included), negated when s is negative and 0 when s is +0, modulo 8 — what <c>vpsrld</c>, <c>vpsignd</c> and the
    /// 3-bit index of <c>vpermps</c> compute.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static int Index(float q)
    {
        int bits = BitConverter.SingleToInt32Bits((q * IndexScale) + IndexOffset);
        int shifted = (int)((uint)bits >> 23);
        return (bits < 0 ? -shifted : bits == 0 ? 0 : shifted) & 7;
    }

    /// <summary>The code of an exact product q by the table: <c>clamp(round(fl(q + c[Index(q)])), 0, 15)</c>.</summary>
    public static byte Code(float q)
    {
        float y = q + Offsets[Index(q)];
        float rounded = MathF.Round(y, MidpointRounding.ToEven);
        return rounded >= 15f ? (byte)15 : rounded >= 0f ? (byte)rounded : (byte)0;
    }

    private static int Reference(float q) => Q40Reference.CodeF16(q, 1f);

    // Order-preserving integer key of a finite f32 (negative values below positive ones).
    private static long Key(float v)
    {
        int bits = BitConverter.SingleToInt32Bits(v);
        return bits >= 0 ? bits : -(long)(bits & 0x7FFF_FFFF);
    }

    private static float FromKey(long key) =>
        key >= 0 ? BitConverter.Int32BitsToSingle((int)key) : BitConverter.Int32BitsToSingle((int)(-key) | int.MinValue);

    private static float[] DeriveThresholds()
    {
        var thresholds = new float[15];
        for (int k = 1; k <= 15; k++)
        {
            // Reference(-16) = 0 < k <= 15 = Reference(16); the code is monotone in q.
            long lo = Key(-16f), hi = Key(16f);
            while (hi - lo > 1)
            {
                long mid = lo + ((hi - lo) / 2);
                if (Reference(FromKey(mid)) >= k)
                {
                    hi = mid;
                }
                else
                {
                    lo = mid;
                }
            }

            thresholds[k - 1] = FromKey(hi);
        }

        return thresholds;
    }

    private static float[] DeriveOffsets(float[] thresholds)
    {
        // Per index: the window [low, high] of f32 constants in [8, 8.0625) (as keys) that code the nearest products on
        // both sides of each step of that index correctly. Monotonicity in q extends that to every product in the
        // index's cells; the suite's exhaustive product check confirms it.
        long[] low = new long[8];
        long[] high = new long[8];
        bool[] used = new bool[8];
        Array.Fill(low, Key(8f));
        Array.Fill(high, Key(8.0625f));
        for (int k = 1; k <= 15; k++)
        {
            float t = thresholds[k - 1];
            int index = Index(t);
            if (Index(t - Margin) != index || Index(t + Margin) != index)
            {
                throw new InvalidOperationException($"f16 code step {k} at {t} is not inside one index cell");
            }

            float above = NearestProduct(t, up: true);
            float below = NearestProduct(t, up: false);
            if (Reference(above) != k || Reference(below) != k - 1)
            {
                throw new InvalidOperationException($"f16 code step {k}: products {below} and {above} do not straddle it");
            }

            used[index] = true;
            low[index] = Math.Max(low[index], Search(c => RoundedSum(above, c) >= k, low[index], high[index], smallest: true));
            high[index] = Math.Min(high[index], Search(c => RoundedSum(below, c) <= k - 1, low[index], high[index], smallest: false));
        }

        var offsets = new float[8];
        for (int i = 0; i < 8; i++)
        {
            if (!used[i])
            {
                // No step in this index's cells: any constant near 8 + 1/256 codes the values there.
                offsets[i] = 8f + (1f / 256);
                continue;
            }

            if (low[i] > high[i])
            {
                throw new InvalidOperationException($"no f16 code constant fits the steps of index {i}");
            }

            offsets[i] = FromKey(low[i] + ((high[i] - low[i]) / 2));
        }

        return offsets;
    }

    private static float RoundedSum(float q, float c) => MathF.Round(q + c, MidpointRounding.ToEven);

    // The smallest (or largest) key in [lo, hi] where the monotone predicate holds (is true from there up, or down).
    private static long Search(Func<float, bool> holds, long lo, long hi, bool smallest)
    {
        if (smallest)
        {
            if (!holds(FromKey(hi)))
            {
                return hi + 1;
            }

            while (lo < hi)
            {
                long mid = lo + ((hi - lo) / 2);
                if (holds(FromKey(mid)))
                {
                    hi = mid;
                }
                else
                {
                    lo = mid + 1;
                }
            }

            return lo;
        }

        if (!holds(FromKey(lo)))
        {
            return lo - 1;
        }

        while (lo < hi)
        {
            long mid = lo + ((hi - lo + 1) / 2);
            if (holds(FromKey(mid)))
            {
                lo = mid;
            }
            else
            {
                hi = mid - 1;
            }
        }

        return lo;
    }

    // The nearest product of two f16 values at or above t (up) or below t: |q| = M * 2^E with M a product of two f16
    // significands (integers in [1024, 2047]; subnormal significands are these shifted). Within t's binade
    // [2^e, 2^(e+1)) such q are multiples of 2^(e-21) whose multiplier m in [2^21, 2^22) is M or 2M.
    private static float NearestProduct(float t, bool up)
    {
        // q >= t (up) or q < t: for t > 0 a larger magnitude (at least |t| when up), for t < 0 a smaller one.
        float magnitude = MathF.Abs(t);
        int e = Math.ILogB(magnitude);
        float unit = MathF.ScaleB(1f, e - 21);
        bool increasing = up == t > 0;
        long m = (long)(magnitude / unit); // exact quotient (a power of two), floored
        if (increasing)
        {
            while (up ? m * unit < magnitude : m * unit <= magnitude)
            {
                m++;
            }
        }
        else
        {
            while (up ? m * unit > magnitude : m * unit >= magnitude)
            {
                m--;
            }
        }

        for (; m >= 1 << 21 && m < 1 << 22; m += increasing ? 1 : -1)
        {
            if (IsSignificandProduct(m) || (m % 2 == 0 && IsSignificandProduct(m / 2)))
            {
                return MathF.CopySign(m * unit, t);
            }
        }

        throw new InvalidOperationException($"no product of two f16 values next to {t} within its binade");
    }

    private static bool IsSignificandProduct(long m)
    {
        for (long a = Math.Max(1024, (m + 2046) / 2047); a * a <= m && a <= 2047; a++)
        {
            if (m % a == 0 && m / a <= 2047)
            {
                return true;
            }
        }

        return false;
    }
}
