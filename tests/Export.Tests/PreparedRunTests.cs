using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// What an evaluator keeps from one run to the next (values of statements that read only weights and literals, plans
/// of products per statement and shape) must never show: each run of a kept evaluator gives what a fresh one gives,
/// whatever shapes and values the runs are fed in turn, and no output of one run changes under a later one.
/// </summary>
public class PreparedRunTests
{
    private static readonly float[] Weight = [0.5f, -2f, 3f, 0.25f];

    // ws = unsqueeze(w) [1, 4]; y = x * ws (broadcast over S rows), z = y + (ws + ws), and ws itself as an output.
    private static GraphFixture WeightGraph()
    {
        var g = new GraphFixture().SymbolicInput("x", DType.F32, "S", "4").Constant("w", Weight, 4);
        g.Op("ws", "unsqueeze", R("w")).With("axes", Arg.Ints([0]));
        g.Op("w2", "add", R("ws"), R("ws"));
        g.Op("y", "mul", R("x"), R("ws"));
        g.Op("z", "add", R("y"), R("w2"));
        g.Output("y", "z", "ws");
        return g;
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void WeightOnlyStatementsRunOnceAndEveryRunMatchesAFreshEvaluator(bool reuseOutputs)
    {
        var calls = new Dictionary<string, int>(StringComparer.Ordinal);
        GraphFixture g = WeightGraph();
        var kept = new GraphEvaluator(g.Graph, new EvaluationOptions
        {
            ReuseOutputStorage = reuseOutputs,
            OperatorTimed = (path, op, _) => calls[path] = calls.GetValueOrDefault(path) + 1,
        });

        IReadOnlyList<NamedTensor>? previous = null;
        float[]? previousZ = null;
        foreach (int rows in new[] { 2, 5, 1, 2 })
        {
            float[] x = [.. Enumerable.Range(0, rows * 4).Select(i => (i * 0.75f) - rows)];
            IReadOnlyList<NamedTensor> outputs = kept.Run([F32("x", x, rows, 4)]);

            float[] expectedY = [.. x.Select((v, i) => v * Weight[i % 4])];
            float[] expectedZ = [.. expectedY.Select((v, i) => v + (Weight[i % 4] + Weight[i % 4]))];
            Assert.Equal(expectedY, outputs[0].Value.Span<float>().ToArray());
            Assert.Equal(expectedZ, outputs[1].Value.Span<float>().ToArray());
            Assert.Equal(new[] { 1, 4 }, outputs[2].Value.Shape.ToArray());
            Assert.Equal(Weight, outputs[2].Value.Span<float>().ToArray());
            IReadOnlyList<NamedTensor> fresh = new GraphEvaluator(g.Graph).Run([F32("x", x, rows, 4)]);
            for (int i = 0; i < fresh.Count; i++)
            {
                Assert.Equal(fresh[i].Value.Shape.ToArray(), outputs[i].Value.Shape.ToArray());
                Assert.Equal(fresh[i].Value.Span<float>().ToArray(), outputs[i].Value.Span<float>().ToArray());
            }

            if (!reuseOutputs && previous is not null)
            {
                // Outputs belong to the caller: the previous run's are untouched by this one.
                Assert.Equal(previousZ, previous[1].Value.Span<float>().ToArray());
                Assert.Equal(Weight, previous[2].Value.Span<float>().ToArray());
            }

            previous = outputs;
            previousZ = expectedZ;
        }

        // The statements that read only the weight ran in the first run only; the others in every run.
        Assert.Equal(1, calls["ws"]);
        Assert.Equal(1, calls["w2"]);
        Assert.Equal(4, calls["y"]);
        Assert.Equal(4, calls["z"]);
    }

    [Fact]
    public void AStatementReadingASymbolIsNotKept()
    {
        // n = S (a symbol, not a weight) reaches the output through a statement with no value argument.
        var g = new GraphFixture().SymbolicInput("x", DType.F32, "S");
        g.Op("n", "tract_core_cast", R("S")).With("to", Arg.String("f32"));
        g.Op("y", "add", R("x"), R("n"));
        g.Output("y");
        var evaluator = new GraphEvaluator(g.Graph);
        Assert.Equal(new[] { 3f, 4f, 5f }, evaluator.Run([F32("x", [0f, 1f, 2f], 3)])[0].Value.Span<float>().ToArray());
        Assert.Equal(new[] { 2f, 3f }, evaluator.Run([F32("x", [0f, 1f], 2)])[0].Value.Span<float>().ToArray());
    }

    [Fact]
    public void ProductPlansFollowEachCallersShapesAcrossRuns()
    {
        // Two linear calls share the matmul statement of the fragment body with different shapes ([S, 8] x [3, 8]^T and
        // [S, 3] x [5, 3]^T), and S changes from run to run.
        float[] w1 = [.. Enumerable.Range(0, 3 * 8).Select(i => ((i * 7) % 11) - 5f)];
        float[] w2 = [.. Enumerable.Range(0, 5 * 3).Select(i => ((i * 5) % 9) * 0.25f)];
        var g = new GraphFixture().SymbolicInput("x", DType.F32, "S", "8").Constant("w1", w1, 3, 8).Constant("w2", w2, 5, 3);
        g.Op("h", "linear", R("x"), R("w1"));
        g.Op("y", "linear", R("h"), R("w2"));
        g.Output("h", "y");
        var evaluator = new GraphEvaluator(g.Graph, new EvaluationOptions { MaxDegreeOfParallelism = 1 });
        foreach (int rows in new[] { 1, 4, 1, 3 })
        {
            float[] x = [.. Enumerable.Range(0, rows * 8).Select(i => (i % 13) - 6.5f)];
            float[] h = Linear(x, rows, 8, w1, 3);
            float[] y = Linear(h, rows, 3, w2, 5);
            IReadOnlyList<NamedTensor> outputs = evaluator.Run([F32("x", x, rows, 8)]);
            Assert.Equal(new[] { rows, 3 }, outputs[0].Value.Shape.ToArray());
            Assert.Equal(h, outputs[0].Value.Span<float>().ToArray());
            Assert.Equal(new[] { rows, 5 }, outputs[1].Value.Shape.ToArray());
            Assert.Equal(y, outputs[1].Value.Span<float>().ToArray());
        }
    }

    // x [m, k] times w [n, k] transposed, each output one chain of fused multiply-adds over k in order (the
    // evaluator's rule), plus the default bias 0.
    private static float[] Linear(float[] x, int m, int k, float[] w, int n)
    {
        var y = new float[m * n];
        for (int i = 0; i < m; i++)
        {
            for (int j = 0; j < n; j++)
            {
                float s = 0;
                for (int p = 0; p < k; p++)
                {
                    s = MathF.FusedMultiplyAdd(x[(i * k) + p], w[(j * k) + p], s);
                }

                y[(i * n) + j] = s + 0f;
            }
        }

        return y;
    }
}
