using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// EvaluationOptions.Progress (t2n verify's progress line) hears once from each statement of the graph body, in order,
/// on the evaluating thread; statements inside a fragment count as the invocation.
/// </summary>
public class EvaluationProgressTests
{
    [Fact]
    public void EachGraphStatementIsReportedOnceInOrderAndFragmentBodiesAreNot()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2);
        var twice = new Fragment("twice")
        {
            Body = [new Node("mul", "a").With(R("x")).With(F(2.0)), new Node("add", "y").With(R("a")).With(F(0.0))],
        };
        twice.Parameters.Add(new FragmentParameter("x", "tensor<scalar>"));
        twice.Results.Add(new FragmentResult("y", "tensor<scalar>"));
        g.Graph.Fragments.Add(twice);
        g.Op("r", "relu", R("x"));
        g.Op("t", "twice", R("r"));
        g.Op("y", "neg", R("t"));
        g.Output("y");
        var reports = new List<EvaluationProgress>();
        int thread = Environment.CurrentManagedThreadId;
        var sink = new Sink(p =>
        {
            Assert.Equal(thread, Environment.CurrentManagedThreadId);
            reports.Add(p);
        });
        var evaluator = new GraphEvaluator(g.Graph, new EvaluationOptions { Progress = sink });
        using (Tensor y = evaluator.Run([F32("x", [1, -2], 2)])[0].Value.ToTensor())
        {
            Assert.Equal([-2f, 0f], y.ToFloatArray());
        }

        int count = g.Graph.Nodes.Count;
        Assert.Equal([.. Enumerable.Range(1, count)], reports.Select(r => r.Statements));
        Assert.All(reports, r => Assert.Equal(count, r.StatementCount));
        Assert.Equal(g.Graph.Nodes.Select(n => n.Name), reports.Select(r => r.Node));
        Assert.Contains("t", reports.Select(r => r.Node));
        Assert.DoesNotContain("a", reports.Select(r => r.Node));
    }

    // Progress<T> would post to the thread pool; the evaluator reports synchronously.
    private sealed class Sink(Action<EvaluationProgress> report) : IProgress<EvaluationProgress>
    {
        public void Report(EvaluationProgress value) => report(value);
    }
}
