using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Tests;

/// <summary>The evaluator's f32 exp against the correctly rounded value (f64 exp rounded once to f32).</summary>
public class ExpKernelTests
{
    [Fact]
    public void ExpIsWithinOneUlpOfTheCorrectlyRoundedValue()
    {
        int worst = 0;
        float worstAt = 0;
        foreach (float x in Inputs())
        {
            float expected = (float)Math.Exp(x);
            float actual = ExpKernel.Exp(x);
            int ulps = Math.Abs(BitConverter.SingleToInt32Bits(expected) - BitConverter.SingleToInt32Bits(actual));
            if (ulps > worst)
            {
                worst = ulps;
                worstAt = x;
            }
        }

        Assert.True(worst <= 1, $"exp({worstAt:R}) is {worst} ulps from the correctly rounded value");
    }

    [Fact]
    public void ExpHandlesTheEdges()
    {
        Assert.Equal(1f, ExpKernel.Exp(0f));
        Assert.Equal(1f, ExpKernel.Exp(-0f));
        Assert.Equal(float.PositiveInfinity, ExpKernel.Exp(89f));
        Assert.Equal(float.PositiveInfinity, ExpKernel.Exp(float.PositiveInfinity));
        Assert.Equal(0f, ExpKernel.Exp(-104f));
        Assert.Equal(0f, ExpKernel.Exp(float.NegativeInfinity));
        Assert.True(float.IsNaN(ExpKernel.Exp(float.NaN)));
        Assert.Equal((float)Math.Exp(-100.0), ExpKernel.Exp(-100f)); // subnormal, rounded once
    }

    // Every 61st f32 from 0 past the overflow (90) and past the underflow (-105, through the subnormal results), plus
    // integers and half-integers.
    private static IEnumerable<float> Inputs()
    {
        for (uint bits = 0; bits < 0x42D2_0000u; bits += 61)
        {
            float x = BitConverter.UInt32BitsToSingle(bits);
            if (x <= 90f)
            {
                yield return x;
            }

            yield return -x;
        }

        for (float x = -104f; x <= 89f; x += 0.5f)
        {
            yield return x;
        }
    }
}
