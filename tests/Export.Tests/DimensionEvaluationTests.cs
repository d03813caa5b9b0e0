using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>Dimension expressions in inputs and arguments evaluate with the symbols bound from the fed inputs.</summary>
public class DimensionEvaluationTests
{
    [Fact]
    public void ExpressionDimensionsAreCheckedAndExpressionArgumentsEvaluate()
    {
        var g = new GraphFixture().SymbolicInput("a", DType.F32, "S").SymbolicInput("b", DType.F32, "P").SymbolicInput("c", DType.F32, "S+P");
        g.Op("t", "tile", R("a")).With("repeats", Arg.Dims((Dim.Symbol("S") + Dim.Symbol("P") + 1) / 2));
        g.Output("t");
        float[] a = [1, 2, 3];
        // S = 3, P = 2: (S+P+1)/2 = 3 repeats of a.
        TensorValue t = g.RunSingle(F32("a", a, 3), F32("b", new float[2], 2), F32("c", new float[5], 5));
        Assert.Equal(new float[] { 1, 2, 3, 1, 2, 3, 1, 2, 3 }, t.Span<float>().ToArray());

        var e = Assert.Throws<InvalidGraphException>(() => g.Run(F32("a", a, 3), F32("b", new float[2], 2), F32("c", new float[4], 4)));
        Assert.Contains("P+S", e.Message);
    }
}
