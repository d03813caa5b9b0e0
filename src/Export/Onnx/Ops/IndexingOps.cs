using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// Selection of parts of a tensor: <c>Gather</c> (a constant scalar index as a slice, else <c>tract_core_gather</c>),
/// <c>GatherElements</c> (<c>tract_core_gather_elements</c>),
/// <c>Slice</c> and <c>Split</c> (NNEF <c>slice</c> with bounds clamped as ONNX does, symbolic ones included) and
/// <c>Pad</c> (NNEF <c>pad</c>); each is folded on known values.
/// </summary>
internal static class IndexingOps
{
    /// <summary>ONNX writes "to the end" as a huge bound (INT64_MAX, INT32_MAX): anything this large is the axis end.</summary>
    private const long EndOfAxis = 1L << 30;

    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["Gather"] = Gather;
        t["GatherElements"] = c =>
        {
            int axis = c.Axis(c.A.GetInt("axis", 0), c.In(0).Rank);
            c.Out(c.B.Apply("tract_core_gather_elements", [c.Run(0), c.Run(1)], [new("axis", Arg.Int(axis))], c.Hint()));
        };
        t["Slice"] = Slice;
        t["Split"] = Split;
        t["Pad"] = Pad;
    }

    private static void Gather(NodeContext c)
    {
        OnnxValue data = c.In(0);
        int axis = c.Axis(c.A.GetInt("axis", 0), data.Rank);
        Known? indices = c.KnownIn(1);
        if (Translator.KnownOf(data) is Known kd && indices is not null && KnownOps.Gather(kd, indices, axis) is Known folded)
        {
            c.Out(folded);
            return;
        }

        IReadOnlyList<Dim> dims = c.ShapeOfValue(data);
        if (indices is { Rank: 0, IsConcrete: true })
        {
            long i = indices.ToLongs()[0];
            Dim begin = i >= 0 ? i : dims[axis] + i;
            GraphValue slice = c.B.Slice(c.T.Runtime(data), [axis], [begin], [begin + 1], null, c.Hint() + "_slice");
            c.Out(c.B.Squeeze(slice, [axis], c.Hint()));
            return;
        }

        c.Out(c.B.Gather(c.T.Runtime(data), c.Run(1), axis, null, c.Hint()));
    }

    private static void Slice(NodeContext c)
    {
        OnnxValue x = c.In(0);
        IReadOnlyList<Dim> dims = c.ShapeOfValue(x);
        long[] starts;
        long[] ends;
        long[]? axesGiven;
        long[]? stepsGiven = null;
        if (c.Opset < 10)
        {
            starts = [.. c.A.GetInts("starts")];
            ends = [.. c.A.GetInts("ends")];
            axesGiven = c.A.GetIntsOrNull("axes")?.ToArray();
        }
        else
        {
            starts = c.ConstLongs(1, "the starts");
            ends = c.ConstLongs(2, "the ends");
            axesGiven = c.Has(3) ? c.ConstLongs(3, "the axes") : null;
            stepsGiven = c.Has(4) ? c.ConstLongs(4, "the steps") : null;
        }

        long[] axes = axesGiven ?? [.. Enumerable.Range(0, starts.Length).Select(i => (long)i)];
        long[] steps = stepsGiven ?? [.. Enumerable.Repeat(1L, starts.Length)];
        if (ends.Length != starts.Length || axes.Length != starts.Length || steps.Length != starts.Length)
        {
            throw c.Invalid("starts, ends, axes and steps differ in length");
        }

        var sliceAxes = new List<int>();
        var begins = new List<Dim>();
        var stops = new List<Dim>();
        var strides = new List<long>();
        for (int k = 0; k < axes.Length; k++)
        {
            int axis = c.Axis(axes[k], dims.Count);
            (Dim begin, Dim end) = Bounds(c, dims[axis], starts[k], ends[k], steps[k]);
            if (begin == Dim.Of(0) && end == dims[axis] && steps[k] == 1)
            {
                continue;
            }

            sliceAxes.Add(axis);
            begins.Add(begin);
            stops.Add(end);
            strides.Add(steps[k]);
        }

        c.Out(SliceValue(c, x, sliceAxes, begins, stops, strides, c.Hint()));
    }

    /// <summary>ONNX's clamping of slice bounds on an axis of size <paramref name="size"/>.</summary>
    private static (Dim Begin, Dim End) Bounds(NodeContext c, Dim size, long start, long end, long step)
    {
        if (step == 0)
        {
            throw c.Invalid("a step of 0");
        }

        if (size.TryGetConstant(out long d))
        {
            start = start < 0 ? start + d : start;
            end = end < 0 ? end + d : end;
            (start, end) = step > 0 ? (Math.Clamp(start, 0, d), Math.Clamp(end, 0, d)) : (Math.Clamp(start, -1, d - 1), Math.Clamp(end, -1, d - 1));
            return (start, end);
        }

        if (step < 0)
        {
            throw c.Unsupported($"a negative step on the symbolic dimension {size}; give --input-shape");
        }

        Dim b = start >= EndOfAxis ? size : start < 0 ? size + start : start;
        Dim e = end >= EndOfAxis ? size : end < 0 ? size + end : end;
        return (b, e);
    }

    /// <summary>Slices <paramref name="x"/> (folded when known).</summary>
    public static OnnxValue SliceValue(NodeContext c, OnnxValue x, List<int> axes, List<Dim> begins, List<Dim> ends, List<long> steps, string hint)
    {
        if (axes.Count == 0)
        {
            return x;
        }

        if (Translator.KnownOf(x) is Known k && begins.All(b => b.IsConstant) && ends.All(e => e.IsConstant))
        {
            for (int i = 0; i < axes.Count; i++)
            {
                k = KnownOps.SliceAxis(k, axes[i], KnownOps.Number(begins[i]), KnownOps.Number(ends[i]), steps[i]);
            }

            return new ConstValue(hint, k);
        }

        if (steps.Any(s => s < 0))
        {
            return new RuntimeValue(Backward(c, x, axes, begins, ends, steps, hint));
        }

        return new RuntimeValue(c.B.Slice(c.T.Runtime(x), axes, begins, ends, steps.All(s => s == 1) ? null : steps, hint));
    }

    // Axes walked with a negative step are gathered with the constant list of the indices they visit (begin, begin +
    // step, ... while above end, bounds already clamped to [-1, size - 1]); the other axes are sliced first.
    private static GraphValue Backward(NodeContext c, OnnxValue x, List<int> axes, List<Dim> begins, List<Dim> ends, List<long> steps, string hint)
    {
        GraphValue v = c.T.Runtime(x);
        int[] forward = [.. Enumerable.Range(0, axes.Count).Where(i => steps[i] > 0)];
        int[] backward = [.. Enumerable.Range(0, axes.Count).Where(i => steps[i] < 0)];
        if (forward.Length > 0)
        {
            List<long> forwardSteps = [.. forward.Select(i => steps[i])];
            v = c.B.Slice(v, [.. forward.Select(i => axes[i])], [.. forward.Select(i => begins[i])], [.. forward.Select(i => ends[i])],
                forwardSteps.All(s => s == 1) ? null : forwardSteps, hint + "_forward");
        }

        foreach (int i in backward)
        {
            if (!begins[i].TryGetConstant(out long from) || !ends[i].TryGetConstant(out long to))
            {
                throw c.Unsupported($"a negative step on axis {axes[i]} with bounds {begins[i]}..{ends[i]} that are not known; give --input-shape");
            }

            var visited = new List<Dim>();
            for (long at = from; at > to; at += steps[i])
            {
                visited.Add(at);
            }

            GraphValue indices = c.T.Runtime(new ConstValue($"{hint}_axis{axes[i]}_indices", Known.OfInts(DType.I64, [visited.Count], [.. visited])));
            v = c.B.Gather(v, indices, axes[i], null, i == backward[^1] ? hint : $"{hint}_axis{axes[i]}");
        }

        return v;
    }

    private static void Split(NodeContext c)
    {
        OnnxValue x = c.In(0);
        IReadOnlyList<Dim> dims = c.ShapeOfValue(x);
        int axis = c.Axis(c.A.GetInt("axis", 0), dims.Count);
        int outputs = c.Node.Outputs.Count;
        long[]? sizes = c.Opset >= 13 ? (c.Has(1) ? c.ConstLongs(1, "the split sizes") : null) : c.A.GetIntsOrNull("split")?.ToArray();
        Dim[] parts;
        if (sizes is not null)
        {
            parts = sizes.Length == outputs ? [.. sizes.Select(s => (Dim)s)] : throw c.Invalid($"{sizes.Length} split sizes for {outputs} outputs");
        }
        else if (dims[axis].TryGetConstant(out long d))
        {
            // Equal parts (the last one smaller when opset 18's num_outputs does not divide the axis).
            long each = (d + outputs - 1) / outputs;
            parts = [.. Enumerable.Range(0, outputs).Select(i => (Dim)Math.Max(0, Math.Min(each, d - (i * each))))];
        }
        else
        {
            parts = [.. Enumerable.Repeat(dims[axis] / outputs, outputs)];
        }

        Dim offset = Dim.Of(0);
        for (int i = 0; i < outputs; i++)
        {
            if (c.WantsOutput(i))
            {
                c.Out(SliceValue(c, x, [axis], [offset], [offset + parts[i]], [1], c.Hint(i)), i);
            }

            offset += parts[i];
        }
    }

    private static void Pad(NodeContext c)
    {
        OnnxValue x = c.In(0);
        int rank = x.Rank;
        string mode = c.A.GetString("mode", "constant");
        long[] pads;
        double value = 0;
        long[]? axes = null;
        if (c.Opset < 11)
        {
            pads = [.. c.A.GetInts("pads")];
            value = c.A.GetFloat("value", 0f);
        }
        else
        {
            pads = c.ConstLongs(1, "the pads");
            if (c.Has(2))
            {
                value = c.Const(2, "the constant value").ToDoubles()[0];
            }

            axes = c.Has(3) ? c.ConstLongs(3, "the axes") : null;
        }

        int[] padAxes = axes is null ? [.. Enumerable.Range(0, rank)] : [.. axes.Select(a => c.Axis(a, rank))];
        if (pads.Length != 2 * padAxes.Length)
        {
            throw c.Invalid($"{pads.Length} pads for {padAxes.Length} axes");
        }

        if (pads.Any(p => p < 0))
        {
            throw c.Unsupported("negative pads (cropping)");
        }

        var pairs = new (long Before, long After)[rank];
        for (int i = 0; i < padAxes.Length; i++)
        {
            pairs[padAxes[i]] = (pads[i], pads[i + padAxes.Length]);
        }

        string border = mode switch
        {
            "constant" => "constant",
            "reflect" => "reflect",
            "edge" => "replicated", // tract's spelling; it refuses NNEF's 'replicate'
            _ => throw c.Unsupported($"Pad mode '{mode}'"),
        };
        if (pairs.All(p => p.Before == 0 && p.After == 0))
        {
            c.Out(x);
            return;
        }

        c.Out(c.B.Apply("pad", [c.T.Runtime(x)], [
            new("padding", Arg.Array(pairs.Select(p => Arg.Tuple(Arg.Int(p.Before), Arg.Int(p.After))))),
            new("border", Arg.String(border)),
            new("value", Arg.Float(value)),
        ], c.Hint()));
    }
}
