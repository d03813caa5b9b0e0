using BenchmarkDotNet.Attributes;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// The evaluator's f32 gemm (FMA chains vectorized across output columns) against its scalar reference (baseline),
/// on a prompt-sized projection (12 × 64 · 64 × 512, the golden lm_head) and a 7B-sized one (12 × 4096 · 4096 × 4096).
/// </summary>
public class GemmBenchmarks
{
    private float[] _a = null!;
    private float[] _b = null!;
    private readonly ParallelOptions _serial = new() { MaxDegreeOfParallelism = 1 };

    /// <summary>Inner dimension k = output width n (64 or 4096); m is 12 rows.</summary>
    [Params(64, 4096)]
    public int K { get; set; }

    private int N => K == 64 ? 512 : 4096;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(7);
        _a = Enumerable.Range(0, 12 * K).Select(_ => (float)rng.NextDouble()).ToArray();
        _b = Enumerable.Range(0, K * N).Select(_ => (float)rng.NextDouble()).ToArray();
    }

    [Benchmark(Baseline = true)]
    public float[] ScalarReference() => Gemm.MultiplyReference(_a, _b, 1, 12, N, K);

    [Benchmark]
    public float[] VectorizedOneThread() => Gemm.Multiply(_a, _b, 1, 12, N, K, _serial);
}
