using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>BatchNormalization</c> (inference; folded into the convolution before it when possible, else
/// <c>x · a + b</c> with per-channel constants), <c>InstanceNormalization</c> and <c>LayerNormalization</c> (means and
/// variances with <c>mean_reduce</c>).
/// </summary>
internal static class NormalizationOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["BatchNormalization"] = BatchNorm;
        t["InstanceNormalization"] = InstanceNorm;
        t["LayerNormalization"] = LayerNorm;
    }

    private static void BatchNorm(NodeContext c)
    {
        if (c.T.Fusions.IsFolded(c.Node))
        {
            return; // Defined by the convolution it was folded into.
        }

        if (c.A.GetInt("training_mode", 0) != 0 || (c.Opset < 9 && c.A.GetInt("is_test", 1) == 0))
        {
            throw c.Unsupported("training mode is not supported (export the model in eval mode)");
        }

        for (int k = 1; k < c.Node.Outputs.Count; k++)
        {
            if (c.WantsOutput(k))
            {
                throw c.Unsupported($"output {k} (running statistics) is not supported");
            }
        }

        OnnxValue x = c.In(0);
        double eps = c.A.GetFloat("epsilon", 1e-5f);
        Known?[] p = [.. Enumerable.Range(1, 4).Select(c.KnownIn)];
        long[] channelShape = [.. Enumerable.Repeat(1L, x.Rank - 1)];
        if (x.Rank >= 2)
        {
            channelShape[0] = p[0]?.Count ?? 1;
        }

        if (p.All(v => v is { IsReal: true }) && x.DType == DType.F32)
        {
            // y = x * a + b with a = scale / sqrt(var + eps), b = bias - mean * a (computed in double, rounded once).
            double[] gamma = p[0]!.Reals!;
            double[] beta = p[1]!.Reals!;
            double[] mean = p[2]!.Reals!;
            double[] variance = p[3]!.Reals!;
            double[] a = [.. gamma.Select((g, i) => g / Math.Sqrt(variance[i] + (double)(float)eps))];
            double[] b = [.. beta.Select((v, i) => v - (mean[i] * a[i]))];
            var scale = new ConstValue(c.Hint() + "_scale", Known.OfReals(DType.F32, channelShape, a));
            var shift = new ConstValue(c.Hint() + "_shift", Known.OfReals(DType.F32, channelShape, b));
            GraphValue scaled = ElementWiseOps.Emit(c, "mul", x, scale, c.Hint() + "_scaled");
            c.Out(ElementWiseOps.Emit(c, "add", new RuntimeValue(scaled), shift));
            return;
        }

        // Parameters computed at run time: (x - mean) / sqrt(var + eps) * scale + bias.
        OnnxValue[] q = [.. Enumerable.Range(1, 4).Select(i => Channel(c, c.In(i), x.Rank))];
        GraphValue centered = ElementWiseOps.Emit(c, "sub", x, q[2], c.Hint() + "_centered");
        GraphValue std = c.B.Unary("sqrt", c.B.Add(c.T.Runtime(q[3]), Arg.Float(eps)));
        GraphValue normed = c.B.Div(centered, std);
        c.Out(c.B.Add(c.B.Mul(normed, c.T.Runtime(q[0])), c.T.Runtime(q[1]), c.Hint()));
    }

    // A per-channel [C] parameter as [1, C, 1, ...] for an input of rank `rank`.
    private static OnnxValue Channel(NodeContext c, OnnxValue v, int rank)
    {
        if (v is ConstValue { Rank: 1 } k && k.Known is Known known)
        {
            return new ConstValue(k.Name, known.Reshape([1, known.Count, .. Enumerable.Repeat(1L, rank - 2)]));
        }

        GraphValue withBatch = c.B.Unsqueeze(c.T.Runtime(v), [0]);
        return new RuntimeValue(rank > 2 ? c.B.Unsqueeze(withBatch, [.. Enumerable.Range(2, rank - 2)]) : withBatch);
    }

    private static void InstanceNorm(NodeContext c)
    {
        GraphValue x = c.Run(0);
        double eps = c.A.GetFloat("epsilon", 1e-5f);
        int[] axes = [.. Enumerable.Range(2, x.Rank - 2)];
        GraphValue normed = Normalize(c, x, axes, eps);
        GraphValue scale = c.T.Runtime(Channel(c, c.In(1), x.Rank));
        GraphValue bias = c.T.Runtime(Channel(c, c.In(2), x.Rank));
        c.Out(c.B.Add(c.B.Mul(normed, scale), bias, c.Hint()));
    }

    private static void LayerNorm(NodeContext c)
    {
        GraphValue x = c.Run(0);
        int axis = c.Axis(c.A.GetInt("axis", -1), x.Rank);
        double eps = c.A.GetFloat("epsilon", 1e-5f);
        if (c.A.GetInt("stash_type", 1) != 1)
        {
            throw c.Unsupported("stash_type other than f32");
        }

        int[] axes = [.. Enumerable.Range(axis, x.Rank - axis)];
        GraphValue mean = c.B.Reduce("mean_reduce", x, axes, c.Hint() + "_mean");
        GraphValue centered = c.B.Sub(x, mean, c.Hint() + "_centered");
        GraphValue variance = c.B.Reduce("mean_reduce", c.B.Unary("square", centered), axes, c.Hint() + "_var");
        GraphValue invStd = c.B.Rsqrt(c.B.Add(variance, Arg.Float(eps)), c.Hint() + "_inv_std");
        GraphValue y = c.B.Mul(centered, invStd);
        y = ElementWiseOps.Emit(c, "mul", new RuntimeValue(y), c.In(1), c.Has(2) ? c.Hint() + "_scaled" : c.Hint());
        if (c.Has(2))
        {
            y = ElementWiseOps.Emit(c, "add", new RuntimeValue(y), c.In(2));
        }

        c.Out(y);
        c.Out(mean, 1);
        c.Out(invStd, 2);
    }

    private static GraphValue Normalize(NodeContext c, GraphValue x, int[] axes, double eps)
    {
        GraphValue mean = c.B.Reduce("mean_reduce", x, axes, c.Hint() + "_mean");
        GraphValue centered = c.B.Sub(x, mean, c.Hint() + "_centered");
        GraphValue variance = c.B.Reduce("mean_reduce", c.B.Unary("square", centered), axes, c.Hint() + "_var");
        return c.B.Div(centered, c.B.Unary("sqrt", c.B.Add(variance, Arg.Float(eps))), c.Hint() + "_normed");
    }
}
