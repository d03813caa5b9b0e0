using TorchToNnef.Export.Llm.Reference;
using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Export.Tests.Llm;

public class RotaryFrequenciesTests
{
    private static readonly RopeSettings Llama32 = new()
    {
        Theta = 500000,
        Scaling = RopeScaling.Llama3,
        Factor = 32,
        LowFreqFactor = 1,
        HighFreqFactor = 4,
        OriginalMaxPositionEmbeddings = 8192,
    };

    [Fact]
    public void DefaultFrequenciesAreThetaToTheMinusTwoIOverD()
    {
        float[] inv = RotaryFrequencies.Inverse(new RopeSettings { Theta = 10000 }, 8);
        Assert.Equal([1f, 0.1f, 0.01f, 0.001f], inv, (a, b) => Math.Abs(a - b) <= 1e-6 * b);
    }

    [Fact]
    public void Llama3ScalingKeepsHighFrequenciesDividesLowOnesAndBlendsBetween()
    {
        // Llama 3.2's settings, head_dim 64; expectations from the published rule in double precision.
        float[] inv = RotaryFrequencies.Inverse(Llama32, 64);
        float[] plain = RotaryFrequencies.Inverse(Llama32 with { Scaling = RopeScaling.None, Factor = 1 }, 64);
        int kept = 0, divided = 0, blended = 0;
        for (int i = 0; i < 32; i++)
        {
            double f = Math.Pow(500000, -2.0 * i / 64);
            double wavelen = 2 * Math.PI / f;
            double expected;
            if (wavelen < 8192 / 4.0)
            {
                expected = f;
                kept++;
            }
            else if (wavelen > 8192 / 1.0)
            {
                expected = f / 32;
                divided++;
            }
            else
            {
                double smooth = ((8192 / wavelen) - 1) / (4 - 1);
                expected = ((1 - smooth) * f / 32) + (smooth * f);
                blended++;
            }

            Assert.True(Math.Abs(inv[i] - expected) <= 2e-6 * expected, $"i={i}: {inv[i]} vs {expected}");
            Assert.True(Math.Abs(plain[i] - f) <= 2e-6 * f);
        }

        Assert.True(kept > 0 && divided > 0 && blended > 0, $"{kept} kept, {divided} divided, {blended} blended");
    }

    [Fact]
    public void LinearScalingDividesEveryFrequency()
    {
        float[] plain = RotaryFrequencies.Inverse(new RopeSettings { Theta = 10000 }, 16);
        float[] linear = RotaryFrequencies.Inverse(new RopeSettings { Theta = 10000, Scaling = RopeScaling.Linear, Factor = 4 }, 16);
        Assert.Equal(plain.Select(x => x / 4), linear);
    }

    [Fact]
    public void Llama32FrequenciesStayFiniteAndPositiveWhereF16WouldNot()
    {
        // The reference tool computed these in f16 and got NaN; the smallest ones are below f16's normal range.
        float[] inv = RotaryFrequencies.Inverse(Llama32, 64);
        Assert.All(inv, f => Assert.True(float.IsFinite(f) && f > 0));
        Assert.True(inv[^1] < (float)Half.Epsilon * 1000);
    }
}
