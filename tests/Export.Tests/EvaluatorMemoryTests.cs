using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// Weights opened once per loaded graph; intermediate storage released after its last consumer and reused, never
/// while someone can still read it (outputs handed out, values bound inside fragments).
/// </summary>
public class EvaluatorMemoryTests
{
    private const int N = 64 * 1024;

    [Fact]
    public void WeightsAreOpenedOnceAndKeptAcrossRuns()
    {
        var g = new GraphFixture().Input("x", DType.F32, 1, 64);
        int opens = 0;
        float[] w = Enumerable.Range(0, 32 * 64).Select(i => (i % 7) - 3f).ToArray();
        Tensor weight = Tensor.FromFloats(new Shape(32, 64), w);
        g.Graph.AddVariable("w", "w", TensorSource.Computed(DType.F32, weight.Shape, () =>
        {
            opens++;
            return weight.Clone();
        }));
        g.Op("y", "linear", R("x"), R("w"));
        g.Output("y");
        var evaluator = new GraphEvaluator(g.Graph);
        float[] x = Enumerable.Range(0, 64).Select(i => i * 0.5f).ToArray();
        float[] first = evaluator.Run([F32("x", x, 1, 64)])[0].Value.Span<float>().ToArray();
        float[] second = evaluator.Run([F32("x", x, 1, 64)])[0].Value.Span<float>().ToArray();
        Assert.Equal(1, opens);
        Assert.Equal(1, evaluator.KeptWeights);
        Assert.Equal(first, second);
        Assert.Equal(Enumerable.Range(0, 64).Sum(i => w[i] * x[i]), first[0]);
    }

    [Fact]
    public void StorageIsReusedWithinARunAndNeverUnderAnOutput()
    {
        // a -> 24 chained additions; every step's input dies at the next step, so two buffers suffice.
        var g = new GraphFixture().Input("a", DType.F32, N).Input("b", DType.F32, N);
        string previous = "a";
        for (int i = 0; i < 24; i++)
        {
            g.Op($"t{i}", "add", R(previous), R("b"));
            previous = $"t{i}";
        }

        g.Op("mid", "mul", R("t11"), F(1.0));
        g.Output(previous, "mid");
        var evaluator = new GraphEvaluator(g.Graph, new EvaluationOptions { MaxDegreeOfParallelism = 1 });
        float[] a = Enumerable.Range(0, N).Select(i => (float)(i % 100)).ToArray();
        float[] b = Enumerable.Repeat(1f, N).ToArray();
        IReadOnlyList<NamedTensor> run1 = evaluator.Run([F32("a", a, N), F32("b", b, N)]);
        float[] kept = run1[0].Value.Span<float>().ToArray();

        long before = GC.GetAllocatedBytesForCurrentThread();
        IReadOnlyList<NamedTensor> run2 = evaluator.Run([F32("a", b, N), F32("b", b, N)]);
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // The first run's outputs still hold their values after the second run reused the pool.
        Assert.Equal(kept, run1[0].Value.Span<float>().ToArray());
        Assert.Equal(Enumerable.Range(0, N).Select(i => (float)(i % 100) + 24f), run1[0].Value.Span<float>().ToArray());
        Assert.Equal(Enumerable.Range(0, N).Select(i => (float)(i % 100) + 12f), run1[1].Value.Span<float>().ToArray());
        Assert.All(run2[0].Value.Span<float>().ToArray(), v => Assert.Equal(25f, v));
        Assert.All(run2[1].Value.Span<float>().ToArray(), v => Assert.Equal(13f, v));

        // 26 values of 256 KiB were produced; with reuse the second run allocates only its two outputs (the first
        // run's free buffers serve the rest) plus bookkeeping, far below 26 arrays.
        Assert.True(allocated < 6 * N * sizeof(float), $"second run allocated {allocated} bytes");
    }

    [Fact]
    public void ValuesInsideFragmentsStayValidUntilTheCallerHasThem()
    {
        // linear is a stdlib fragment (matmul then add inside its own scope); chain it so its results feed the next call.
        var g = new GraphFixture().Input("x", DType.F32, 4, 256);
        g.Constant("w", Enumerable.Range(0, 256 * 256).Select(i => ((i * 7) % 13) - 6f).ToArray(), 256, 256);
        g.Constant("bias", Enumerable.Range(0, 256).Select(i => i * 0.25f).ToArray(), 1, 256);
        string previous = "x";
        for (int i = 0; i < 4; i++)
        {
            g.Op($"y{i}", "linear", R(previous), R("w"), R("bias"));
            g.Op($"n{i}", "mul", R($"y{i}"), F(1.0 / 4096));
            previous = $"n{i}";
        }

        g.Output(previous);
        float[] x = Enumerable.Range(0, 4 * 256).Select(i => (i % 5) - 2f).ToArray();
        var evaluator = new GraphEvaluator(g.Graph);
        float[] pooled = evaluator.Run([F32("x", x, 4, 256)])[0].Value.Span<float>().ToArray();
        float[] again = evaluator.Run([F32("x", x, 4, 256)])[0].Value.Span<float>().ToArray();
        float[] fresh = new GraphEvaluator(g.Graph).Run([F32("x", x, 4, 256)])[0].Value.Span<float>().ToArray();
        Assert.Equal(fresh, pooled);
        Assert.Equal(fresh, again);
    }

    [Fact]
    public void InputsAreFedByReference()
    {
        // An output that is an input (and one that is a view of it) hands back the fed array itself: nothing copied it.
        var g = new GraphFixture().Input("x", DType.F32, 4, 8);
        g.Op("flat", "reshape", R("x")).With("shape", Arg.Ints(32));
        g.Output("x", "flat");
        float[] x = Enumerable.Range(0, 32).Select(i => i * 0.5f).ToArray();
        IReadOnlyList<NamedTensor> outputs = new GraphEvaluator(g.Graph).Run([F32("x", x, 4, 8)]);
        Assert.Same(x, outputs[0].Value.Data);
        Assert.Same(x, outputs[1].Value.Data);
    }

    [Fact]
    public void OutputStorageIsReusedByTheNextRunOnlyWhenTheCallerAllows()
    {
        var g = new GraphFixture().Input("a", DType.F32, N).Input("b", DType.F32, N);
        g.Op("s", "add", R("a"), R("b"));
        g.Op("p", "mul", R("s"), R("b"));
        g.Output("p");
        float[] a = Enumerable.Range(0, N).Select(i => (float)(i % 100)).ToArray();
        float[] b = Enumerable.Range(0, N).Select(i => (float)(i % 3)).ToArray();
        float[] expected = Enumerable.Range(0, N).Select(i => (a[i] + b[i]) * b[i]).ToArray();
        float[] expectedSwapped = Enumerable.Range(0, N).Select(i => (b[i] + a[i]) * a[i]).ToArray();

        var reusing = new GraphEvaluator(g.Graph, new EvaluationOptions { MaxDegreeOfParallelism = 1, ReuseOutputStorage = true });
        TensorValue first = reusing.Run([F32("a", a, N), F32("b", b, N)])[0].Value;
        Assert.Equal(expected, first.Span<float>().ToArray());
        long before = GC.GetAllocatedBytesForCurrentThread();
        TensorValue second = reusing.Run([F32("a", b, N), F32("b", a, N)])[0].Value;
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.Equal(expectedSwapped, second.Span<float>().ToArray());

        // The second run's output lands in storage the pool already held (the first output's or the freed sum's): the
        // run allocates no array of N floats.
        Assert.True(allocated < N * sizeof(float), $"second run allocated {allocated} bytes");

        // The same storage goes round: a third run's output is one of the first two arrays.
        TensorValue third = reusing.Run([F32("a", a, N), F32("b", b, N)])[0].Value;
        Assert.True(ReferenceEquals(third.Data, first.Data) || ReferenceEquals(third.Data, second.Data));
        Assert.Equal(expected, third.Span<float>().ToArray());

        // Without the option every output is the caller's: a later run never writes into it.
        var owning = new GraphEvaluator(g.Graph, new EvaluationOptions { MaxDegreeOfParallelism = 1 });
        TensorValue kept = owning.Run([F32("a", a, N), F32("b", b, N)])[0].Value;
        TensorValue other = owning.Run([F32("a", b, N), F32("b", a, N)])[0].Value;
        owning.Run([F32("a", b, N), F32("b", a, N)]);
        Assert.NotSame(kept.Data, other.Data);
        Assert.Equal(expected, kept.Span<float>().ToArray());
    }

    [Fact]
    public void ReusedOutputStorageNeverIncludesTheCallersInputs()
    {
        // The output is the fed array itself: leasing it back would let the next run write into the caller's input.
        var g = new GraphFixture().Input("a", DType.F32, N).Input("b", DType.F32, N);
        g.Op("s", "add", R("a"), R("b"));
        g.Op("t", "add", R("s"), R("b"));
        g.Output("a", "t");
        float[] a = Enumerable.Range(0, N).Select(i => (float)(i % 10)).ToArray();
        float[] b = Enumerable.Repeat(2f, N).ToArray();
        float[] aCopy = [.. a];
        var evaluator = new GraphEvaluator(g.Graph, new EvaluationOptions { MaxDegreeOfParallelism = 1, ReuseOutputStorage = true });
        evaluator.Run([F32("a", a, N), F32("b", b, N)]);
        IReadOnlyList<NamedTensor> second = evaluator.Run([F32("a", b, N), F32("b", b, N)]);
        evaluator.Run([F32("a", b, N), F32("b", b, N)]);
        Assert.Equal(aCopy, a);
        Assert.All(b, v => Assert.Equal(2f, v));
        Assert.Same(b, second[0].Value.Data);
    }
}
