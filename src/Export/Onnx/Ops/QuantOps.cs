using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// Per-tensor 8-bit quantization as tract's <c>graph.quant</c> (<c>../shared/spec/graph-quant.md</c>):
/// <c>QuantizeLinear</c> is a <c>tract_core_cast</c> whose result carries a <c>zero_point_linear_quantize</c> entry
/// (QU8/QI8, round half to even and saturation, as ONNX), <c>DequantizeLinear</c> a cast back to f32 (of a constant:
/// the 8-bit weights are stored as they are, with their entry). <c>QLinearConv</c> and <c>QLinearMatMul</c> are the
/// same chain around a float convolution or product (the i32 bias dequantized with <c>x_scale · w_scale</c>), which
/// matches ONNX Runtime's integer kernels to one quantization step. Per-channel (or per-block) parameters are refused:
/// a <c>graph.quant</c> entry holds one scale and one zero point.
/// </summary>
internal static class QuantOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["QuantizeLinear"] = c => c.Out(Quantize(c, c.In(0), 1, 2, c.Hint()));
        t["DequantizeLinear"] = c => c.Out(Dequantize(c, c.In(0), 1, 2, c.Hint()));
        t["QLinearConv"] = QLinearConv;
        t["QLinearMatMul"] = QLinearMatMul;
    }

    /// <summary>The per-tensor parameters at inputs <paramref name="scaleInput"/> and <paramref name="zeroInput"/>.</summary>
    private static QuantInfo Params(NodeContext c, int scaleInput, int zeroInput, DType storage)
    {
        Known scale = c.Const(scaleInput, "the scale");
        Known? zero = c.Has(zeroInput) ? c.Const(zeroInput, "the zero point") : null;
        if (scale.Count != 1 || zero is { Count: not 1 })
        {
            throw c.Unsupported($"per-channel quantization (a scale of {scale.Count} values{(zero is null ? string.Empty : $", a zero point of {zero.Count}")}) is not supported: tract's graph.quant holds one scale and one zero point per tensor");
        }

        if (c.A.GetInt("block_size", 0) != 0)
        {
            throw c.Unsupported("blocked quantization is not supported (per-tensor only)");
        }

        DType type = zero?.DType ?? storage;
        if (type is not (DType.U8 or DType.I8))
        {
            throw c.Unsupported($"{type.Name()} quantization (8-bit u8/i8 only)");
        }

        double s = scale.ToDoubles()[0];
        if (!(s > 0) || !double.IsFinite(s))
        {
            throw c.Invalid($"scale {s} must be positive");
        }

        return new QuantInfo { ZeroPoint = zero?.ToLongs()[0] ?? 0, Scale = (float)s, Bits = 8, Signed = type == DType.I8, Symmetric = (zero?.ToLongs()[0] ?? 0) == 0 };
    }

    private static OnnxValue Quantize(NodeContext c, OnnxValue x, int scaleInput, int zeroInput, string hint)
    {
        DType storage = c.Has(zeroInput) ? c.TypeOf(zeroInput) : (DType)(c.A.GetInt("output_dtype", 0) == 3 ? DType.I8 : DType.U8);
        QuantInfo q = Params(c, scaleInput, zeroInput, storage);
        if (!x.DType.IsFloat())
        {
            throw c.Unsupported($"QuantizeLinear of {x.DType.Name()} (float input only)");
        }

        GraphValue input = c.T.Runtime(x);
        return new RuntimeValue(c.B.Quantized(q, hint, id => c.B.Apply("tract_core_cast", [input], null, id)));
    }

    private static OnnxValue Dequantize(NodeContext c, OnnxValue x, int scaleInput, int zeroInput, string hint)
    {
        if (x.DType is not (DType.U8 or DType.I8))
        {
            throw c.Unsupported($"DequantizeLinear of {x.DType.Name()} (u8/i8 only)");
        }

        QuantInfo q = Params(c, scaleInput, zeroInput, x.DType);
        GraphValue quantized = x switch
        {
            // 8-bit weights: stored as they are, typed by their graph.quant entry.
            ConstValue k when k.Source is not null => c.B.Quantized(q, k.Name, id => c.B.Variable(k.Name, k.Source, id)),
            ConstValue k => c.B.Quantized(q, k.Name, id => c.B.Variable(k.Name, Translator.Source(k.Known!), id)),
            RuntimeValue r when r.Value.DType.IsQuantized => r.Value,
            RuntimeValue r => c.B.Quantized(q, hint + "_q", id => c.B.Apply("tract_core_cast", [r.Value], null, id)),
            _ => throw new InvalidOperationException(),
        };
        if (quantized.DType.IsQuantized && (quantized.DType.ZpScale.ZeroPoint != q.ZeroPoint || quantized.DType.ZpScale.Scale != (float)q.Scale))
        {
            // The value was quantized with other parameters: re-type it through f32 as ONNX would compute it.
            GraphValue real = c.B.Cast(quantized, DatumType.F32, hint + "_real");
            quantized = c.B.Quantized(q, hint + "_q", id => c.B.Apply("tract_core_cast", [real], null, id));
        }

        return new RuntimeValue(c.B.Cast(quantized, DatumType.F32, hint));
    }

    private static void QLinearConv(NodeContext c)
    {
        // x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, [B]
        OnnxValue x = Dequantize(c, c.In(0), 1, 2, c.Hint() + "_x");
        OnnxValue w = Dequantize(c, c.In(3), 4, 5, c.Hint() + "_w");
        GraphValue xv = c.T.Runtime(x);
        GraphValue wv = c.T.Runtime(w);
        Arg bias = Arg.Float(0);
        if (c.Has(8))
        {
            double s = c.Const(1, "x_scale").ToDoubles()[0] * c.Const(4, "w_scale").ToDoubles()[0];
            Known b = c.Const(8, "the bias");
            bias = c.T.Runtime(new ConstValue(c.Hint() + "_bias", Known.OfReals(DType.F32, b.Shape, [.. b.ToDoubles().Select(v => v * s)])));
        }

        int spatial = xv.Rank - 2;
        long[] kernel = [.. wv.Shape.Skip(2).Select(KnownOps.Number)];
        long[] strides = c.A.GetIntsOrNull("strides") is { Count: > 0 } st ? [.. st] : [.. Enumerable.Repeat(1L, spatial)];
        long[] dilations = c.A.GetIntsOrNull("dilations") is { Count: > 0 } d ? [.. d] : [.. Enumerable.Repeat(1L, spatial)];
        GraphValue y = c.B.Apply("conv", [xv, wv, bias], [
            new("border", Arg.String("constant")),
            new("padding", ConvOps.Pairs(ConvOps.ConvPadding(c, xv, kernel, strides, dilations))),
            new("stride", Arg.Ints(strides)),
            new("dilation", Arg.Ints(dilations)),
            new("groups", Arg.Int(c.A.GetInt("group", 1))),
        ], c.Hint() + "_real");
        c.Out(Quantize(c, new RuntimeValue(y), 6, 7, c.Hint()));
    }

    private static void QLinearMatMul(NodeContext c)
    {
        // a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp
        GraphValue a = c.T.Runtime(Dequantize(c, c.In(0), 1, 2, c.Hint() + "_a"));
        GraphValue b = c.T.Runtime(Dequantize(c, c.In(3), 4, 5, c.Hint() + "_b"));
        if (a.Rank < 2 || b.Rank < 2)
        {
            throw c.Unsupported("QLinearMatMul on vectors");
        }

        int rank = Math.Max(a.Rank, b.Rank);
        GraphValue y = c.B.MatMul(c.B.AlignRank(a, rank), c.B.AlignRank(b, rank), name: c.Hint() + "_real");
        c.Out(Quantize(c, new RuntimeValue(y), 6, 7, c.Hint()));
    }
}
