using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>
/// The fast 1-D/2-D paths of convolution, deconvolution and pooling against independent expectations, bit for bit: a
/// 2-D convolution (direct depthwise and small-group kernel, 1x1 product on the input itself, product with the packed
/// patch operand) against the same convolution with a unit depth axis (the generic path: patch matrix built whole);
/// 2-D pooling against the generic path the same way; deconvolution against its literal definition.
/// </summary>
public class ConvPoolPathTests
{
    public static TheoryData<int, int, int, int, int, int, int, int, int, int> ConvCases => new()
    {
        // channels, outChannels, groups, h, w, k, stride, dilation, pad, seed
        { 16, 16, 16, 9, 37, 3, 1, 1, 1, 1 },   // depthwise, stride 1
        { 12, 12, 12, 11, 70, 3, 2, 1, 1, 2 },  // depthwise, stride 2 (phase-split planes)
        { 8, 8, 8, 7, 21, 5, 1, 2, 4, 3 },      // depthwise 5x5, dilated
        { 6, 4, 2, 6, 19, 3, 1, 1, 1, 4 },      // two groups (direct)
        { 5, 7, 1, 6, 23, 1, 1, 1, 0, 5 },      // 1x1 stride 1: the input is the product's operand
        { 30, 9, 1, 5, 33, 3, 1, 1, 1, 6 },     // 270 taps: the product's summed axis spans two packed blocks
        { 3, 16, 1, 13, 41, 3, 2, 1, 1, 7 },    // first layer of a CNN: stride 2
        { 4, 6, 1, 6, 17, 1, 2, 1, 0, 8 },      // 1x1 stride 2: patch operand
        { 160, 4, 2, 3, 9, 1, 1, 1, 0, 9 },     // groups of 80 channels (product per group)
        { 5, 1, 1, 4, 29, 1, 1, 1, 0, 10 },     // one output channel, 1x1: a row product, bias added after it
        { 7, 1, 1, 5, 12, 3, 1, 1, 1, 11 },     // one output channel, 3x3: blocked product with edge tiles
    };

    [Theory]
    [MemberData(nameof(ConvCases))]
    public void TwoDimensionalConvGivesTheBitsOfTheGenericPath(int channels, int outChannels, int groups, int h, int w, int k, int stride, int dilation, int pad, int seed)
    {
        var rng = new Random(seed);
        float[] x = Values(rng, channels * h * w);
        float[] weights = Values(rng, outChannels * (channels / groups) * k * k);
        float[] bias = Values(rng, outChannels);
        int oh = ((h + (2 * pad) - (((k - 1) * dilation) + 1)) / stride) + 1;
        int ow = ((w + (2 * pad) - (((k - 1) * dilation) + 1)) / stride) + 1;

        var flat = new GraphFixture().Input("x", DType.F32, 1, channels, h, w)
            .Constant("w", weights, outChannels, channels / groups, k, k).Constant("b", bias, 1, outChannels);
        flat.Op("y", "conv", R("x"), R("w"), R("b"))
            .With("padding", Arg.Array(Arg.Tuple(I(pad), I(pad)), Arg.Tuple(I(pad), I(pad))))
            .With("stride", Arg.Ints(stride, stride)).With("dilation", Arg.Ints(dilation, dilation)).With("groups", I(groups)).With("border", Arg.String("constant"));
        flat.Output("y");
        TensorValue y2 = flat.RunSingle(F32("x", x, 1, channels, h, w));

        var deep = new GraphFixture().Input("x", DType.F32, 1, channels, 1, h, w)
            .Constant("w", weights, outChannels, channels / groups, 1, k, k).Constant("b", bias, 1, outChannels);
        deep.Op("y", "conv", R("x"), R("w"), R("b"))
            .With("padding", Arg.Array(Arg.Tuple(I(0), I(0)), Arg.Tuple(I(pad), I(pad)), Arg.Tuple(I(pad), I(pad))))
            .With("stride", Arg.Ints(1, stride, stride)).With("dilation", Arg.Ints(1, dilation, dilation)).With("groups", I(groups)).With("border", Arg.String("constant"));
        deep.Output("y");
        TensorValue y3 = deep.RunSingle(F32("x", x, 1, channels, 1, h, w));

        Assert.Equal(new[] { 1, outChannels, oh, ow }, y2.Shape.ToArray());
        AssertSameBits(y3.Span<float>().ToArray(), y2.Span<float>().ToArray());
    }

    [Theory]
    [InlineData(4, 6, 1, 5, 7, 2, 2, 1, 0, 0, 0, 11)]   // stride = kernel: no overlap (the detector's upsampling)
    [InlineData(4, 3, 1, 5, 6, 3, 2, 1, 1, 0, 1, 12)]   // overlapping cells, padding, one extra output cell
    [InlineData(4, 4, 2, 4, 5, 3, 3, 2, 0, 1, 2, 13)]   // groups, dilation, extra cells
    [InlineData(24, 1, 1, 6, 9, 2, 2, 1, 0, 0, 0, 14)]  // one output channel (a row product per cell)
    public void DeconvAddsEachCellsChainToTheBiasInCellOrder(int channels, int outChannels, int groups, int h, int w, int k, int stride, int dilation, int padBefore, int padAfter, int extra, int seed)
    {
        var rng = new Random(seed);
        int inPerGroup = channels / groups;
        int outPerGroup = outChannels / groups;
        float[] x = Values(rng, channels * h * w);
        float[] weights = Values(rng, outChannels * inPerGroup * k * k);
        float[] bias = Values(rng, outChannels);
        int oh = ((h - 1) * stride) + ((k - 1) * dilation) + 1 - padBefore - padAfter + extra;
        int ow = ((w - 1) * stride) + ((k - 1) * dilation) + 1 - padBefore - padAfter + extra;

        var g = new GraphFixture().Input("x", DType.F32, 1, channels, h, w)
            .Constant("w", weights, outChannels, inPerGroup, k, k).Constant("b", bias, 1, outChannels);
        g.Op("y", "deconv", R("x"), R("w"), R("b"))
            .With("padding", Arg.Array(Arg.Tuple(I(padBefore), I(padAfter)), Arg.Tuple(I(padBefore), I(padAfter))))
            .With("stride", Arg.Ints(stride, stride)).With("dilation", Arg.Ints(dilation, dilation)).With("groups", I(groups))
            .With("output_shape", Arg.Ints(oh, ow)).With("border", Arg.String("constant"));
        g.Output("y");
        float[] got = g.RunSingle(F32("x", x, 1, channels, h, w)).Span<float>().ToArray();

        var expected = new float[outChannels * oh * ow];
        for (int o = 0; o < outChannels; o++)
        {
            int group = o / outPerGroup;
            for (int q = 0; q < oh * ow; q++)
            {
                expected[(o * oh * ow) + q] = bias[o];
            }

            for (int ky = 0; ky < k; ky++)
            {
                for (int kx = 0; kx < k; kx++)
                {
                    for (int iy = 0; iy < h; iy++)
                    {
                        for (int ix = 0; ix < w; ix++)
                        {
                            int ty = (iy * stride) + (ky * dilation) - padBefore;
                            int tx = (ix * stride) + (kx * dilation) - padBefore;
                            if (ty < 0 || ty >= oh || tx < 0 || tx >= ow)
                            {
                                continue;
                            }

                            float chain = 0;
                            for (int il = 0; il < inPerGroup; il++)
                            {
                                int i = (group * inPerGroup) + il;
                                chain = MathF.FusedMultiplyAdd(weights[(((((o * inPerGroup) + il) * k) + ky) * k) + kx], x[(((i * h) + iy) * w) + ix], chain);
                            }

                            expected[(o * oh * ow) + (ty * ow) + tx] += chain;
                        }
                    }
                }
            }
        }

        AssertSameBits(expected, got);
    }

    [Theory]
    [InlineData(3, 9, 13, 3, 2, 1, 1, "constant", 21)]
    [InlineData(2, 2, 96, 2, 2, 1, 0, "ignore", 22)]
    [InlineData(2, 8, 11, 3, 1, 2, 2, "constant", 23)]
    [InlineData(4, 1, 17, 1, 1, 1, 0, "ignore", 24)]
    public void TwoDimensionalPoolingGivesTheBitsOfTheGenericPath(int channels, int h, int w, int k, int stride, int dilation, int pad, string border, int seed)
    {
        var rng = new Random(seed);
        float[] x = Values(rng, channels * h * w);
        x[rng.Next(x.Length)] = float.NaN;
        (TensorValue Max, TensorValue Index, TensorValue Sum, TensorValue Mean) flat = Pools(x, [channels, h, w], k, stride, dilation, pad, border, deep: false);
        (TensorValue Max, TensorValue Index, TensorValue Sum, TensorValue Mean) deep = Pools(x, [channels, h, w], k, stride, dilation, pad, border, deep: true);
        AssertSameBits(deep.Max.Span<float>().ToArray(), flat.Max.Span<float>().ToArray());
        Assert.Equal(deep.Index.Span<long>().ToArray(), flat.Index.Span<long>().ToArray());
        AssertSameBits(deep.Sum.Span<float>().ToArray(), flat.Sum.Span<float>().ToArray());
        AssertSameBits(deep.Mean.Span<float>().ToArray(), flat.Mean.Span<float>().ToArray());
    }

    // Values drawn only from NaN, ±0, ±inf and ±1: ties between +0 and -0 (the first one's bits stay), windows of NaN only
    // (the first NaN stays), NaN followed by numbers (the number wins), at borders with padding, strides and dilations.
    [Theory]
    [InlineData(3, 9, 13, 3, 2, 1, 1, "constant", 31)]
    [InlineData(2, 7, 7, 2, 1, 1, 0, "ignore", 32)]
    [InlineData(2, 8, 11, 3, 1, 2, 2, "constant", 33)]
    [InlineData(5, 74, 32, 3, 2, 1, 0, "ignore", 34)]
    public void TwoDimensionalPoolingOfSpecialValuesGivesTheBitsOfTheGenericPath(int channels, int h, int w, int k, int stride, int dilation, int pad, string border, int seed)
    {
        var rng = new Random(seed);
        float[] specials = [float.NaN, 0f, -0f, float.PositiveInfinity, float.NegativeInfinity, 1f, -1f];
        float[] x = [.. Enumerable.Range(0, channels * h * w).Select(_ => specials[rng.Next(specials.Length)])];
        x.AsSpan(0, w * 3).Fill(float.NaN); // whole windows of NaN in the first plane
        (TensorValue Max, TensorValue Index, TensorValue Sum, TensorValue Mean) flat = Pools(x, [channels, h, w], k, stride, dilation, pad, border, deep: false);
        (TensorValue Max, TensorValue Index, TensorValue Sum, TensorValue Mean) deep = Pools(x, [channels, h, w], k, stride, dilation, pad, border, deep: true);
        AssertSameBits(deep.Max.Span<float>().ToArray(), flat.Max.Span<float>().ToArray());
        Assert.Equal(deep.Index.Span<long>().ToArray(), flat.Index.Span<long>().ToArray());
    }

    private static (TensorValue, TensorValue, TensorValue, TensorValue) Pools(float[] x, int[] chw, int k, int stride, int dilation, int pad, string border, bool deep)
    {
        long[] shape = deep ? [1, chw[0], 1, chw[1], chw[2]] : [1, chw[0], chw[1], chw[2]];
        Arg Axes(int spatial) => deep ? Arg.Ints(1, 1, 1, spatial, spatial) : Arg.Ints(1, 1, spatial, spatial);
        Arg padding = deep
            ? Arg.Array(Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0)), Arg.Tuple(I(pad), I(pad)), Arg.Tuple(I(pad), I(pad)))
            : Arg.Array(Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0)), Arg.Tuple(I(pad), I(pad)), Arg.Tuple(I(pad), I(pad)));
        var g = new GraphFixture().Input("x", DType.F32, shape);
        var outputs = new Node("max_pool_with_index", "m", "i") { OutputForm = OutputForm.Tuple };
        outputs.With(R("x")).With("size", Axes(k)).With("stride", Axes(stride)).With("dilation", Axes(dilation))
            .With("padding", padding).With("border", Arg.String(border));
        g.Graph.Nodes.Add(outputs);
        foreach ((string name, bool normalize) in new[] { ("s", false), ("a", true) })
        {
            g.Op(name, "box", R("x")).With("size", Axes(k)).With("stride", Axes(stride)).With("dilation", Axes(dilation))
                .With("padding", padding).With("border", Arg.String(border)).With("normalize", Arg.Bool(normalize));
        }

        g.Output("m", "i", "s", "a");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", x, [.. shape.Select(d => (int)d)]));
        return (r[0].Value, r[1].Value, r[2].Value, r[3].Value);
    }

    private static float[] Values(Random rng, int count) => [.. Enumerable.Range(0, count).Select(_ => (rng.NextSingle() * 2) - 1)];

    private static void AssertSameBits(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(
                BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(actual[i]) || (float.IsNaN(expected[i]) && float.IsNaN(actual[i])),
                $"element {i}: expected {expected[i]:R}, got {actual[i]:R}");
        }
    }
}
