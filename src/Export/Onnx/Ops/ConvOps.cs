using TorchToNnef.Errors;
using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>Conv</c> (1-D/2-D/3-D, groups, dilations, explicit or automatic padding) as NNEF <c>conv</c>, and
/// <c>ConvTranspose</c> as NNEF <c>deconv</c> (kernel re-laid from ONNX's <c>[C_in, C_out/g, k...]</c> to tract's
/// <c>[C_out, C_in/g, k...]</c>, <c>output_padding</c> and <c>output_shape</c> turned into padding and
/// <c>output_shape</c>). A batch normalization planned for folding (<see cref="FusionPlan"/>) is folded into the kernel
/// and bias here, in double precision.
/// </summary>
internal static class ConvOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["Conv"] = c => Convolution(c, transposed: false);
        t["ConvTranspose"] = c => Convolution(c, transposed: true);
    }

    private static void Convolution(NodeContext c, bool transposed)
    {
        GraphValue x = c.Run(0);
        OnnxValue w = c.In(1);
        int spatial = x.Rank - 2;
        if (spatial < 1 || w.Rank != x.Rank)
        {
            throw c.Invalid($"input {x} and kernel {w} must be N,C,spatial... and of the same rank");
        }

        long[] kernelShape = w is ConstValue cw ? cw.Shape : c.ConcreteShape(1, "the kernel");
        long group = c.A.GetInt("group", 1);
        long[] kernel = kernelShape[2..];
        long[] strides = Spatial(c, "strides", spatial);
        long[] dilations = Spatial(c, "dilations", spatial);
        if (c.A.GetIntsOrNull("kernel_shape") is IReadOnlyList<long> ks && !ks.SequenceEqual(kernel))
        {
            throw c.Invalid($"kernel_shape [{string.Join(", ", ks)}] differs from the kernel's [{string.Join(", ", kernel)}]");
        }

        OnnxNode? bn = c.T.Fusions.BatchNormAfter(c.Node);
        (GraphValue weight, Arg bias) = Parameters(c, w, transposed, group, bn);
        string hint = bn is not null ? bn.Outputs[0] : c.Hint();
        GraphValue y = transposed
            ? Deconv(c, x, weight, bias, kernel, strides, dilations, group, hint)
            : c.B.Apply("conv", [x, weight, bias], [
                new("border", Arg.String("constant")),
                new("padding", Pairs(ConvPadding(c, x, kernel, strides, dilations))),
                new("stride", Arg.Ints(strides)),
                new("dilation", Arg.Ints(dilations)),
                new("groups", Arg.Int(group)),
            ], hint);
        if (bn is null)
        {
            c.Out(y);
            return;
        }

        c.Skip(0);
        c.T.Define(bn.Outputs[0], new RuntimeValue(y));
        c.T.Note($"BatchNormalization '{bn.DisplayName}' folded into {c.Node.OpType} '{c.Node.DisplayName}'");
    }

    /// <summary>Kernel (re-laid, batch norm folded) and bias arguments.</summary>
    private static (GraphValue Weight, Arg Bias) Parameters(NodeContext c, OnnxValue w, bool transposed, long group, OnnxNode? bn)
    {
        OnnxValue? b = c.Has(2) ? c.In(2) : null;
        if (bn is null && !transposed)
        {
            return (c.T.Runtime(w), b is null ? Arg.Float(0.0) : c.T.Runtime(b));
        }

        if (w is not ConstValue cw || (b is not null and not ConstValue))
        {
            throw c.Unsupported("a transposed convolution needs a constant kernel");
        }

        long[] shape = transposed ? TransposedKernelShape(cw.Shape, group) : cw.Shape;
        long outChannels = shape[0];
        Func<double[]>? scale = null;
        Func<double[]>? shift = null;
        if (bn is not null)
        {
            (scale, shift) = BatchNormFactors(c, bn, outChannels);
        }

        if (cw.DType != DType.F32 || (b is ConstValue { DType: not DType.F32 }))
        {
            throw c.Unsupported($"folding a batch norm or re-laying a transposed kernel needs f32 weights, not {cw.DType.Name()}");
        }

        var weightSource = TensorSource.Computed(DType.F32, new Tensors.Shape(shape), () =>
        {
            using Tensor original = cw.OpenTensor();
            float[] values = original.ToFloatArray();
            float[] laid = transposed ? TransposeKernel(values, cw.Shape, group) : values;
            if (scale is not null)
            {
                double[] s = scale();
                long perChannel = laid.Length / outChannels;
                for (long i = 0; i < laid.Length; i++)
                {
                    laid[i] = (float)(laid[i] * s[i / perChannel]);
                }
            }

            return Tensor.FromFloats(new Tensors.Shape(shape), laid);
        });
        GraphValue weight = c.B.Variable(cw.Name, weightSource, cw.Name + (bn is null ? "_oihw" : "_bn"));
        if (bn is null)
        {
            return (weight, b is null ? Arg.Float(0.0) : c.T.Runtime(b));
        }

        var cb = (ConstValue?)b;
        var biasSource = TensorSource.Computed(DType.F32, new Tensors.Shape(outChannels), () =>
        {
            double[] s = scale!();
            double[] t = shift!();
            float[] original = cb is null ? new float[outChannels] : ReadFloats(cb);
            return Tensor.FromFloats(new Tensors.Shape(outChannels), [.. original.Select((v, i) => (float)((v * s[i]) + t[i]))]);
        });
        return (weight, c.B.Variable((cb?.Name ?? cw.Name) + "_bn_bias", biasSource, bn.Outputs[0] + "_bias"));
    }

    /// <summary>
    /// Per output channel: <c>a = scale / sqrt(var + eps)</c> and <c>b = bias - mean * a</c>, so that
    /// <c>bn(conv(x, w) + c) = conv(x, a·w) + (a·c + b)</c>.
    /// </summary>
    private static (Func<double[]> Scale, Func<double[]> Shift) BatchNormFactors(NodeContext c, OnnxNode bn, long channels)
    {
        double eps = bn.Attributes.GetFloat("epsilon", 1e-5f);
        ConstValue[] p = [.. Enumerable.Range(1, 4).Select(i => (ConstValue)c.T.Lookup(bn.Input(i), bn.ToString()))];
        if (p.Any(v => v.Count != channels))
        {
            throw new InvalidInputFileException(c.T.File, null, $"{bn}: parameters of {string.Join(", ", p.Select(v => v.Count))} values for {channels} channels");
        }

        double[] Scale()
        {
            float[] gamma = ReadFloats(p[0]);
            float[] variance = ReadFloats(p[3]);
            return [.. gamma.Select((g, i) => g / Math.Sqrt(variance[i] + (double)(float)eps))];
        }

        double[] Shift()
        {
            double[] a = Scale();
            float[] beta = ReadFloats(p[1]);
            float[] mean = ReadFloats(p[2]);
            return [.. beta.Select((v, i) => v - (mean[i] * a[i]))];
        }

        return (Scale, Shift);
    }

    private static float[] ReadFloats(ConstValue v)
    {
        using Tensor t = v.OpenTensor();
        return t.DType == DType.F32 ? t.ToFloatArray() : throw new UnsupportedFeatureException(null, v.Name, $"expected f32 values, not {t.DType.Name()}");
    }

    // ONNX [G*Ci, Co, k...] -> tract [G*Co, Ci, k...].
    private static long[] TransposedKernelShape(long[] onnx, long group) => [onnx[1] * group, onnx[0] / group, .. onnx[2..]];

    private static float[] TransposeKernel(float[] w, long[] onnx, long group)
    {
        long ci = onnx[0] / group;
        long co = onnx[1];
        long k = onnx[2..].Aggregate(1L, (a, d) => a * d);
        var result = new float[w.Length];
        for (long g = 0; g < group; g++)
        {
            for (long i = 0; i < ci; i++)
            {
                for (long o = 0; o < co; o++)
                {
                    long src = (((g * ci) + i) * co + o) * k;
                    long dst = (((g * co) + o) * ci + i) * k;
                    Array.Copy(w, src, result, dst, k);
                }
            }
        }

        return result;
    }

    private static GraphValue Deconv(NodeContext c, GraphValue x, GraphValue weight, Arg bias, long[] kernel, long[] strides, long[] dilations, long group, string hint)
    {
        int spatial = kernel.Length;
        long[] outputPadding = c.A.GetIntsOrNull("output_padding")?.ToArray() ?? new long[spatial];
        IReadOnlyList<long>? outputShape = c.A.GetIntsOrNull("output_shape");
        string autoPad = c.A.GetString("auto_pad", "NOTSET");
        var pads = new (long Before, long After)[spatial];
        bool needConcrete = outputShape is not null || autoPad is "SAME_UPPER" or "SAME_LOWER";
        long[]? input = needConcrete ? c.ConcreteShape(0, "this ConvTranspose's padding")[2..] : null;
        for (int i = 0; i < spatial; i++)
        {
            long span = ((kernel[i] - 1) * dilations[i]) + 1;
            if (needConcrete)
            {
                long target = outputShape is not null ? outputShape[outputShape.Count - spatial + i] : input![i] * strides[i];
                long total = (strides[i] * (input![i] - 1)) + outputPadding[i] + span - target;
                long half = total / 2;
                pads[i] = autoPad == "SAME_UPPER" ? (half, total - half) : (total - half, half);
            }
            else if (autoPad is "NOTSET" or "VALID")
            {
                IReadOnlyList<long> p = autoPad == "VALID" ? new long[2 * spatial] : c.A.GetIntsOrNull("pads") ?? new long[2 * spatial];
                pads[i] = (p[i], p[i + spatial]);
            }
            else
            {
                throw c.Unsupported($"auto_pad '{autoPad}'");
            }
        }

        if (pads.Any(p => p.Before < 0 || p.After < 0))
        {
            throw c.Unsupported("negative padding (an output larger than the full transposed convolution) is not supported");
        }

        List<KeyValuePair<string, Arg>> named =
        [
            new("border", Arg.String("constant")),
            new("padding", Pairs(pads)),
            new("stride", Arg.Ints(strides)),
            new("dilation", Arg.Ints(dilations)),
            new("groups", Arg.Int(group)),
        ];
        if (outputPadding.Any(p => p != 0))
        {
            // tract derives its adjustments from output_shape (and then needs known input dimensions).
            long[] inputDims = c.ConcreteShape(0, "ConvTranspose with output_padding")[2..];
            long[] outDims = [.. Enumerable.Range(0, spatial).Select(i =>
                (strides[i] * (inputDims[i] - 1)) + ((kernel[i] - 1) * dilations[i]) + 1 - pads[i].Before - pads[i].After + outputPadding[i])];
            named.Add(new("output_shape", Arg.Ints(outDims)));
        }

        return c.B.Apply("deconv", [x, weight, bias], named, hint);
    }

    /// <summary>Explicit (before, after) padding of the spatial axes, or null for tract's same-upper (symbolic input).</summary>
    public static (long Before, long After)[]? ConvPadding(NodeContext c, GraphValue x, long[] kernel, long[] strides, long[] dilations)
    {
        int spatial = kernel.Length;
        string autoPad = c.A.GetString("auto_pad", "NOTSET");
        switch (autoPad)
        {
            case "NOTSET":
                IReadOnlyList<long> p = c.A.GetIntsOrNull("pads") ?? new long[2 * spatial];
                if (p.Count != 2 * spatial || p.Any(v => v < 0))
                {
                    throw c.Invalid($"pads [{string.Join(", ", p)}] must list {2 * spatial} non-negative values");
                }

                return [.. Enumerable.Range(0, spatial).Select(i => (p[i], p[i + spatial]))];
            case "VALID":
                return new (long, long)[spatial];
            case "SAME_UPPER" or "SAME_LOWER":
                if (x.Shape.Skip(2).Any(d => !d.IsConstant))
                {
                    return autoPad == "SAME_UPPER" ? null : throw c.Unsupported("auto_pad SAME_LOWER on symbolic dimensions; give --input-shape");
                }

                return [.. Enumerable.Range(0, spatial).Select(i =>
                {
                    x.Shape[i + 2].TryGetConstant(out long size);
                    long output = (size + strides[i] - 1) / strides[i];
                    long total = Math.Max(0, ((output - 1) * strides[i]) + ((kernel[i] - 1) * dilations[i]) + 1 - size);
                    return autoPad == "SAME_UPPER" ? (total / 2, total - (total / 2)) : (total - (total / 2), total / 2);
                })];
            default:
                throw c.Invalid($"auto_pad '{autoPad}' is not a padding mode");
        }
    }

    /// <summary>A padding argument: <c>[(b, a), ...]</c>, or <c>[]</c> for same-upper.</summary>
    public static Arg Pairs((long Before, long After)[]? pads) =>
        pads is null ? Arg.Array() : Arg.Array(pads.Select(p => Arg.Tuple(Arg.Int(p.Before), Arg.Int(p.After))));

    private static long[] Spatial(NodeContext c, string name, int rank)
    {
        IReadOnlyList<long>? v = c.A.GetIntsOrNull(name);
        if (v is null || v.Count == 0)
        {
            return [.. Enumerable.Repeat(1L, rank)];
        }

        return v.Count == rank && v.All(s => s > 0) ? [.. v] : throw c.Invalid($"{name} [{string.Join(", ", v)}] must list {rank} positive values");
    }
}
