using System.Runtime.InteropServices;
using System.Text.Json;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Quant.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Quant.Tests;

/// <summary>The calibrations beyond min-max: ggml's rule, the tutorial's grid search and our squared-error search.</summary>
public class CalibrationTests
{
    private static readonly float[] WorkedExample =
    [
        0.12f, -0.5f, 0.33f, 0.0f, 0.9f, -1.7f, 0.25f, 0.05f, -0.8f, 1.1f, 0.6f, -0.3f, 0.45f, -0.05f, 0.7f, -1.2f,
        0.2f, 0.15f, -0.95f, 1.3f, -0.4f, 0.0f, 0.55f, -0.65f, 0.8f, -1.0f, 0.35f, 0.1f, -0.2f, 1.5f, -0.75f, 0.28f,
    ];

    public static TheoryData<string> GoldenCases => Q40Manifest.CaseIds();

    [Fact]
    public void TheGridTableIsMadeOnFirstUseNotWhenTheRegistryIsBuilt()
    {
        // Every t2n start builds the registry (two grid searches); their 64k-entry candidate tables (512 KiB each) were
        // allocated then, whether used or not. Building the registry now allocates far less than one table.
        Registry.CompressionRegistry.CreateBuiltIn(); // type initialisers out of the way
        long before = GC.GetAllocatedBytesForCurrentThread();
        Registry.CompressionRegistry.CreateBuiltIn();
        Assert.InRange(GC.GetAllocatedBytesForCurrentThread() - before, 0, 64 * 1024);
    }

    [Fact]
    public void GgmlReproducesQuantizeRowQ40RefOnTheSpecExample()
    {
        // spec §5: ggml's block for the same 32 values.
        byte[] block = new byte[18];
        new GgmlCalibration().QuantizeGroups(WorkedExample, block);
        Assert.Equal(Convert.FromHexString("cd3299964ae86c80b958c43dab877af84b92"), block);
    }

    [Fact]
    public void GridSearchFollowsTheTutorialLoop()
    {
        // An independent transcription of the tutorial with System.Half arithmetic (f16 tensors in torch).
        var rng = new Random(4);
        for (int trial = 0; trial < 200; trial++)
        {
            float[] x = Heavy(rng, 32, 0.05);
            byte[] block = new byte[18];
            Q40Calibration.MinMax.QuantizeGroups(x, block);
            byte[] codes = new byte[32];
            Q40Reference.UnpackNibbles(block.AsSpan(2), codes);
            Half s0 = BitConverter.UInt16BitsToHalf(Q40Reference.ScaleOf(block));
            Half lower = (Half)((float)s0 * 0.8f);
            Half step = (Half)((float)(Half)((float)s0 - (float)lower) / 100f);
            Half current = s0, best = s0;
            double bestErr = Sse(x, codes, (float)s0);
            for (int k = 0; k < 100; k++)
            {
                current = (Half)((float)current - (float)step);
                double e = Sse(x, codes, (float)current);
                if (e < bestErr)
                {
                    (bestErr, best) = (e, current);
                }
            }

            byte[] grid = new byte[18];
            new GridMseCalibration().QuantizeGroups(x, grid);
            Assert.Equal(BitConverter.HalfToUInt16Bits(best), Q40Reference.ScaleOf(grid));
            Assert.Equal(block[2..], grid[2..]);
        }
    }

    [Theory]
    [MemberData(nameof(GoldenCases))]
    public void MseOptIsNeverWorseThanMinMaxOrGridOnAnyGroupOfTheGoldenInputs(string id)
    {
        JsonElement c = Q40Manifest.Case(id);
        using Tensor input = GoldenQ40Tests.LoadInput(c);
        AssertMseOptDominates(input.DType, input.Bytes);
    }

    [Theory]
    [InlineData(DType.F32, 1)]
    [InlineData(DType.F16, 2)]
    [InlineData(DType.BF16, 3)]
    public void MseOptIsNeverWorseOnHeavyTailedWeights(DType dtype, int seed)
    {
        float[] x = Heavy(new Random(seed), 32 * 2000, 0.02);
        byte[] bytes = new byte[x.Length * dtype.ElementSize()];
        FloatConversions.FromSingle(dtype, x, bytes);
        AssertMseOptDominates(dtype, bytes);
    }

    [Fact]
    public void MseOptCutsTheErrorOfHeavyTailedWeights()
    {
        float[] x = Heavy(new Random(11), 32 * 4000, 0.02);
        double minMax = TotalSse(Q40Calibration.MinMax, x);
        double mseOpt = TotalSse(new MseOptCalibration(), x);
        double ggml = TotalSse(new GgmlCalibration(), x);
        Assert.True(Math.Sqrt(mseOpt / minMax) < 0.88, $"RMSE ratio {Math.Sqrt(mseOpt / minMax):F4}");
        Assert.True(mseOpt < ggml);
    }

    [Fact]
    public void SearchCalibrationsKeepTheirResultsIndependentOfHowTheTensorIsSplit()
    {
        float[] x = Heavy(new Random(5), 32 * 300, 1);
        foreach (Q40Calibration cal in new Q40Calibration[] { new GridMseCalibration(), new GgmlCalibration(), new MseOptCalibration() })
        {
            byte[] whole = new byte[300 * 18];
            cal.QuantizeGroups(x, whole);
            byte[] parts = new byte[300 * 18];
            cal.QuantizeGroups(x.AsSpan(0, 32 * 7), parts.AsSpan(0, 7 * 18));
            cal.QuantizeGroups(x.AsSpan(32 * 7), parts.AsSpan(7 * 18));
            Assert.Equal(whole, parts);
        }
    }

    /// <summary>Student-t (3 dof) values times <paramref name="scale"/>, with a few larger outliers: trained-weight-like tails.</summary>
    internal static float[] Heavy(Random rng, int n, double scale)
    {
        var x = new float[n];
        for (int i = 0; i < n; i++)
        {
            double z = Normal(rng);
            double chi = (Normal(rng) * Normal(rng)) + (Normal(rng) * Normal(rng)) + (Normal(rng) * Normal(rng));
            double t = Math.Clamp(z / Math.Sqrt(Math.Max(chi, 1e-12) / 3), -40, 40);
            if (rng.Next(500) == 0)
            {
                t *= 6;
            }

            x[i] = (float)(scale * t);
        }

        return x;
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());

    private static double Sse(float[] x, byte[] codes, float s)
    {
        double e = 0;
        for (int i = 0; i < 32; i++)
        {
            double d = x[i] - ((codes[i] - 8) * s);
            e += d * d;
        }

        return e;
    }

    private static double TotalSse(Q40Calibration cal, float[] x)
    {
        byte[] blocks = new byte[x.Length / 32 * 18];
        cal.QuantizeGroups(x, blocks);
        double total = 0;
        for (int g = 0; g < x.Length / 32; g++)
        {
            total += GroupError(x.AsSpan(g * 32, 32), blocks.AsSpan(g * 18, 18));
        }

        return total;
    }

    // Independent of the library's helper: dequantize with the reference and sum squared differences in double.
    // A NaN (overflowed scale) counts as an infinite error.
    private static double GroupError(ReadOnlySpan<float> x, ReadOnlySpan<byte> block)
    {
        float[] w = new float[32];
        Q40Reference.DequantizeF32(block, w);
        double e = 0;
        for (int i = 0; i < 32; i++)
        {
            double d = (double)x[i] - w[i];
            e += d * d;
        }

        return double.IsNaN(e) ? double.PositiveInfinity : e;
    }

    private static void AssertMseOptDominates(DType dtype, ReadOnlySpan<byte> source)
    {
        int groups = source.Length / dtype.ElementSize() / 32;
        float[] x = new float[groups * 32];
        FloatConversions.ToSingle(dtype, source, x);
        byte[] mm = new byte[groups * 18], grid = new byte[groups * 18], opt = new byte[groups * 18];
        Q40Calibration.MinMax.QuantizeGroups(dtype, source, mm);
        new GridMseCalibration().QuantizeGroups(dtype, source, grid);
        new MseOptCalibration().QuantizeGroups(dtype, source, opt);
        for (int g = 0; g < groups; g++)
        {
            ReadOnlySpan<float> xg = x.AsSpan(g * 32, 32);
            if (!xg.ToArray().All(float.IsFinite))
            {
                continue;
            }

            double eMm = GroupError(xg, mm.AsSpan(g * 18, 18));
            double eGrid = GroupError(xg, grid.AsSpan(g * 18, 18));
            double eOpt = GroupError(xg, opt.AsSpan(g * 18, 18));
            Assert.True(eGrid <= eMm, $"group {g}: grid {eGrid} > min-max {eMm}");
            Assert.True(eOpt <= eMm && eOpt <= eGrid, $"group {g}: mse_opt {eOpt}, min-max {eMm}, grid {eGrid}");
        }
    }
}
