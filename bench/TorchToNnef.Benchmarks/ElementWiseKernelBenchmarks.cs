using BenchmarkDotNet.Attributes;
using TorchToNnef.Benchmarks.Limits;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Benchmarks;

/// <summary>
/// The evaluator's element-wise kernels on 4 Mi floats (a [4096, 1024] tensor) at the process's widest width against a
/// copy of the same size with the same threads, in one run (bytes read + written): broadcasting add of a row, multiply
/// by a column, exp, sigmoid, softmax along rows and along columns, and a lane-ordered row sum. The <c>InCache</c> pair
/// runs softmax along the rows of a [64, 1024] slice (256 KiB in, 256 KiB out: both stay in the L2 cache) against a copy
/// of the same slice, so the kernel's arithmetic is judged apart from the memory a loaded machine shares.
/// Run: <c>dotnet run -c Release --project bench/TorchToNnef.Benchmarks -- --filter '*ElementWiseKernelBenchmarks*'</c>.
/// </summary>
[Config(typeof(LimitsConfig))]
public class ElementWiseKernelBenchmarks : IMeasuredWork
{
    private const int Rows = 4096;
    private const int Columns = 1024;
    private const double Bytes = Rows * Columns * 8.0;
    private const int InCacheRows = 64;

    private readonly KernelWidth _width = KernelWidths.Active;
    private float[] _x = null!;
    private float[] _row = null!;
    private float[] _column = null!;
    private float[] _y = null!;
    private float[] _sums = null!;

    /// <inheritdoc />
    public Work? WorkOf(string method) => method switch
    {
        nameof(CopyOneThread) or nameof(CopyTwoThreads) => new Work(Bytes, "GB/s", null),
        nameof(AddRowBroadcastOneThread) or nameof(MulColumnBroadcastOneThread) or nameof(ExpOneThread) or nameof(SigmoidOneThread)
            or nameof(SoftmaxRowsOneThread) or nameof(SoftmaxColumnsOneThread) => new Work(Bytes, "GB/s", nameof(CopyOneThread)),
        nameof(AddRowBroadcastTwoThreads) or nameof(SoftmaxRowsTwoThreads) => new Work(Bytes, "GB/s", nameof(CopyTwoThreads)),
        nameof(RowSumsOneThread) => new Work(Bytes / 2, "GB/s", nameof(CopyOneThread)),
        nameof(CopyInCacheOneThread) => new Work(InCacheRows * Columns * 8.0, "GB/s", null),
        nameof(SoftmaxRowsInCacheOneThread) => new Work(InCacheRows * Columns * 8.0, "GB/s", nameof(CopyInCacheOneThread)),
        _ => null,
    };

    [GlobalSetup]
    public void Setup()
    {
        var rng = new Random(5);
        _x = EvaluatorTargetBenchmarks.Random(rng, Rows * Columns);
        _row = EvaluatorTargetBenchmarks.Random(rng, Columns);
        _column = EvaluatorTargetBenchmarks.Random(rng, Rows);
        _y = new float[Rows * Columns];
        _sums = new float[Rows];
    }

    [Benchmark]
    public double CopyOneThread() => MachineLimits.Copy(_x, _y, 1);

    [Benchmark]
    public double CopyTwoThreads() => MachineLimits.Copy(_x, _y, 2);

    [Benchmark]
    public float[] CopyInCacheOneThread()
    {
        _x.AsSpan(0, InCacheRows * Columns).CopyTo(_y);
        return _y;
    }

    [Benchmark]
    public float[] SoftmaxRowsInCacheOneThread()
    {
        SoftmaxKernels.Rows(_width, _x, _y, InCacheRows, Columns, 1);
        return _y;
    }

    [Benchmark]
    public float[] AddRowBroadcastOneThread() => Add(1);

    [Benchmark]
    public float[] AddRowBroadcastTwoThreads() => Add(2);

    [Benchmark]
    public float[] MulColumnBroadcastOneThread()
    {
        ElementWiseLoops.Binary<MultiplyOperator<float>, float>(_width, _x, [Rows, Columns], _column, [Rows, 1], _y, [Rows, Columns], 1);
        return _y;
    }

    [Benchmark]
    public float[] ExpOneThread()
    {
        ElementWiseLoops.Unary<ExpOperator, float>(_width, _x, _y, 1);
        return _y;
    }

    [Benchmark]
    public float[] SigmoidOneThread()
    {
        ElementWiseLoops.Unary<SigmoidOperator, float>(_width, _x, _y, 1);
        return _y;
    }

    [Benchmark]
    public float[] SoftmaxRowsOneThread()
    {
        SoftmaxKernels.Rows(_width, _x, _y, Rows, Columns, 1);
        return _y;
    }

    [Benchmark]
    public float[] SoftmaxRowsTwoThreads()
    {
        SoftmaxKernels.Rows(_width, _x, _y, Rows, Columns, 2);
        return _y;
    }

    [Benchmark]
    public float[] SoftmaxColumnsOneThread()
    {
        SoftmaxKernels.Columns(_width, _x, _y, 1, Rows, Columns, 1);
        return _y;
    }

    [Benchmark]
    public float[] RowSumsOneThread()
    {
        ReduceKernels.Sum(_width, _x, Rows, Columns, 1, _sums);
        return _sums;
    }

    private float[] Add(int threads)
    {
        ElementWiseLoops.Binary<AddOperator<float>, float>(_width, _x, [Rows, Columns], _row, [1, Columns], _y, [Rows, Columns], threads);
        return _y;
    }
}
