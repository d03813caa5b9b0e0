using TorchToNnef.Export.Onnx.Translation;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// <c>MaxPool</c> and <c>AveragePool</c> as NNEF <c>max_pool</c> and <c>avg_pool</c> (tract leaves padded cells out of
/// both, which is ONNX's max pooling and <c>count_include_pad = 0</c>; <c>count_include_pad = 1</c> is a sum divided by
/// the window size), with <c>ceil_mode</c> as extra padding at the end; <c>GlobalAveragePool</c> and
/// <c>GlobalMaxPool</c> as reductions over the spatial axes.
/// </summary>
internal static class PoolOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["MaxPool"] = c => Pool(c, max: true);
        t["AveragePool"] = c => Pool(c, max: false);
        t["GlobalAveragePool"] = c => Global(c, "mean_reduce");
        t["GlobalMaxPool"] = c => Global(c, "max_reduce");
    }

    private static void Global(NodeContext c, string op)
    {
        GraphValue x = c.Run(0);
        c.Out(c.B.Reduce(op, x, [.. Enumerable.Range(2, x.Rank - 2)], c.Hint()));
    }

    private static void Pool(NodeContext c, bool max)
    {
        GraphValue x = c.Run(0);
        int spatial = x.Rank - 2;
        long[] kernel = [.. c.A.GetInts("kernel_shape")];
        if (spatial < 1 || kernel.Length != spatial || kernel.Any(k => k < 1))
        {
            throw c.Invalid($"kernel_shape [{string.Join(", ", kernel)}] does not fit input {x}");
        }

        long[] strides = c.A.GetIntsOrNull("strides") is { Count: > 0 } s ? [.. s] : [.. Enumerable.Repeat(1L, spatial)];
        long[] dilations = c.A.GetIntsOrNull("dilations") is { Count: > 0 } d ? [.. d] : [.. Enumerable.Repeat(1L, spatial)];
        if (max && c.WantsOutput(1))
        {
            throw c.Unsupported("the Indices output of MaxPool is not supported");
        }

        if (!max && dilations.Any(v => v != 1))
        {
            throw c.Unsupported("dilated AveragePool");
        }

        bool ceil = c.A.GetInt("ceil_mode", 0) != 0;
        (long Before, long After)[]? pads = ConvOps.ConvPadding(c, x, kernel, strides, dilations);
        if (ceil)
        {
            pads = CeilPadding(c, x, pads, kernel, strides, dilations);
        }

        bool includePad = !max && c.A.GetInt("count_include_pad", 0) != 0 && pads is not null && pads.Any(p => p.Before != 0 || p.After != 0);
        if (includePad && ceil)
        {
            throw c.Unsupported("AveragePool with both count_include_pad and ceil_mode");
        }

        Arg padding = pads is null ? Arg.Array() : Arg.Array([Pair(0, 0), Pair(0, 0), .. pads.Select(p => Pair(p.Before, p.After))]);
        List<KeyValuePair<string, Arg>> named =
        [
            new("size", Arg.Ints([1, 1, .. kernel])),
            new("border", Arg.String("ignore")),
            new("padding", padding),
            new("stride", Arg.Ints([1, 1, .. strides])),
            new("dilation", Arg.Ints([1, 1, .. dilations])),
        ];
        if (max)
        {
            c.Out(c.B.Apply("max_pool", [x], named, c.Hint()));
            return;
        }

        if (!includePad)
        {
            c.Out(c.B.Apply("avg_pool", [x], named, c.Hint()));
            return;
        }

        // Padded cells count: the sum over the window divided by its full size.
        named.Add(new("normalize", Arg.Bool(false)));
        GraphValue sum = c.B.Apply("box", [x], named, c.Hint() + "_sum");
        c.Out(c.B.Div(sum, Arg.Float(kernel.Aggregate(1L, (a, k) => a * k)), c.Hint()));
    }

    // ceil_mode: one more window when the last partial one starts inside the input (or its leading padding).
    private static (long Before, long After)[] CeilPadding(NodeContext c, GraphValue x, (long Before, long After)[]? pads, long[] kernel, long[] strides, long[] dilations)
    {
        long[] input = c.ConcreteShape(0, "ceil_mode")[2..];
        pads ??= PadsForSameUpper(input, kernel, strides, dilations);
        var result = new (long, long)[input.Length];
        for (int i = 0; i < input.Length; i++)
        {
            long span = ((kernel[i] - 1) * dilations[i]) + 1;
            long extent = input[i] + pads[i].Before + pads[i].After - span;
            long output = ((extent + strides[i] - 1) / strides[i]) + 1;
            if ((output - 1) * strides[i] >= input[i] + pads[i].Before)
            {
                output--;
            }

            long extra = Math.Max(0, ((output - 1) * strides[i]) + span - (input[i] + pads[i].Before + pads[i].After));
            result[i] = (pads[i].Before, pads[i].After + extra);
        }

        return result;
    }

    private static (long, long)[] PadsForSameUpper(long[] input, long[] kernel, long[] strides, long[] dilations) =>
        [.. input.Select((size, i) =>
        {
            long output = (size + strides[i] - 1) / strides[i];
            long total = Math.Max(0, ((output - 1) * strides[i]) + ((kernel[i] - 1) * dilations[i]) + 1 - size);
            return (total / 2, total - (total / 2));
        })];

    private static Arg Pair(long before, long after) => Arg.Tuple(Arg.Int(before), Arg.Int(after));
}
