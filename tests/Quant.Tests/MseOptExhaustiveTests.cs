using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Quant.Tests;

/// <summary>
/// mse_opt against the exhaustive optimum (<see cref="Q40ExhaustiveSearch"/>: every finite f16 scale of both signs with
/// its nearest codes) on a fixed sample of groups. Backs the README's claim that mse_opt is within 0.1 % of the best any
/// Q4_0 block can do on N(0,1) and Laplace groups; the bench's <c>q40-quality</c> report gives the figures on 8192 groups
/// (<c>dotnet run -c Release --project bench/TorchToNnef.Benchmarks -- q40-quality</c>).
/// </summary>
public class MseOptExhaustiveTests
{
    private const int N = Q40ExhaustiveSearch.GroupSize;
    private const int Groups = 512;

    [Fact]
    public void TheSearchFindsAnExactlyRepresentableGroup()
    {
        // x = (code - 8) * s for an f16 s and codes that use both ends: the optimum is that block, error 0.
        var rng = new Random(5);
        ushort s = BitConverter.HalfToUInt16Bits((Half)(-0.0137f));
        float scale = (float)BitConverter.UInt16BitsToHalf(s);
        var x = new float[N];
        for (int i = 0; i < N; i++)
        {
            x[i] = ((i == 0 ? 0 : i == 1 ? 15 : rng.Next(16)) - 8) * scale;
        }

        (ushort best, double error) = Q40ExhaustiveSearch.Best(x);
        Assert.Equal(0, error);
        Assert.Equal(s, best);
        Assert.Equal(63487, Q40ExhaustiveSearch.ScaleCount); // 2 * (31 * 1024 - 1) finite non-zero f16 values, and zero
    }

    [Theory]
    [InlineData("normal", 0.8659, 1.0008)]
    [InlineData("laplace", 0.8670, 1.0005)]
    public void MseOptIsWithinATenthOfAPercentOfTheExhaustiveOptimum(string distribution, double exhaustiveToMinMax, double mseOptToExhaustive)
    {
        float[] x = distribution == "normal" ? Normal(new Random(11), Groups * N) : Laplace(new Random(12), Groups * N);
        double minMax = 0, mseOpt = 0, exhaustive = 0;
        Span<byte> codes = stackalloc byte[N];
        for (int g = 0; g < Groups; g++)
        {
            ReadOnlySpan<float> group = x.AsSpan(g * N, N);
            double minMaxError = BlockError(Q40Calibration.MinMax, group);
            double mseOptError = BlockError(new MseOptCalibration(), group);
            (ushort bestScale, double best) = Q40ExhaustiveSearch.Best(group);

            // The search's error is that of its scale with exactly nearest codes, and nothing beats it.
            Q40ExhaustiveSearch.NearestCodes(group, bestScale, codes);
            Assert.Equal(best, Q40ExhaustiveSearch.SquaredError(group, bestScale, codes), best * 1e-9);
            Assert.True(best <= mseOptError * (1 + 1e-9), $"group {g}: exhaustive {best} > mse_opt {mseOptError}");
            Assert.True(mseOptError <= minMaxError * (1 + 1e-9), $"group {g}: mse_opt {mseOptError} > min-max {minMaxError}");
            minMax += minMaxError;
            mseOpt += mseOptError;
            exhaustive += best;
        }

        // The claim, then the figures of this sample (RMSE ratios), so that a change of either method shows.
        double ratio = Math.Sqrt(mseOpt / exhaustive);
        Assert.True(ratio <= 1.001, $"mse_opt RMSE is {ratio:0.00000} x the optimum");
        Assert.Equal(mseOptToExhaustive, ratio, 0.0001);
        Assert.Equal(exhaustiveToMinMax, Math.Sqrt(exhaustive / minMax), 0.0002);
    }

    // Quantizes one group with a calibration and measures the block's error with the search's own error definition,
    // reading the block by its byte layout (f16 scale, then byte j = code[j] | code[j + 16] << 4).
    private static double BlockError(Q40Calibration calibration, ReadOnlySpan<float> group)
    {
        var block = new byte[18];
        calibration.QuantizeGroups(group, block);
        ushort scale = (ushort)(block[0] | (block[1] << 8));
        Span<byte> codes = stackalloc byte[N];
        for (int j = 0; j < 16; j++)
        {
            codes[j] = (byte)(block[2 + j] & 0xF);
            codes[j + 16] = (byte)(block[2 + j] >> 4);
        }

        return Q40ExhaustiveSearch.SquaredError(group, scale, codes);
    }

    private static float[] Normal(Random rng, int n) =>
        [.. Enumerable.Range(0, n).Select(_ => (float)(Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble())))];

    // Laplace(0, 0.02) with 0.1 % of the values 8x larger, as in the bench's "trained-like" synthetic weights.
    private static float[] Laplace(Random rng, int n) =>
        [.. Enumerable.Range(0, n).Select(_ =>
        {
            double u = rng.NextDouble() - 0.5;
            return (float)(0.02 * -Math.Sign(u) * Math.Log(1 - (2 * Math.Abs(u))) * (rng.Next(1000) == 0 ? 8 : 1));
        })];
}
