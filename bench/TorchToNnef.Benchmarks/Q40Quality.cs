using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Quant;
using TorchToNnef.Quant.Calibration;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// <c>dotnet run -c Release -- q40-quality</c>: RMSE of each calibration (min-max, grid_mse, ggml, mse_opt) on the
/// golden Q4_0 inputs, a 4096x4096 N(0,1) tensor and heavy-tailed synthetic weights, the exhaustive optimum
/// (<see cref="Q40ExhaustiveSearch"/>) on a sample of groups, and the time mse_opt takes.
/// Not a BenchmarkDotNet suite: a measurement report for the README.
/// </summary>
internal static class Q40Quality
{
    private static readonly (string Name, Q40Calibration Calibration)[] Methods =
    [
        ("min_max", Q40Calibration.MinMax),
        ("grid_mse", new GridMseCalibration()),
        ("ggml", new GgmlCalibration()),
        ("mse_opt", new MseOptCalibration()),
    ];

    public static void Run()
    {
        Console.WriteLine("RMSE per calibration (ratio to min-max in parentheses); error against tract's f32 dequantization.");
        Console.WriteLine();
        Console.WriteLine($"{"input",-34} {"values",9} " + string.Join(" ", Methods.Select(m => $"{m.Name,20}")));
        using JsonDocument manifest = JsonDocument.Parse(File.ReadAllText(Golden.File("q40", "manifest.json")));
        var totals = new double[Methods.Length];
        long totalValues = 0;
        foreach (JsonElement c in manifest.RootElement.GetProperty("cases").EnumerateArray())
        {
            using SafetensorsFile file = SafetensorsFile.Open(Golden.File("q40", c.GetProperty("input_file").GetString()!));
            using Tensor t = file.GetTensor("weight");
            (double[] sse, bool sameValues) = Row(c.GetProperty("id").GetString()!, t);
            if (!sameValues)
            {
                // Some method left values non-finite that another made finite: the RMSEs cover different values.
                Console.WriteLine("    ^ not in the total: the methods leave different values non-finite (scales beyond f16)");
                continue;
            }

            for (int m = 0; m < sse.Length; m++)
            {
                totals[m] += sse[m];
            }

            totalValues += t.ElementCount;
        }

        PrintRow("all golden inputs above", totalValues, totals.Select(s => Math.Sqrt(s / totalValues)).ToArray());
        Console.WriteLine();
        using Tensor normal = Synthetic(4096, 4096, seed: 1, heavy: false);
        Row("N(0,1) 4096x4096", normal);
        using Tensor studentT = Synthetic(4096, 4096, seed: 2, heavy: true);
        Row("Student-t(3)+outliers 4096x4096", studentT);
        using Tensor laplace = Laplace(4096, 4096, seed: 3);
        Row("Laplace+outliers 4096x4096", laplace);

        Console.WriteLine();
        Console.WriteLine($"Exhaustive search over all {Q40ExhaustiveSearch.ScaleCount} finite f16 scales (nearest codes), first {ExhaustiveGroups} groups:");
        Exhaustive("N(0,1)", normal);
        Exhaustive("Laplace+outliers", laplace);

        Console.WriteLine();
        foreach (int threads in new[] { 1, 2 })
        {
            var sw = Stopwatch.StartNew();
            Q40Quantizer.Quantize(studentT, "w", new MseOptCalibration(), new Q40QuantizeOptions { MaxDegreeOfParallelism = threads }).Dispose();
            double s = sw.Elapsed.TotalSeconds;
            Console.WriteLine(string.Create(
                CultureInfo.InvariantCulture,
                $"mse_opt on {studentT.ElementCount / 1e6:0.0} M values, {threads} thread(s): {s:0.00} s -> {s * 1e9 / studentT.ElementCount:0.0} s per 1 G values"));
        }
    }

    /// <summary>Groups of each tensor the exhaustive search covers (about 2 M scale-value pairs per group).</summary>
    private const int ExhaustiveGroups = 8192;

    // RMSE of min-max, mse_opt and the exhaustive optimum on the first groups of a tensor, as ratios to min-max.
    private static void Exhaustive(string name, Tensor t)
    {
        ReadOnlySpan<float> all = t.AsSpan<float>();
        float[] sample = all[..(ExhaustiveGroups * Q40ExhaustiveSearch.GroupSize)].ToArray();
        using Tensor part = Tensor.FromFloats(new Shape(ExhaustiveGroups, Q40ExhaustiveSearch.GroupSize), sample);
        double Sse(Q40Calibration c)
        {
            var stats = new Q40ErrorStats();
            Q40Quantizer.Quantize(part, name, c, new Q40QuantizeOptions { Errors = stats }).Dispose();
            return stats.SumSquaredError;
        }

        double minMax = Sse(Q40Calibration.MinMax);
        double mseOpt = Sse(new MseOptCalibration());
        var sw = Stopwatch.StartNew();
        var best = new double[ExhaustiveGroups];
        Parallel.For(0, ExhaustiveGroups, g => best[g] = Q40ExhaustiveSearch.Best(sample.AsSpan(g * Q40ExhaustiveSearch.GroupSize, Q40ExhaustiveSearch.GroupSize)).Error);
        double exhaustive = best.Sum();
        Console.WriteLine(string.Create(
            CultureInfo.InvariantCulture,
            $"{name,-34} min-max {Math.Sqrt(minMax / sample.Length):G4} (1), mse_opt {Math.Sqrt(mseOpt / minMax):0.0000}, exhaustive {Math.Sqrt(exhaustive / minMax):0.0000}; mse_opt / exhaustive RMSE {Math.Sqrt(mseOpt / exhaustive):0.00000} ({sw.Elapsed.TotalSeconds:0.0} s)"));
    }

    // Prints RMSE per method; returns the squared-error sums over finite values and whether every method measured
    // the same number of values.
    private static (double[] Sse, bool SameValues) Row(string name, Tensor t)
    {
        var sse = new double[Methods.Length];
        var rmse = new double[Methods.Length];
        long count = 0;
        bool same = true;
        for (int m = 0; m < Methods.Length; m++)
        {
            var stats = new Q40ErrorStats();
            Q40Quantizer.Quantize(t, name, Methods[m].Calibration, new Q40QuantizeOptions { Errors = stats }).Dispose();
            sse[m] = stats.SumSquaredError;
            rmse[m] = stats.Rmse;
            same &= m == 0 || stats.Count == count;
            count = stats.Count;
        }

        PrintRow(name, count, rmse);
        return (sse, same);
    }

    private static void PrintRow(string name, long count, double[] rmse) =>
        Console.WriteLine($"{name,-34} {count,9} " + string.Join(" ", rmse.Select(r => string.Create(CultureInfo.InvariantCulture, $"{r,11:G4} ({r / rmse[0],5:0.000})"))));

    private static Tensor Synthetic(int rows, int cols, int seed, bool heavy)
    {
        var rng = new Random(seed);
        var t = Tensor.Allocate(DType.F32, new Shape(rows, cols));
        Span<float> x = t.AsWritableSpan<float>();
        for (int i = 0; i < x.Length; i++)
        {
            double v = Normal(rng);
            if (heavy)
            {
                double chi = (Normal(rng) * Normal(rng)) + (Normal(rng) * Normal(rng)) + (Normal(rng) * Normal(rng));
                v = Math.Clamp(v / Math.Sqrt(Math.Max(chi, 1e-12) / 3), -40, 40) * (rng.Next(500) == 0 ? 6 : 1) * 0.02;
            }

            x[i] = (float)v;
        }

        return t;
    }

    private static Tensor Laplace(int rows, int cols, int seed)
    {
        var rng = new Random(seed);
        var t = Tensor.Allocate(DType.F32, new Shape(rows, cols));
        Span<float> x = t.AsWritableSpan<float>();
        for (int i = 0; i < x.Length; i++)
        {
            double u = rng.NextDouble() - 0.5;
            double v = -Math.Sign(u) * Math.Log(1 - (2 * Math.Abs(u)));
            x[i] = (float)(0.02 * v * (rng.Next(1000) == 0 ? 8 : 1));
        }

        return t;
    }

    private static double Normal(Random rng) => Math.Sqrt(-2 * Math.Log(1 - rng.NextDouble())) * Math.Cos(2 * Math.PI * rng.NextDouble());
}
