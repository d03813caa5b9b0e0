using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// <c>sum_reduce(normalize = true)</c> (and <c>mean_reduce</c>, its stdlib fragment) is the plain sum divided by the
/// reduced volume as tract's decluttered division computes it: bit for bit what <c>div(sum_reduce(x), volume)</c> gives,
/// for volumes whose reciprocal is not exact, one axis and several, f32 and f16.
/// </summary>
public class ReduceNormalizeTests
{
    [Theory]
    [InlineData(DType.F32, new long[] { 3, 7 }, new[] { 1 })]
    [InlineData(DType.F32, new long[] { 5, 3, 4 }, new[] { 0, 2 })]
    [InlineData(DType.F32, new long[] { 2, 33, 5 }, new[] { 1 })]
    [InlineData(DType.F16, new long[] { 3, 7 }, new[] { 1 })]
    public void NormalizedSumIsTheSumDividedByTheVolume(DType dtype, long[] shape, int[] axes)
    {
        int count = (int)shape.Aggregate(1L, (a, b) => a * b);
        long volume = axes.Aggregate(1L, (p, a) => p * shape[a]);
        var rng = new Random(7 + count);
        float[] x = [.. Enumerable.Range(0, count).Select(_ => (rng.NextSingle() * 20) - 10)];
        var g = new GraphFixture().Input("x", dtype, shape);
        g.Op("m", "mean_reduce", R("x")).With("axes", Arg.Ints([.. axes.Select(a => (long)a)]));
        g.Op("n", "sum_reduce", R("x")).With("axes", Arg.Ints([.. axes.Select(a => (long)a)])).With("normalize", Arg.Bool(true));
        g.Op("s", "sum_reduce", R("x")).With("axes", Arg.Ints([.. axes.Select(a => (long)a)]));
        g.Op("d", "div", R("s"), F(volume));
        g.Output("m", "n", "d");
        TensorValue input = dtype == DType.F16
            ? TensorValue.Create(DatumType.F16, [.. shape.Select(d => (int)d)], x.Select(v => (Half)v).ToArray())
            : TensorValue.F32([.. shape.Select(d => (int)d)], x);
        IReadOnlyList<NamedTensor> r = g.Run(new NamedTensor("x", input));
        float[] expected = r[2].Value.ToFloats();
        Assert.Equal(expected, r[0].Value.ToFloats());
        Assert.Equal(expected, r[1].Value.ToFloats());
        Assert.Equal(r[2].Value.Shape.ToArray(), r[0].Value.Shape.ToArray());
    }
}
