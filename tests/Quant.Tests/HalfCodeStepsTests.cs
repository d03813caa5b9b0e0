using TorchToNnef.Quant.Kernels;

namespace TorchToNnef.Quant.Tests;

/// <summary>
/// The table form of the f16 code (<see cref="HalfCodeSteps"/>, what the Vector256 kernel computes) against the
/// reference composite <c>floor(f16(f16(q) + 8.5))</c>, for every product q of two f16 values the table path can see.
/// </summary>
public class HalfCodeStepsTests
{
    [Fact]
    public void StepsAreTheReferencesCodeChanges()
    {
        float[] t = HalfCodeSteps.Thresholds;
        Assert.Equal(15, t.Length);
        for (int k = 1; k <= 15; k++)
        {
            float step = t[k - 1];
            Assert.Equal(k, Q40Reference.CodeF16(step, 1f));
            Assert.Equal(k - 1, Q40Reference.CodeF16(MathF.BitDecrement(step), 1f));

            // Each step lies within 1/128 below the half-integer k - 8.5 (the double f16 rounding moves it down a little).
            Assert.InRange(k - 8.5f - step, 1f / 1024, 1f / 128);
        }
    }

    [Fact]
    public void OffsetsAreEightDistinctConstantsJustAboveEight()
    {
        Assert.Equal(8, HalfCodeSteps.Offsets.Length);
        Assert.All(HalfCodeSteps.Offsets, c => Assert.InRange(c, 8f + (1f / 1024), 8f + (1f / 128)));

        // The 15 steps need 8 constants (one per sign and binade of the step); the index keeps them apart.
        Assert.Equal(8, HalfCodeSteps.Thresholds.Select(HalfCodeSteps.Index).Distinct().Count());
    }

    /// <summary>
    /// Every product of two f16 values with |q| below 2^30 (the table path's range): |q| = M * 2^E with M = a * b,
    /// a and b f16 significands (integers 1024..2047; subnormal significands are these shifted), for every exponent
    /// from the smallest product (2^-48) up, both signs: 524,800 significand pairs x 77 exponents x 2 signs.
    /// </summary>
    [Fact]
    public void TableCodeEqualsReferenceForEveryProductOfTwoHalves()
    {
        long checkedCount = 0;
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        Parallel.For(1024, 2048, a =>
        {
            long local = 0;
            for (int b = a; b < 2048; b++)
            {
                int m = a * b;
                for (int e = -68; e <= 8; e++)
                {
                    float magnitude = MathF.ScaleB(m, e);
                    foreach (float q in new[] { magnitude, -magnitude })
                    {
                        int expected = Q40Reference.CodeF16(q, 1f);
                        int actual = HalfCodeSteps.Code(q);
                        if (expected != actual && failures.Count < 20)
                        {
                            failures.Add($"q = {q:R} ({a} * {b} * 2^{e}): table {actual}, reference {expected}");
                        }

                        local++;
                    }
                }
            }

            Interlocked.Add(ref checkedCount, local);
        });

        Assert.Empty(failures);
        Assert.Equal(524_800L * 77 * 2, checkedCount);
    }

    [Fact]
    public void AConstantFourUlpsOffFails()
    {
        // The constants are tight (windows of 1 to 7 f32 values): moving any of them by four f32 ulps up or down codes
        // some product next to one of its steps wrongly, so the exhaustive check above can fail.
        for (int i = 0; i < 8; i++)
        {
            foreach (int ulps in new[] { 4, -4 })
            {
                float c = HalfCodeSteps.Offsets[i];
                float moved = BitConverter.Int32BitsToSingle(BitConverter.SingleToInt32Bits(c) + ulps);
                Assert.True(BreaksSomeStep(i, moved), $"index {i}: constant {moved:R} instead of {c:R} breaks nothing near the steps");
            }
        }
    }

    // True when the constant c at index i codes some product of two f16 values within 2^-12 of one of that index's steps
    // wrongly (products in a step's binade [2^e, 2^(e+1)) are multiples m of 2^(e-21), m a significand product or twice one).
    private static bool BreaksSomeStep(int index, float c)
    {
        foreach (float step in HalfCodeSteps.Thresholds.Where(t => HalfCodeSteps.Index(t) == index))
        {
            float unit = MathF.ScaleB(1f, Math.ILogB(MathF.Abs(step)) - 21);
            long center = (long)(MathF.Abs(step) / unit);
            long reach = (long)(MathF.ScaleB(1f, -12) / unit);
            for (long m = center - reach; m <= center + reach; m++)
            {
                if (!IsProduct(m) && !(m % 2 == 0 && IsProduct(m / 2)))
                {
                    continue;
                }

                float q = MathF.CopySign(m * unit, step);
                float rounded = MathF.Round(q + c, MidpointRounding.ToEven);
                int code = rounded >= 15f ? 15 : rounded >= 0f ? (int)rounded : 0;
                if (code != Q40Reference.CodeF16(q, 1f))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool IsProduct(long m)
    {
        for (long a = 1024; a <= 2047 && a * a <= m; a++)
        {
            if (m % a == 0 && m / a <= 2047)
            {
                return true;
            }
        }

        return false;
    }
}
