using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

public class BinaryTypingTests
{
    [Fact]
    public void F16ActivationPlusFloatLiteralStaysF16AndRoundsOnce()
    {
        var g = new GraphFixture().Input("x", DType.F16, 3);
        g.Op("y", "add", R("x"), F(0.1));
        g.Output("y");
        Half[] x = [(Half)1.0f, (Half)2.5f, (Half)(-3.0f)];
        TensorValue y = g.RunSingle(new NamedTensor("x", TensorValue.Create(DatumType.F16, [3], x)));
        Assert.Equal(DatumType.F16, y.Type);
        // The literal is cast to f16 first (tract casts both operands to the operating type), then added in f32 and rounded.
        Half tenth = (Half)0.1f;
        Assert.Equal(x.Select(v => (Half)((float)v + (float)tenth)).ToArray(), y.Span<Half>().ToArray());
    }

    [Fact]
    public void F32PlusRankZeroF64ConstantTakesF32()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2)
            .Constant<double>("eps", DType.F64, [1e-5], []);
        g.Op("y", "add", R("x"), R("eps"));
        g.Output("y");
        TensorValue y = g.RunSingle(F32("x", [1f, 2f], 2));
        Assert.Equal(DatumType.F32, y.Type);
        Assert.Equal(new[] { 1f + (float)1e-5, 2f + (float)1e-5 }, y.Span<float>().ToArray());
    }

    [Fact]
    public void TDimWithFloatIsAnErrorNamingTheNode()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2);
        g.Op("s", "tract_core_shape_of", R("x"));
        g.Op("y", "mul", R("x"), R("s"));
        g.Output("y");
        var e = Assert.Throws<InvalidGraphException>(() => g.Run(F32("x", [1f, 2f], 2)));
        Assert.Contains("'y'", e.Message);
        Assert.Contains("no common type", e.Message);
    }

    [Fact]
    public void LowerRankOperandGetsTrailingUnitAxes()
    {
        // tract aligns ranks by appending axes: b = [10, 20] becomes [2, 1] and broadcasts along the columns.
        var g = new GraphFixture().Input("a", DType.F32, 2, 3).Input("b", DType.F32, 2);
        g.Op("y", "add", R("a"), R("b"));
        g.Output("y");
        TensorValue y = g.RunSingle(F32("a", [1, 2, 3, 4, 5, 6], 2, 3), F32("b", [10, 20], 2));
        Assert.Equal(new[] { 2, 3 }, y.Shape.ToArray());
        Assert.Equal(new float[] { 11, 12, 13, 24, 25, 26 }, y.Span<float>().ToArray());
    }

    [Fact]
    public void IncompatibleShapesAreAClearError()
    {
        var g = new GraphFixture().Input("a", DType.F32, 2, 3).Input("b", DType.F32, 3);
        g.Op("y", "add", R("a"), R("b"));
        g.Output("y");
        var e = Assert.Throws<InvalidGraphException>(() => g.Run(F32("a", new float[6], 2, 3), F32("b", new float[3], 3)));
        Assert.Contains("'y'", e.Message);
        Assert.Contains("broadcast", e.Message);
    }

    [Fact]
    public void FloatDivisionIsMultiplicationByTheReciprocal()
    {
        var g = new GraphFixture().Input("a", DType.F32, 4).Input("b", DType.F32, 4);
        g.Op("y", "div", R("a"), R("b"));
        g.Output("y");
        float[] a = [1f, 10f, 7f, 0.3f];
        float[] b = [3f, 3f, 49f, 0.7f];
        TensorValue y = g.RunSingle(F32("a", a, 4), F32("b", b, 4));
        Assert.Equal(a.Zip(b, (x, d) => x * (1f / d)).ToArray(), y.Span<float>().ToArray());
    }

    [Fact]
    public void IntegerLiteralsAreDimensionsAndTheirArithmeticIsExact()
    {
        var g = new GraphFixture().Input("x", DType.F32, 6, 4);
        g.Op("s", "tract_core_shape_of", R("x"));
        g.Op("s0", "slice", R("s")).With("axes", Arg.Ints(0)).With("begin", Arg.Ints(0)).With("end", Arg.Ints(1));
        g.Op("d", "squeeze", R("s0")).With("axes", Arg.Ints(0));
        g.Op("h", "div", R("d"), I(4));
        g.Op("t", "mul", R("h"), I(3));
        g.Output("t");
        TensorValue t = g.RunSingle(F32("x", new float[24], 6, 4));
        Assert.Equal(DatumType.TDim, t.Type);
        Assert.Equal(3L, t.Span<long>()[0]); // 6 / 4 = 1 (truncated), * 3
    }

    [Fact]
    public void MaxIgnoresNaNAsRustDoes()
    {
        var g = new GraphFixture().Input("x", DType.F32, 3);
        g.Op("y", "relu", R("x"));
        g.Output("y");
        TensorValue y = g.RunSingle(F32("x", [float.NaN, -1f, 2f], 3));
        Assert.Equal(new[] { 0f, 0f, 2f }, y.Span<float>().ToArray());
    }

    [Fact]
    public void SqrIsAnExactSquare()
    {
        var g = new GraphFixture().Input("x", DType.F32, 3);
        g.Op("y", "sqr", R("x"));
        g.Output("y");
        float[] x = [1.1f, -3.3f, 1e-3f];
        TensorValue y = g.RunSingle(F32("x", x, 3));
        Assert.Equal(x.Select(v => v * v).ToArray(), y.Span<float>().ToArray());
    }
}
