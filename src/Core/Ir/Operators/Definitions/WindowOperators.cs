using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Sliding-window operators over NC+spatial tensors: <c>conv</c> (OI+spatial kernel, plain or Q4_0), <c>deconv</c>
/// (the transposed convolution, OIHW kernel with O the output channels), <c>max_pool_with_index</c> and <c>box</c>.
/// </summary>
internal static class WindowOperators
{
    private const string PoolParameters = "input: tensor, size: integer[], border: string = 'constant', padding: pairs = [], stride: integer[] = [], dilation: integer[] = []";

    public static void Register(CatalogBuilder b)
    {
        const string Nnef = OperatorCatalog.NnefRegistry;
        b.Primitive(Nnef, "conv", "input: tensor, filter: tensor, bias: tensor = 0.0, border: string = 'constant', padding: pairs = [], stride: integer[] = [], dilation: integer[] = [], groups: integer = 1", Conv);
        b.Primitive(Nnef, "deconv", "input: tensor, filter: tensor, bias: tensor = 0.0, border: string = 'constant', padding: pairs = [], stride: integer[] = [], dilation: integer[] = [], output_shape: integer[] = [], groups: integer = 1",
            Deconv);
        b.Primitive(Nnef, "max_pool_with_index", PoolParameters, MaxPool, results: 2);
        b.Primitive(Nnef, "box", PoolParameters + ", normalize: logical = false", Box);
    }

    /// <summary>
    /// Output sizes of the spatial axes: explicit (before, after) pairs (the last <paramref name="input"/>.Count of them
    /// when <paramref name="leadingAxes"/> is 2), or same-upper when there are none (<c>ceil(in / stride)</c>).
    /// </summary>
    public static Dim[] OutputSizes((long Before, long After)[] pairs, IReadOnlyList<Dim> input, long[] kernel, long[] stride, long[] dilation, int leadingAxes)
    {
        int rank = input.Count;
        if (pairs.Length != 0 && pairs.Length != rank + leadingAxes)
        {
            throw new InvalidGraphException(null, $"padding lists {pairs.Length} axes, expected {rank + leadingAxes}");
        }

        var output = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            long span = ((kernel[i] - 1) * dilation[i]) + 1;
            if (pairs.Length == 0)
            {
                output[i] = (input[i] + (stride[i] - 1)) / stride[i];
                continue;
            }

            (long b, long a) = pairs[i + leadingAxes];
            Dim extent = input[i] + (b + a - span);
            if (extent.TryGetConstant(out long e) && e < 0)
            {
                throw new InvalidGraphException(null, $"window of {span} does not fit spatial axis {i} of size {input[i]} with padding {b + a}");
            }

            output[i] = (extent / stride[i]) + 1;
        }

        return output;
    }

    private static StaticOperand Conv(InferenceCall call)
    {
        StaticTensor x = call.Tensor("input");
        StaticTensor w = call.Tensor("filter");
        StaticTensor bias = call.Tensor("bias");
        string border = call.String("border");
        if (border != "constant")
        {
            throw new UnsupportedFeatureException(null, null, $"conv border '{border}' (tract accepts only 'constant')");
        }

        int spatialRank = x.Rank - 2;
        if (spatialRank < 1 || w.Rank != x.Rank)
        {
            throw new InvalidGraphException(null, $"conv input {x} and kernel {w} must be NC+spatial and OI+spatial of the same rank");
        }

        long[] kernelShape = ShapeRules.Concrete(w.Shape) ?? throw new InvalidGraphException(null, $"conv kernel {w} must have known dimensions");
        long outChannels = kernelShape[0];
        long groups = call.Long("groups");
        if (groups == 0)
        {
            groups = outChannels;
        }

        long inPerGroup = kernelShape[1];
        if (groups <= 0 || x.Shape[1] != Dim.Of(inPerGroup * groups) || outChannels % groups != 0)
        {
            throw new InvalidGraphException(null, $"conv input channels {x.Shape[1]} do not match kernel {w} with {groups} group(s)");
        }

        long[] stride = Spatial(call.Ints("stride"), spatialRank, "stride");
        long[] dilation = Spatial(call.Ints("dilation"), spatialRank, "dilation");
        Dim[] spatial = OutputSizes(call.Pairs("padding"), [.. x.Shape.Skip(2)], kernelShape[2..], stride, dilation, 0);

        // tract removes the bias's unit axes; what is left must be one value per output channel, or one value.
        Dim[] biasShape = [.. bias.Shape.Where(d => !ShapeRules.IsOne(d))];
        if (biasShape.Length > 1 || (biasShape.Length == 1 && biasShape[0] != Dim.Of(outChannels)))
        {
            throw new InvalidGraphException(null, $"conv bias {bias} does not fit {outChannels} output channels");
        }

        DatumType type = x.DType.IsFloat ? x.DType : call.OutputQuant ?? DatumType.I32;
        return call.Result(type, [x.Shape[0], Dim.Of(outChannels), .. spatial]);
    }

    /// <summary>
    /// <c>deconv</c> as tract reads it (<c>conv_or_deconv</c>): OIHW kernel whose O is the output channels and I the input
    /// channels per group, explicit padding pairs on the spatial axes (tract's same-upper for deconv is not modelled),
    /// output size <c>(in − 1)·stride + (k − 1)·dilation + 1 − before − after</c>, or <c>output_shape</c> when given.
    /// </summary>
    private static StaticOperand Deconv(InferenceCall call)
    {
        StaticTensor x = call.Tensor("input");
        StaticTensor w = call.Tensor("filter");
        if (call.String("border") != "constant")
        {
            throw new UnsupportedFeatureException(null, null, $"deconv border '{call.String("border")}' (tract accepts only 'constant')");
        }

        int spatialRank = x.Rank - 2;
        if (spatialRank < 1 || w.Rank != x.Rank)
        {
            throw new InvalidGraphException(null, $"deconv input {x} and kernel {w} must be NC+spatial and OI+spatial of the same rank");
        }

        long[] kernelShape = ShapeRules.Concrete(w.Shape) ?? throw new InvalidGraphException(null, $"deconv kernel {w} must have known dimensions");
        long groups = call.Long("groups");
        long outChannels = kernelShape[0];
        if (groups <= 0 || x.Shape[1] != Dim.Of(kernelShape[1] * groups) || outChannels % groups != 0)
        {
            throw new InvalidGraphException(null, $"deconv input channels {x.Shape[1]} do not match kernel {w} with {groups} group(s)");
        }

        long[] stride = Spatial(call.Ints("stride"), spatialRank, "stride");
        long[] dilation = Spatial(call.Ints("dilation"), spatialRank, "dilation");
        (long Before, long After)[] pairs = call.Pairs("padding");
        if (pairs.Length != spatialRank)
        {
            throw new UnsupportedFeatureException(null, null, $"deconv needs explicit padding for its {spatialRank} spatial axes (got {pairs.Length} pairs)");
        }

        int[] outputShape = call.Ints("output_shape");
        var spatial = new Dim[spatialRank];
        for (int i = 0; i < spatialRank; i++)
        {
            spatial[i] = outputShape.Length == spatialRank
                ? Dim.Of(outputShape[i])
                : ((x.Shape[i + 2] - 1) * stride[i]) + (((kernelShape[i + 2] - 1) * dilation[i]) + 1 - pairs[i].Before - pairs[i].After);
        }

        if (!x.DType.IsFloat)
        {
            throw new UnsupportedFeatureException(null, null, $"deconv on {x.DType} (float only)");
        }

        return call.Result(x.DType, [x.Shape[0], Dim.Of(outChannels), .. spatial]);
    }

    private static long[] Spatial(int[] values, int rank, string what)
    {
        if (values.Length == 0)
        {
            return [.. Enumerable.Repeat(1L, rank)];
        }

        return values.Length == rank && values.All(v => v > 0)
            ? [.. values.Select(v => (long)v)]
            : throw new InvalidGraphException(null, $"conv {what} [{string.Join(", ", values)}] must list {rank} positive spatial values");
    }

    private static Dim[] PoolShape(InferenceCall call, StaticTensor x)
    {
        int[] size = call.Ints("size");
        if (x.Rank < 3 || size.Length != x.Rank)
        {
            throw new InvalidGraphException(null, $"pool input {x} must be NC+spatial and size [{string.Join(", ", size)}] must list every axis");
        }

        string border = call.String("border");
        if (border is not ("constant" or "ignore"))
        {
            throw new UnsupportedFeatureException(null, null, $"pool border '{border}' (tract accepts 'constant' and 'ignore')");
        }

        long[] stride = AllAxes(call.Ints("stride"), x.Rank, "stride");
        long[] dilation = AllAxes(call.Ints("dilation"), x.Rank, "dilation");
        if (size[0] != 1 || size[1] != 1)
        {
            throw new InvalidGraphException(null, "pool size must be 1 on the N and C axes");
        }

        Dim[] spatial = OutputSizes(call.Pairs("padding"), [.. x.Shape.Skip(2)], [.. size.Skip(2).Select(s => (long)s)], stride, dilation, 2);
        return [x.Shape[0], x.Shape[1], .. spatial];
    }

    private static long[] AllAxes(int[] values, int rank, string what)
    {
        if (values.Length == 0)
        {
            return [.. Enumerable.Repeat(1L, rank - 2)];
        }

        if (values.Length != rank || values[0] != 1 || values[1] != 1 || values.Any(v => v <= 0))
        {
            throw new InvalidGraphException(null, $"pool {what} [{string.Join(", ", values)}] must list every axis with 1 on N and C");
        }

        return [.. values.Skip(2).Select(v => (long)v)];
    }

    private static StaticOperand MaxPool(InferenceCall call)
    {
        StaticTensor x = call.Tensor("input");
        Dim[] shape = PoolShape(call, x);
        return new StaticTuple([call.Result(x.DType, shape), call.Result(DatumType.I64, shape)]);
    }

    private static StaticOperand Box(InferenceCall call)
    {
        StaticTensor x = call.Tensor("input");
        Dim[] shape = PoolShape(call, x);
        _ = call.Bool("normalize");
        return x.DType.IsFloat ? call.Result(x.DType, shape) : throw new UnsupportedFeatureException(null, null, $"box on {x.DType}");
    }
}
