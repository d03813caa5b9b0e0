using BenchmarkDotNet.Attributes;
using TorchToNnef.Benchmarks.Limits;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// The issue-12 targets measured through <see cref="GraphEvaluator"/> (what <c>t2n verify</c> pays per operator), each
/// beside the machine limit that judges it, all in one run: an f32 matmul 1024x1024x1024 on one thread against the
/// one-thread FMA peak; <c>linear</c> of one row through 8192x8192 f32 and Q4_0 weights on two threads against the
/// two-thread read bandwidth (counting the stored weight bytes); a broadcasting add and a softmax on 4 Mi floats
/// against a two-thread copy of the same size (bytes read + written); and the chain (broadcast add, exp, divide
/// by a column, then a row sum) whose intermediate values live in pooled storage. Every evaluator is prepared once and
/// runs with <see cref="EvaluationOptions.ReuseOutputStorage"/> (the benchmark drops each result at once), so the next
/// run writes into the previous output's storage; the <c>FreshOutput</c> cases run the add and the softmax without it
/// (a new 16 MiB output array per run, its page faults and collections included). <c>Chain200SmallNodes</c> is the
/// fixed cost of a statement: 200 additions on [1, 8] values, one thread.
/// Run: <c>dotnet run -c Release --project bench/TorchToNnef.Benchmarks -- --filter '*EvaluatorTargetBenchmarks*'</c>.
/// </summary>
[Config(typeof(LimitsConfig))]
public class EvaluatorTargetBenchmarks : IMeasuredWork
{
    private const int GemmSize = 1024;
    private const int GemvSize = 8192;
    private const int Rows = 4096;
    private const int Columns = 1024;
    private const long FmaIterations = 20_000_000;

    private GraphEvaluator _matmul = null!;
    private GraphEvaluator _linearF32 = null!;
    private GraphEvaluator _linearQ40 = null!;
    private GraphEvaluator _add = null!;
    private GraphEvaluator _softmax = null!;
    private GraphEvaluator _chain = null!;
    private GraphEvaluator _addFresh = null!;
    private GraphEvaluator _softmaxFresh = null!;
    private GraphEvaluator _smallChain = null!;
    private List<NamedTensor> _smallInput = null!;
    private List<NamedTensor> _chainInputs = null!;
    private List<NamedTensor> _matmulInputs = null!;
    private List<NamedTensor> _gemvInput = null!;
    private List<NamedTensor> _addInputs = null!;
    private List<NamedTensor> _softmaxInput = null!;
    private float[] _big = null!;
    private float[] _copySource = null!;
    private float[] _copyDestination = null!;

    /// <inheritdoc />
    public Work? WorkOf(string method) => method switch
    {
        nameof(FmaPeakOneThread) => new Work(FmaIterations * MachineLimits.Chains * Math.Max(MachineLimits.Lanes, 4), "GFMA/s", null),
        nameof(ReadTwoThreads) => new Work(256.0 * 1024 * 1024, "GB/s", null),
        nameof(CopyTwoThreads) => new Work(Rows * Columns * 8.0, "GB/s", null),
        nameof(MatMul1024OneThread) => new Work((double)GemmSize * GemmSize * GemmSize, "GFMA/s", nameof(FmaPeakOneThread)),
        nameof(LinearF32Gemv8192TwoThreads) => new Work((double)GemvSize * GemvSize * 4, "GB/s", nameof(ReadTwoThreads)),
        nameof(LinearQ40Gemv8192TwoThreads) => new Work((double)GemvSize * GemvSize / 32 * 18, "GB/s", nameof(ReadTwoThreads)),
        nameof(BroadcastAdd4M) or nameof(BroadcastAdd4MFreshOutput) => new Work(Rows * Columns * 8.0, "GB/s", nameof(CopyTwoThreads)),
        nameof(Softmax4M) or nameof(Softmax4MFreshOutput) => new Work(Rows * Columns * 8.0, "GB/s", nameof(CopyTwoThreads)),
        nameof(AddExpDivSumChain4M) => new Work(Rows * Columns * 28.0, "GB/s", nameof(CopyTwoThreads)),
        _ => null,
    };

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(12);
        _big = Random(rng, 64 * 1024 * 1024);
        _copySource = Random(rng, Rows * Columns);
        _copyDestination = new float[Rows * Columns];

        var serial = new EvaluationOptions { MaxDegreeOfParallelism = 1, ReuseOutputStorage = true };
        var two = new EvaluationOptions { MaxDegreeOfParallelism = 2, ReuseOutputStorage = true };
        var twoFresh = new EvaluationOptions { MaxDegreeOfParallelism = 2 };
        _matmul = new GraphEvaluator(Binary("matmul", [GemmSize, GemmSize], [GemmSize, GemmSize]), serial);
        _matmulInputs = [Input("a", [GemmSize, GemmSize], rng), Input("b", [GemmSize, GemmSize], rng)];

        float[] weights = Random(rng, GemvSize * GemvSize);
        _linearF32 = new GraphEvaluator(Linear(Tensor.FromFloats(new Shape(GemvSize, GemvSize), weights)), two);
        _linearQ40 = new GraphEvaluator(Linear(RandomQ40(rng, GemvSize, GemvSize)), two);
        _gemvInput = [Input("x", [1, GemvSize], rng)];

        _add = new GraphEvaluator(Binary("add", [Rows, Columns], [1, Columns]), two);
        _addFresh = new GraphEvaluator(Binary("add", [Rows, Columns], [1, Columns]), twoFresh);
        _addInputs = [Input("a", [Rows, Columns], rng), Input("b", [1, Columns], rng)];

        var softmax = new Graph { Registries = { "tract_core" } };
        softmax.AddInput("x", DType.F32, [Dim.Of(Rows), Dim.Of(Columns)]);
        softmax.Nodes.Add(new Node("softmax", "y").With(Arg.Ref("x")).With("axes", Arg.Ints(1)));
        softmax.Outputs.Add("y");
        _softmax = new GraphEvaluator(softmax, two);
        _softmaxFresh = new GraphEvaluator(softmax, twoFresh);
        _softmaxInput = [Input("x", [Rows, Columns], rng)];

        var chain = new Graph { Registries = { "tract_core" } };
        chain.AddInput("a", DType.F32, [Dim.Of(Rows), Dim.Of(Columns)]);
        chain.AddInput("row", DType.F32, [Dim.Of(1), Dim.Of(Columns)]);
        chain.AddInput("column", DType.F32, [Dim.Of(Rows), Dim.Of(1)]);
        chain.Nodes.Add(new Node("add", "s").With(Arg.Ref("a")).With(Arg.Ref("row")));
        chain.Nodes.Add(new Node("exp", "e").With(Arg.Ref("s")));
        chain.Nodes.Add(new Node("div", "q").With(Arg.Ref("e")).With(Arg.Ref("column")));
        chain.Nodes.Add(new Node("sum_reduce", "total").With(Arg.Ref("q")).With("axes", Arg.Ints(1)));
        chain.Outputs.Add("total");
        _chain = new GraphEvaluator(chain, two);
        _chainInputs = [Input("a", [Rows, Columns], rng), Input("row", [1, Columns], rng), Input("column", [Rows, 1], rng)];

        var small = new Graph { Registries = { "tract_core" } };
        small.AddInput("x", DType.F32, [Dim.Of(1), Dim.Of(8)]);
        string previous = "x";
        for (int i = 0; i < 200; i++)
        {
            small.Nodes.Add(new Node("add", $"v{i}").With(Arg.Ref(previous)).With(Arg.Ref("x")));
            previous = $"v{i}";
        }

        small.Outputs.Add(previous);
        _smallChain = new GraphEvaluator(small, serial);
        _smallInput = [Input("x", [1, 8], rng)];
    }

    [Benchmark]
    public double FmaPeakOneThread() => MachineLimits.FmaPeak(FmaIterations, 1);

    [Benchmark]
    public double ReadTwoThreads() => MachineLimits.Read(_big, 2);

    [Benchmark]
    public double CopyTwoThreads() => MachineLimits.Copy(_copySource, _copyDestination, 2);

    [Benchmark]
    public IReadOnlyList<NamedTensor> MatMul1024OneThread() => _matmul.Run(_matmulInputs);

    [Benchmark]
    public IReadOnlyList<NamedTensor> LinearF32Gemv8192TwoThreads() => _linearF32.Run(_gemvInput);

    [Benchmark]
    public IReadOnlyList<NamedTensor> LinearQ40Gemv8192TwoThreads() => _linearQ40.Run(_gemvInput);

    [Benchmark]
    public IReadOnlyList<NamedTensor> BroadcastAdd4M() => _add.Run(_addInputs);

    [Benchmark]
    public IReadOnlyList<NamedTensor> Softmax4M() => _softmax.Run(_softmaxInput);

    [Benchmark]
    public IReadOnlyList<NamedTensor> AddExpDivSumChain4M() => _chain.Run(_chainInputs);

    [Benchmark]
    public IReadOnlyList<NamedTensor> BroadcastAdd4MFreshOutput() => _addFresh.Run(_addInputs);

    [Benchmark]
    public IReadOnlyList<NamedTensor> Softmax4MFreshOutput() => _softmaxFresh.Run(_softmaxInput);

    [Benchmark]
    public IReadOnlyList<NamedTensor> Chain200SmallNodes() => _smallChain.Run(_smallInput);

    internal static float[] Random(Random rng, int count)
    {
        var v = new float[count];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (float)(rng.NextDouble() - 0.5);
        }

        return v;
    }

    /// <summary>Random Q4_0 blocks (GGML order) for a [rows, columns] weight: random codes, scales of about 0.02 / 8.</summary>
    internal static Tensor RandomQ40(Random rng, int rows, int columns)
    {
        // A pooled buffer: the evaluator disposes the tensor once it has re-laid the blocks, so generating the weights of
        // a large model one after another reuses the same few buffers instead of leaving garbage behind.
        OwnedTensorData data = OwnedTensorData.Allocate((long)rows * columns / 32 * 18, clear: false);
        Span<byte> bytes = data.Span;
        rng.NextBytes(bytes);
        for (int b = 0; b < bytes.Length; b += 18)
        {
            ushort scale = BitConverter.HalfToUInt16Bits((Half)(0.0025f * (0.5f + (float)rng.NextDouble())));
            bytes[b] = (byte)scale;
            bytes[b + 1] = (byte)(scale >> 8);
        }

        return new Tensor(DType.Q40, new Shape(rows, columns), data);
    }

    private static NamedTensor Input(string name, int[] shape, Random rng) =>
        new(name, TensorValue.F32(shape, Random(rng, shape.Aggregate(1, (a, b) => a * b))));

    private static Graph Binary(string op, int[] a, int[] b)
    {
        var g = new Graph { Registries = { "tract_core" } };
        g.AddInput("a", DType.F32, [.. a.Select(d => Dim.Of(d))]);
        g.AddInput("b", DType.F32, [.. b.Select(d => Dim.Of(d))]);
        g.Nodes.Add(new Node(op, "c").With(Arg.Ref("a")).With(Arg.Ref("b")));
        g.Outputs.Add("c");
        return g;
    }

    private static Graph Linear(Tensor weights)
    {
        var g = new Graph { Registries = { "tract_core" } };
        g.AddInput("x", DType.F32, [Dim.Of(1), Dim.Of(GemvSize)]);
        g.AddVariable("w", "w", TensorSource.FromTensor(weights));
        g.Nodes.Add(new Node("linear", "y").With(Arg.Ref("x")).With(Arg.Ref("w")));
        g.Outputs.Add("y");
        return g;
    }
}
