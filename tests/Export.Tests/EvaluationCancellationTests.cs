using TorchToNnef.Export.Evaluation;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>An evaluation stops between statements once its token is cancelled (t2n verify on Ctrl-C).</summary>
public class EvaluationCancellationTests
{
    [Fact]
    public void ACancelledEvaluationStopsBeforeTheNextStatement()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2);
        g.Op("a", "relu", R("x"));
        g.Op("y", "neg", R("a"));
        g.Output("y");
        using var cts = new CancellationTokenSource();
        var evaluator = new GraphEvaluator(g.Graph, new EvaluationOptions { Cancellation = cts.Token });
        using (Tensor y = evaluator.Run([F32("x", [1, -2], 2)])[0].Value.ToTensor())
        {
            Assert.Equal([-1f, 0f], y.ToFloatArray());
        }

        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => evaluator.Run([F32("x", [1, -2], 2)]));
    }
}
