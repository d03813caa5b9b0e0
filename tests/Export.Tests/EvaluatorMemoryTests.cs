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
}
