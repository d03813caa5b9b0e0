using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// Softmax's f32 exp (arguments x − max, never above 0) against the correctly rounded value (f64 exp rounded once to
/// f32). Its vector forms are checked bit for bit against this scalar reference by the KernelCheck program.
/// </summary>
public class SoftmaxExpTests
{
    [Fact]
    public void ExpIsWithinOneUlpOfTheCorrectlyRoundedValueOnTheNonPositiveRange()
    {
        int worst = 0;
        float worstAt = 0;
        long inexact = 0, count = 0;
        foreach (float x in Inputs())
        {
            float expected = (float)Math.Exp(x);
            float actual = SoftmaxExp.Exp(x);
            int ulps = Math.Abs(BitConverter.SingleToInt32Bits(expected) - BitConverter.SingleToInt32Bits(actual));
            count++;
            inexact += ulps > 0 ? 1 : 0;
            if (ulps > worst)
            {
                worst = ulps;
                worstAt = x;
            }
        }

        Assert.True(worst <= 1, $"exp({worstAt:R}) is {worst} ulps from the correctly rounded value");

        // Not merely within 1 ulp: almost always the correctly rounded value (0.5% of inputs are 1 ulp off).
        Assert.True(inexact < count / 100, $"{inexact} of {count} results are not correctly rounded");
    }

    [Fact]
    public void ExpHandlesTheEdges()
    {
        Assert.Equal(1f, SoftmaxExp.Exp(0f));
        Assert.Equal(1f, SoftmaxExp.Exp(-0f));
        Assert.Equal(0f, SoftmaxExp.Exp(-104f));
        Assert.Equal(0f, SoftmaxExp.Exp(-1e30f));
        Assert.Equal(0f, SoftmaxExp.Exp(float.NegativeInfinity));
        Assert.True(float.IsNaN(SoftmaxExp.Exp(float.NaN)));
        Assert.Equal((float)Math.Exp(-100.0), SoftmaxExp.Exp(-100f)); // subnormal, rounded once
        Assert.Equal((float)Math.Exp(-87.5), SoftmaxExp.Exp(-87.5f));
    }

    // Every 61st f32 from 0 down past the underflow (-105, through the subnormal results), plus integers and
    // half-integers.
    private static IEnumerable<float> Inputs()
    {
        for (uint bits = 0; bits < 0x42D2_0000u; bits += 61)
        {
            yield return -BitConverter.UInt32BitsToSingle(bits);
        }

        for (float x = -104f; x <= 0f; x += 0.5f)
        {
            yield return x;
        }
    }
}
