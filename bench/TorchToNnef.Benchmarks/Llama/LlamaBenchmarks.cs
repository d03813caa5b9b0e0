using BenchmarkDotNet.Attributes;
using TorchToNnef.Benchmarks.Limits;
using TorchToNnef.Export.Evaluation;

namespace TorchToNnef.Benchmarks.Llama;

/// <summary>
/// The Llama-shaped graph (<see cref="LlamaGraph"/>, TinyLlama-1.1B dimensions, Q4_0 weights) through
/// <see cref="GraphEvaluator"/> on two threads, against the limits of the same run: one decode step (1 token after 127
/// cached positions) as Q4_0 weight bytes read per second against the two-thread read bandwidth (the target,
/// within 3x of weight bytes / bandwidth, is an OfLimit of at least 33%), and a 128-token prompt as fused multiply-adds
/// per second against the two-thread FMA peak (target 30%). Weights are opened in the setup, as a loaded model's are;
/// runs reuse the previous run's output storage (<see cref="EvaluationOptions.ReuseOutputStorage"/>: each result is
/// dropped at once), as a decode loop does.
/// Run: <c>dotnet run -c Release --project bench/TorchToNnef.Benchmarks -- --filter '*LlamaBenchmarks*'</c>; peak RSS
/// comes from the separate-process <c>llama decode|prompt</c> mode (see <see cref="LlamaRun"/>).
/// </summary>
[Config(typeof(LimitsConfig))]
public class LlamaBenchmarks : IMeasuredWork
{
    private const long FmaIterations = 20_000_000;
    private const int PromptTokens = 128;
    private const int DecodePast = 127;
    private static readonly LlamaShape Shape = LlamaShape.TinyLlama;

    private GraphEvaluator _decode = null!;
    private GraphEvaluator _prompt = null!;
    private List<NamedTensor> _decodeInputs = null!;
    private List<NamedTensor> _promptInputs = null!;
    private float[] _big = null!;

    /// <inheritdoc />
    public Work? WorkOf(string method) => method switch
    {
        nameof(FmaPeakTwoThreads) => new Work(2.0 * FmaIterations * MachineLimits.Chains * Math.Max(MachineLimits.Lanes, 4), "GFMA/s", null),
        nameof(ReadTwoThreads) => new Work(256.0 * 1024 * 1024, "GB/s", null),
        nameof(DecodeStepTwoThreads) => new Work(Shape.Q40Bytes, "GB/s", nameof(ReadTwoThreads)),
        nameof(Prompt128TwoThreads) => new Work(Shape.Fmas(PromptTokens, 0), "GFMA/s", nameof(FmaPeakTwoThreads)),
        _ => null,
    };

    [GlobalSetup]
    public void Setup()
    {
        var options = new EvaluationOptions { MaxDegreeOfParallelism = 2, ReuseOutputStorage = true };
        _decode = new GraphEvaluator(LlamaGraph.Build(Shape, 1, DecodePast), options);
        _decodeInputs = LlamaGraph.Inputs(Shape, 1, DecodePast);
        _decode.Run(_decodeInputs);
        _prompt = new GraphEvaluator(LlamaGraph.Build(Shape, PromptTokens, 0), options);
        _promptInputs = LlamaGraph.Inputs(Shape, PromptTokens, 0);
        _prompt.Run(_promptInputs);
        _big = EvaluatorTargetBenchmarks.Random(new Random(3), 64 * 1024 * 1024);
    }

    [Benchmark]
    public double FmaPeakTwoThreads() => MachineLimits.FmaPeak(FmaIterations, 2);

    [Benchmark]
    public double ReadTwoThreads() => MachineLimits.Read(_big, 2);

    [Benchmark]
    public IReadOnlyList<NamedTensor> DecodeStepTwoThreads() => _decode.Run(_decodeInputs);

    [Benchmark]
    public IReadOnlyList<NamedTensor> Prompt128TwoThreads() => _prompt.Run(_promptInputs);
}
