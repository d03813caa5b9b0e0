using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Evaluation.Kernels;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

public class OperatorTests
{
    private static float[] Seq(int n, float scale = 0.1f, float offset = -1f) =>
        Enumerable.Range(0, n).Select(i => offset + (scale * ((i * 7) % 23))).ToArray();

    [Fact]
    public void LinearIsMatmulWithTransposedFilterPlusBias()
    {
        float[] x = Seq(2 * 5);
        float[] w = Seq(3 * 5, 0.05f, -0.4f);
        float[] b = [0.5f, -1f, 2f];
        var g = new GraphFixture().Input("x", DType.F32, 2, 5).Constant("w", w, 3, 5).Constant("b", b, 1, 3);
        g.Op("y", "linear", R("x"), R("w"), R("b"));
        g.Output("y");
        float[] y = g.RunSingle(F32("x", x, 2, 5)).Span<float>().ToArray();
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 3; j++)
            {
                double expected = b[j] + Enumerable.Range(0, 5).Sum(k => (double)x[(i * 5) + k] * w[(j * 5) + k]);
                Assert.Equal(expected, y[(i * 3) + j], 5);
            }
        }
    }

    [Fact]
    public void BatchedMatmulBroadcastsLeadingAxesAndHonoursTranspose()
    {
        // A [2,1,2,3] (transposed: M=3, K=2), B [1,2,4,2] (transposed: N=4, K=2) -> C [2,2,3,4]
        float[] a = Seq(2 * 2 * 3);
        float[] bv = Seq(2 * 4 * 2, 0.3f, 0.2f);
        var g = new GraphFixture().Input("a", DType.F32, 2, 1, 2, 3).Input("b", DType.F32, 1, 2, 4, 2);
        g.Op("c", "matmul", R("a"), R("b")).With("transposeA", Arg.Bool(true)).With("transposeB", Arg.Bool(true));
        g.Output("c");
        TensorValue c = g.RunSingle(F32("a", a, 2, 1, 2, 3), F32("b", bv, 1, 2, 4, 2));
        Assert.Equal(new[] { 2, 2, 3, 4 }, c.Shape.ToArray());
        float[] got = c.Span<float>().ToArray();
        for (int p = 0; p < 2; p++)
        {
            for (int q = 0; q < 2; q++)
            {
                for (int m = 0; m < 3; m++)
                {
                    for (int n = 0; n < 4; n++)
                    {
                        float s = 0;
                        for (int k = 0; k < 2; k++)
                        {
                            s += a[(p * 6) + (k * 3) + m] * bv[(q * 8) + (n * 2) + k];
                        }

                        Assert.Equal(s, got[(((((p * 2) + q) * 3) + m) * 4) + n], 5);
                    }
                }
            }
        }
    }

    [Fact]
    public void EinsumWithF16AccumulatorRoundsTheExactSumOnceNotEachStep()
    {
        // acc = 'f16' is evaluated as f32 products and sums rounded once to f16 (ops-in-goldens.md: how the f16 goldens
        // are reproduced). Inputs are multiples of 2^-6 in [-1, 1] over 16 terms: exact in f16, and every f32 partial
        // sum is exact, so the expected value is the exact (double) dot product rounded once to f16 — while rounding
        // each product and partial sum to f16 (tract's reference evaluation) gives a different result for many of them.
        var rng = new Random(2024);
        float[] q = [.. Enumerable.Range(0, 1 * 2 * 3 * 16).Select(_ => rng.Next(-64, 65) / 64f)];
        float[] k = [.. Enumerable.Range(0, 1 * 2 * 5 * 16).Select(_ => rng.Next(-64, 65) / 64f)];
        var g = new GraphFixture().Input("q", DType.F32, 1, 2, 3, 16).Input("k", DType.F32, 1, 2, 5, 16);
        g.Op("s", "tract_core_einsum").With("inputs", Arg.Array(R("q"), R("k"))).With("expr", Arg.String("bcij,bckj->bcik")).With("acc", Arg.String("f16"));
        g.Output("s");
        TensorValue s = g.RunSingle(F32("q", q, 1, 2, 3, 16), F32("k", k, 1, 2, 5, 16));
        Assert.Equal(DatumType.F16, s.Type);
        Assert.Equal(new[] { 1, 2, 3, 5 }, s.Shape.ToArray());
        Half[] got = s.Span<Half>().ToArray();
        int discriminating = 0;
        for (int c = 0; c < 2; c++)
        {
            for (int i = 0; i < 3; i++)
            {
                for (int kk = 0; kk < 5; kk++)
                {
                    double exact = 0;
                    Half perStep = Half.Zero;
                    for (int j = 0; j < 16; j++)
                    {
                        double product = (double)q[(((c * 3) + i) * 16) + j] * k[(((c * 5) + kk) * 16) + j];
                        exact += product;
                        perStep = (Half)((double)perStep + (double)(Half)product);
                    }

                    Half once = (Half)exact;
                    discriminating += once == perStep ? 0 : 1;
                    Half actual = got[(((c * 3) + i) * 5) + kk];
                    Assert.True(BitConverter.HalfToUInt16Bits(once) == BitConverter.HalfToUInt16Bits(actual), $"[{c},{i},{kk}]: got {actual}, expected {once} (per-step rounding gives {perStep})");
                }
            }
        }

        // The inputs really tell the two accumulations apart.
        Assert.True(discriminating >= 5, $"only {discriminating} of 30 outputs differ between one rounding and per-step rounding");
    }

    [Fact]
    public void ConvWithPaddingStrideAndBiasMatchesDirectFormula()
    {
        float[] x = Seq(1 * 2 * 4 * 4);
        float[] w = Seq(3 * 2 * 3 * 3, 0.05f, -0.5f);
        float[] b = [0.1f, 0.2f, 0.3f];
        var g = new GraphFixture().Input("x", DType.F32, 1, 2, 4, 4).Constant("w", w, 3, 2, 3, 3).Constant("b", b, 3);
        g.Op("y", "conv", R("x"), R("w"), R("b"))
            .With("padding", Arg.Array(Arg.Tuple(I(1), I(1)), Arg.Tuple(I(1), I(1))))
            .With("stride", Arg.Ints(2, 2)).With("dilation", Arg.Ints(1, 1)).With("groups", I(1)).With("border", Arg.String("constant"));
        g.Output("y");
        TensorValue y = g.RunSingle(F32("x", x, 1, 2, 4, 4));
        Assert.Equal(new[] { 1, 3, 2, 2 }, y.Shape.ToArray());
        float[] got = y.Span<float>().ToArray();
        for (int o = 0; o < 3; o++)
        {
            for (int oh = 0; oh < 2; oh++)
            {
                for (int ow = 0; ow < 2; ow++)
                {
                    double s = b[o];
                    for (int c = 0; c < 2; c++)
                    {
                        for (int kh = 0; kh < 3; kh++)
                        {
                            for (int kw = 0; kw < 3; kw++)
                            {
                                int ih = (oh * 2) - 1 + kh;
                                int iw = (ow * 2) - 1 + kw;
                                if (ih is >= 0 and < 4 && iw is >= 0 and < 4)
                                {
                                    s += x[(((c * 4) + ih) * 4) + iw] * w[(((((o * 2) + c) * 3) + kh) * 3) + kw];
                                }
                            }
                        }
                    }

                    Assert.Equal(s, got[(((o * 2) + oh) * 2) + ow], 5);
                }
            }
        }
    }

    [Fact]
    public void QuantizedConvAccumulatesInIntegersAndRequantizesHalfToEven()
    {
        // One input channel of QU8 (zp 2, scale 0.5), kernel QI8 (zp 0, scale 0.25), i32 bias, output QU8 (zp 1, scale 0.5).
        var g = new GraphFixture().Input("x", DType.F32, 1, 1, 4)
            .Constant<sbyte>("w", DType.I8, [1, -2, 3], 1, 1, 3)
            .Constant<int>("b", DType.I32, [4], 1);
        g.Graph.Quantization["xq"] = new QuantInfo { ZeroPoint = 2, Scale = 0.5, Bits = 8, Signed = false };
        g.Graph.Quantization["w"] = new QuantInfo { ZeroPoint = 0, Scale = 0.25, Bits = 8, Signed = true };
        g.Graph.Quantization["y"] = new QuantInfo { ZeroPoint = 1, Scale = 0.5, Bits = 8, Signed = false };
        g.Op("xq", "tract_core_cast", R("x"));
        g.Op("y", "conv", R("xq"), R("w"), R("b")).With("padding", Arg.Array(Arg.Tuple(I(0), I(0))));
        g.Op("out", "tract_core_cast", R("y")).With("to", Arg.String("f32"));
        g.Output("y", "out");
        // x = [1.0, 2.25, -1, 3] -> codes round_half_even(x / 0.5 + 2) = [4, 6 (6.5 -> 6), 0, 8]
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", [1.0f, 2.25f, -1f, 3f], 1, 1, 4));
        TensorValue y = r[0].Value;
        Assert.Equal(DatumType.QU8(1, 0.5f), y.Type);
        Assert.Equal(new[] { 1, 1, 2 }, y.Shape.ToArray());
        // acc0 = 4 + (2*1 + 4*-2 + -2*3) = -8 -> -8 * (0.5*0.25/0.5) = -2 -> -2 + 1 = -1 -> clamped 0
        // acc1 = 4 + (4*1 + -2*-2 + 6*3) = 30 -> 7.5 -> 8 (half to even) -> 9
        Assert.Equal(new byte[] { 0, 9 }, y.Span<byte>().ToArray());
        Assert.Equal(new[] { -0.5f, 4f }, r[1].Value.Span<float>().ToArray());
    }

    [Fact]
    public void MaxPoolTakesWindowMaximum()
    {
        float[] x = Seq(1 * 1 * 4 * 4);
        var g = new GraphFixture().Input("x", DType.F32, 1, 1, 4, 4);
        g.Op("y", "max_pool", R("x")).With("size", Arg.Ints(1, 1, 2, 2)).With("stride", Arg.Ints(1, 1, 2, 2))
            .With("padding", Arg.Array(Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0))))
            .With("border", Arg.String("constant"));
        g.Output("y");
        float[] y = g.RunSingle(F32("x", x, 1, 1, 4, 4)).Span<float>().ToArray();
        for (int i = 0; i < 2; i++)
        {
            for (int j = 0; j < 2; j++)
            {
                float m = new[] { x[(2 * i * 4) + (2 * j)], x[(2 * i * 4) + (2 * j) + 1], x[(((2 * i) + 1) * 4) + (2 * j)], x[(((2 * i) + 1) * 4) + (2 * j) + 1] }.Max();
                Assert.Equal(m, y[(i * 2) + j]);
            }
        }
    }

    [Fact]
    public void SliceFollowsTractNegativeBeginAndZeroEndRules()
    {
        var g = new GraphFixture().Input("x", DType.F32, 6);
        g.Op("a", "slice", R("x")).With("axes", Arg.Ints(0)).With("begin", Arg.Ints(-2)).With("end", Arg.Ints(0));
        g.Op("b", "slice", R("x")).With("axes", Arg.Ints(0)).With("begin", Arg.Ints(1)).With("end", Arg.Ints(100)).With("stride", Arg.Ints(2));
        g.Output("a", "b");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", [0, 1, 2, 3, 4, 5], 6));
        Assert.Equal(new float[] { 4, 5 }, r[0].Value.Span<float>().ToArray());
        Assert.Equal(new float[] { 1, 3, 5 }, r[1].Value.Span<float>().ToArray());
    }

    [Fact]
    public void ReshapeTileTransposeConcat()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2, 3);
        g.Op("r", "reshape", R("x")).With("shape", Arg.Ints(0, -1, 1));
        g.Op("t", "tile", R("r")).With("repeats", Arg.Ints(1, 1, 2));
        g.Op("p", "transpose", R("t")).With("axes", Arg.Ints(2, 0, 1));
        g.Op("c", "concat", Arg.Array(R("x"), R("x"))).With("axis", I(1));
        g.Output("p", "c");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", [1, 2, 3, 4, 5, 6], 2, 3));
        Assert.Equal(new[] { 2, 2, 3 }, r[0].Value.Shape.ToArray());
        Assert.Equal(new float[] { 1, 2, 3, 4, 5, 6, 1, 2, 3, 4, 5, 6 }, r[0].Value.Span<float>().ToArray());
        Assert.Equal(new float[] { 1, 2, 3, 1, 2, 3, 4, 5, 6, 4, 5, 6 }, r[1].Value.Span<float>().ToArray());
    }

    [Fact]
    public void SoftmaxUsesMaxShiftAndReciprocalOfSum()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2, 3);
        g.Op("y", "softmax", R("x")).With("axes", Arg.Ints(1));
        g.Output("y");
        float[] x = [1f, 2f, 3f, -1f, 0f, 100f];
        float[] y = g.RunSingle(F32("x", x, 2, 3)).Span<float>().ToArray();
        for (int row = 0; row < 2; row++)
        {
            float m = x.Skip(row * 3).Take(3).Max();
            // exp is softmax's (within 1 ulp of MathF.Exp), the sum in its 16-lane order: lanes 0, 1, 2 hold e0, e1,
            // e2 and fold as (e0 + e2) + e1.
            float[] e = x.Skip(row * 3).Take(3).Select(v => SoftmaxExp.Exp(v - m)).ToArray();
            float s = (e[0] + e[2]) + e[1];
            for (int i = 0; i < 3; i++)
            {
                Assert.Equal(e[i] * (1f / s), y[(row * 3) + i]);
            }
        }
    }

    [Fact]
    public void SigmoidIsTractsRationalFitAndCloseToTheExactFunction()
    {
        for (float x = -30f; x <= 30f; x += 0.37f)
        {
            double exact = 1.0 / (1.0 + Math.Exp(-x));
            Assert.InRange(Activations.Sigmoid(x), exact - 3e-7, exact + 3e-7);
            Assert.InRange((float)Activations.Sigmoid((Half)x), exact - 2e-3, exact + 2e-3);
        }

        Assert.Equal(0.5f, Activations.Sigmoid(0f));
        Assert.Equal(1f, Activations.Sigmoid(40f));
        Assert.Equal(0f, Activations.Sigmoid(-40f));
    }

    [Fact]
    public void GatherTakesRowsAndWrapsNegativeIndices()
    {
        var g = new GraphFixture().Input("ids", DType.I64, 1, 3).Constant("table", Seq(4 * 2), 4, 2);
        g.Op("e", "tract_core_gather", R("table"), R("ids")).With("axis", I(0));
        g.Output("e");
        TensorValue e = g.RunSingle(new NamedTensor("ids", TensorValue.Create(DatumType.I64, [1, 3], new long[] { 2, 0, -1 })));
        float[] t = Seq(8);
        Assert.Equal(new[] { 1, 3, 2 }, e.Shape.ToArray());
        Assert.Equal(new[] { t[4], t[5], t[0], t[1], t[6], t[7] }, e.Span<float>().ToArray());
    }

    [Fact]
    public void IntegerProductsAndSumsAreExactIn64Bits()
    {
        // Values beyond 2^53, where a fold through double loses the low bits: each +1 would vanish, and
        // (2^31 + 1)^2 = 2^62 + 2^32 + 1 would lose its last 1.
        const long big = 1L << 53;
        const long odd = (1L << 31) + 1;
        var g = new GraphFixture().Input("x", DType.I64, 1, 4).Input("y", DType.I64, 1, 4);
        g.Op("p", "mul", R("x"), R("y"));
        g.Op("s", "sum_reduce", R("x")).With("axes", Arg.Ints(1));
        g.Output("p");
        g.Output("s");
        IReadOnlyList<NamedTensor> r = g.Run(
            new NamedTensor("x", TensorValue.Create(DatumType.I64, [1, 4], new long[] { big, 1, 1, odd })),
            new NamedTensor("y", TensorValue.Create(DatumType.I64, [1, 4], new long[] { 1, 3, -5, odd })));
        Assert.Equal(new long[] { big, 3, -5, (1L << 62) + (1L << 32) + 1 }, r[0].Value.Span<long>().ToArray());
        Assert.Equal(new long[] { big + 2 + odd }, r[1].Value.Span<long>().ToArray());
    }

    [Fact]
    public void RangeOfDimensionsIsI64()
    {
        var g = new GraphFixture().SymbolicInput("x", DType.F32, "1", "S");
        g.Graph.Symbols.Add("S");
        g.Op("r", "tract_core_range", I(0), R("S")).With("step", I(1));
        g.Output("r");
        TensorValue r = g.RunSingle(F32("x", new float[5], 1, 5));
        Assert.Equal(DatumType.I64, r.Type);
        Assert.Equal(new long[] { 0, 1, 2, 3, 4 }, r.Span<long>().ToArray());
    }

    [Fact]
    public void TriluUpperZeroesBelowTheKthDiagonal()
    {
        var g = new GraphFixture().Input("x", DType.F32, 3, 3);
        g.Op("y", "tract_core_trilu", R("x"), I(1), Arg.Bool(true));
        g.Output("y");
        float[] y = g.RunSingle(F32("x", [1, 2, 3, 4, 5, 6, 7, 8, 9], 3, 3)).Span<float>().ToArray();
        Assert.Equal(new float[] { 0, 2, 3, 0, 0, 6, 0, 0, 0 }, y);
    }

    [Fact]
    public void BatchNormalizationUsesTractsOperationOrder()
    {
        float[] x = Seq(1 * 2 * 2 * 1);
        var g = new GraphFixture().Input("x", DType.F32, 1, 2, 2, 1)
            .Constant("mean", [0.1f, -0.2f], 1, 2, 1, 1).Constant("var", [0.5f, 2f], 1, 2, 1, 1)
            .Constant("offset", [1f, 2f], 1, 2, 1, 1).Constant("scale", [3f, 4f], 1, 2, 1, 1)
            .Constant<double>("eps", DType.F64, [1e-5], []);
        g.Op("y", "batch_normalization", R("x"), R("mean"), R("var"), R("offset"), R("scale")).With("epsilon", R("eps"));
        g.Output("y");
        float[] y = g.RunSingle(F32("x", x, 1, 2, 2, 1)).Span<float>().ToArray();
        float[] mean = [0.1f, -0.2f], vars = [0.5f, 2f], offset = [1f, 2f], scale = [3f, 4f];
        for (int i = 0; i < 4; i++)
        {
            int c = i / 2;
            float expected = offset[c] + (scale[c] * (x[i] - mean[c]) * (1f / MathF.Sqrt(vars[c] + (float)1e-5)));
            Assert.Equal(expected, y[i]);
        }
    }

}
