using BenchmarkDotNet.Attributes;
using TorchToNnef.Benchmarks.Limits;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// The evaluator's matrix kernels at the process's widest width against the machine limits of the same run: f32
/// products (1024³ on one and two threads, a 128-token prompt through a 2048 × 5632 Q4_0 weight) against the FMA
/// peak; one-row products through 8192 × 8192 f32 weights (stored transposed, as <c>linear</c> weights are, and
/// row-major) and Q4_0 weights against the read bandwidth, counting the stored weight bytes; a depthwise 3 × 3
/// convolution against the FMA peak.
/// Run: <c>dotnet run -c Release --project bench/TorchToNnef.Benchmarks -- --filter '*MatrixKernelBenchmarks*'</c>.
/// </summary>
[Config(typeof(LimitsConfig))]
public class MatrixKernelBenchmarks : IMeasuredWork
{
    private const int GemmSize = 1024;
    private const int GemvSize = 8192;
    private const int PromptTokens = 128;
    private const int Hidden = 2048;
    private const int Intermediate = 5632;
    private const int ConvChannels = 64;
    private const int ConvSide = 160;
    private const long FmaIterations = 20_000_000;
    private static readonly double Q40Bytes = (double)GemvSize * GemvSize / 32 * 18;

    private readonly KernelWidth _width = KernelWidths.Active;
    private float[] _a = null!;
    private float[] _b = null!;
    private float[] _c = null!;
    private float[] _weights = null!;
    private float[] _x = null!;
    private float[] _y = null!;
    private float[] _prompt = null!;
    private float[] _promptOut = null!;
    private float[] _big = null!;
    private BlockQuantData _q40 = null!;
    private BlockQuantData _q40Mlp = null!;
    private float[] _convPadded = null!;
    private float[] _convKernel = null!;
    private float[] _convOut = null!;
    private ConvGeometry _conv;

    /// <inheritdoc />
    public Work? WorkOf(string method) => method switch
    {
        nameof(FmaPeakOneThread) => new Work(FmaIterations * MachineLimits.Chains * Math.Max(MachineLimits.Lanes, 4), "GFMA/s", null),
        nameof(FmaPeakTwoThreads) => new Work(2.0 * FmaIterations * MachineLimits.Chains * Math.Max(MachineLimits.Lanes, 4), "GFMA/s", null),
        nameof(ReadOneThread) => new Work(_bigBytes, "GB/s", null),
        nameof(ReadTwoThreads) => new Work(_bigBytes, "GB/s", null),
        nameof(Gemm1024OneThread) => new Work(Math.Pow(GemmSize, 3), "GFMA/s", nameof(FmaPeakOneThread)),
        nameof(Gemm1024TwoThreads) => new Work(Math.Pow(GemmSize, 3), "GFMA/s", nameof(FmaPeakTwoThreads)),
        nameof(PromptQ40Gemm128x2048x5632TwoThreads) => new Work((double)PromptTokens * Hidden * Intermediate, "GFMA/s", nameof(FmaPeakTwoThreads)),
        nameof(GemvF32Transposed8192TwoThreads) => new Work(4.0 * GemvSize * GemvSize, "GB/s", nameof(ReadTwoThreads)),
        nameof(GemvF32RowMajor8192TwoThreads) => new Work(4.0 * GemvSize * GemvSize, "GB/s", nameof(ReadTwoThreads)),
        nameof(GemvQ40x8192TwoThreads) => new Work(Q40Bytes, "GB/s", nameof(ReadTwoThreads)),
        nameof(GemvQ40x8192OneThread) => new Work(Q40Bytes, "GB/s", nameof(ReadOneThread)),
        nameof(DepthwiseConv3x3OneThread) => new Work(9.0 * ConvChannels * ConvSide * ConvSide, "GFMA/s", nameof(FmaPeakOneThread)),
        _ => null,
    };

    private const double _bigBytes = 256.0 * 1024 * 1024;

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(12);
        _a = EvaluatorTargetBenchmarks.Random(rng, GemmSize * GemmSize);
        _b = EvaluatorTargetBenchmarks.Random(rng, GemmSize * GemmSize);
        _c = new float[GemmSize * GemmSize];
        _weights = EvaluatorTargetBenchmarks.Random(rng, GemvSize * GemvSize);
        _x = EvaluatorTargetBenchmarks.Random(rng, GemvSize);
        _y = new float[GemvSize];
        _big = EvaluatorTargetBenchmarks.Random(rng, (int)(_bigBytes / 4));
        using (Tensor q = EvaluatorTargetBenchmarks.RandomQ40(rng, GemvSize, GemvSize))
        {
            _q40 = new BlockQuantData(q.Bytes.ToArray());
        }

        _q40.PreparePanels(GemvSize);
        using (Tensor q = EvaluatorTargetBenchmarks.RandomQ40(rng, Intermediate, Hidden))
        {
            _q40Mlp = new BlockQuantData(q.Bytes.ToArray());
        }

        _q40Mlp.PreparePanels(Hidden);
        _prompt = EvaluatorTargetBenchmarks.Random(rng, PromptTokens * Hidden);
        _promptOut = new float[PromptTokens * Intermediate];
        _conv = new ConvGeometry(ConvSide, ConvSide, 3, 3, 1, 1, 1, 1, 1, 1, ConvSide, ConvSide);
        _convPadded = new float[ConvChannels * _conv.PaddedPlane];
        ConvKernels.Pad(_conv, EvaluatorTargetBenchmarks.Random(rng, ConvChannels * ConvSide * ConvSide), ConvChannels, _convPadded);
        _convKernel = EvaluatorTargetBenchmarks.Random(rng, ConvChannels * 9);
        _convOut = new float[ConvChannels * ConvSide * ConvSide];
    }

    [Benchmark]
    public double FmaPeakOneThread() => MachineLimits.FmaPeak(FmaIterations, 1);

    [Benchmark]
    public double FmaPeakTwoThreads() => MachineLimits.FmaPeak(FmaIterations, 2);

    [Benchmark]
    public double ReadOneThread() => MachineLimits.Read(_big, 1);

    [Benchmark]
    public double ReadTwoThreads() => MachineLimits.Read(_big, 2);

    [Benchmark]
    public float[] Gemm1024OneThread() => Product(1);

    [Benchmark]
    public float[] Gemm1024TwoThreads() => Product(2);

    [Benchmark]
    public float[] PromptQ40Gemm128x2048x5632TwoThreads()
    {
        Gemm.Run(_width, new GemmProblem
        {
            M = PromptTokens,
            N = Intermediate,
            K = Hidden,
            A = MatrixOperand.OfSingle(_prompt, 0, Hidden, 1),
            B = MatrixOperand.OfQ40(_q40Mlp, false, 0, Hidden, 1),
            C = _promptOut,
        }, 2);
        return _promptOut;
    }

    [Benchmark]
    public float[] GemvF32Transposed8192TwoThreads() => Row(MatrixOperand.OfSingle(_weights, 0, GemvSize, 1), 2);

    [Benchmark]
    public float[] GemvF32RowMajor8192TwoThreads() => Row(MatrixOperand.OfSingle(_weights, 0, 1, GemvSize), 2);

    [Benchmark]
    public float[] GemvQ40x8192TwoThreads() => Row(MatrixOperand.OfQ40(_q40, false, 0, GemvSize, 1), 2);

    [Benchmark]
    public float[] GemvQ40x8192OneThread() => Row(MatrixOperand.OfQ40(_q40, false, 0, GemvSize, 1), 1);

    [Benchmark]
    public float[] DepthwiseConv3x3OneThread()
    {
        for (int c = 0; c < ConvChannels; c++)
        {
            ConvKernels.Direct(_width, _conv, _convPadded.AsSpan(c * _conv.PaddedPlane, _conv.PaddedPlane), 1, _convKernel.AsSpan(c * 9, 9), _convOut.AsSpan(c * _conv.Positions, _conv.Positions));
        }

        return _convOut;
    }

    private float[] Product(int threads)
    {
        Gemm.Run(_width, new GemmProblem
        {
            M = GemmSize,
            N = GemmSize,
            K = GemmSize,
            A = MatrixOperand.OfSingle(_a, 0, GemmSize, 1),
            B = MatrixOperand.OfSingle(_b, 0, 1, GemmSize),
            C = _c,
        }, threads);
        return _c;
    }

    private float[] Row(MatrixOperand weights, int threads)
    {
        Gemm.Run(_width, new GemmProblem { M = 1, N = GemvSize, K = GemvSize, A = MatrixOperand.OfSingle(_x, 0, GemvSize, 1), B = weights, C = _y }, threads);
        return _y;
    }
}
