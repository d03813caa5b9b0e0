using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Axis and data-movement operators (<c>nnef/src/ops/nnef/deser.rs</c>): reshape, transpose, squeeze, unsqueeze,
/// concat, slice, tile, pad, stack, unstack, copy and <c>tract_core_broadcast</c>.
/// </summary>
internal static class Shapes
{
    public static void Register(OpRegistry nnef, OpRegistry core)
    {
        nnef.Primitive("reshape", Reshape);
        nnef.Primitive("transpose", inv => inv.Result(Layout.Permute(inv.Tensor("input"), inv.Ints("axes"))));
        nnef.Primitive("squeeze", Squeeze);
        nnef.Primitive("unsqueeze", Unsqueeze);
        nnef.Primitive("concat", Concat);
        nnef.Primitive("slice", Slice);
        nnef.Primitive("tile", Tile);
        nnef.Primitive("pad", Pad);
        nnef.Primitive("stack", Stack);
        nnef.Primitive("unstack", Unstack);
        nnef.Primitive("copy", inv => Coerce.ToTensor(inv.Get("x"), "x"));
        core.Primitive("tract_core_broadcast", BroadcastTo);
    }

    /// <summary>Concatenates same-typed values along <paramref name="axis"/>; other dimensions must match.</summary>
    public static TensorValue ConcatValues(IReadOnlyList<TensorValue> values, int axis)
    {
        TensorValue first = values[0];
        int rank = first.Rank;
        if (axis < 0 || axis >= rank)
        {
            throw new InvalidGraphException(null, $"concat axis {axis} is outside rank {rank}");
        }

        int total = 0;
        foreach (TensorValue v in values)
        {
            if (v.Rank != rank || Enumerable.Range(0, rank).Any(i => i != axis && v.Shape[i] != first.Shape[i]))
            {
                throw new InvalidGraphException(null, $"cannot concatenate {string.Join(", ", values)} on axis {axis}");
            }

            total += v.Shape[axis];
        }

        int[] shape = first.ShapeArray.ToArray();
        shape[axis] = total;
        int outer = TensorValue.Volume(shape.AsSpan(0, axis));
        int inner = TensorValue.Volume(shape.AsSpan(axis + 1));
        Array data = first.Type.Kind == DatumKind.F32
            ? TensorPool.Allocate<float>(TensorValue.Volume(shape))
            : TensorValue.NewArray(first.Type.Kind, TensorValue.Volume(shape));
        int dst = 0;
        for (int o = 0; o < outer; o++)
        {
            foreach (TensorValue v in values)
            {
                int block = v.Shape[axis] * inner;
                Array.Copy(v.Data!, o * block, data, dst, block);
                dst += block;
            }
        }

        return TensorValue.Wrap(first.Type, shape, data);
    }

    /// <summary>Elements <c>[begin, end)</c> of <paramref name="axis"/>, every <paramref name="stride"/>-th.</summary>
    public static TensorValue SliceAxis(TensorValue v, int axis, long begin, long end, long stride)
    {
        int dim = v.Shape[axis];
        if (begin < 0 || end > dim || end < begin || stride <= 0)
        {
            throw new InvalidGraphException(null, $"slice [{begin}:{end}:{stride}] does not fit axis {axis} of {v}");
        }

        int[] shape = v.ShapeArray.ToArray();
        shape[axis] = (int)((end - begin + stride - 1) / stride);
        int[] strides = Layout.Strides(v.Shape);
        int[] stepped = strides.ToArray();
        stepped[axis] = checked((int)(strides[axis] * stride));
        return Layout.TakeStrided(v, shape, stepped, checked((int)(begin * strides[axis])));
    }

    private static TensorOperand Reshape(Invocation inv)
    {
        TensorValue input = inv.Tensor("input");
        int start = inv.Int("axis_start");
        long countArg = inv.Long("axis_count");
        int rank = input.Rank;
        if (start < 0 || start > rank)
        {
            throw new InvalidGraphException(null, $"axis_start {start} is outside rank {rank}");
        }

        int count = countArg == -1 ? rank - start : (int)countArg;
        if (count < 0 || start + count > rank)
        {
            throw new InvalidGraphException(null, $"axis_count {countArg} from axis {start} exceeds rank {rank}");
        }

        long[] replacement = ShapeInput(inv.Get("shape"), "shape");
        for (int i = 0; i < replacement.Length; i++)
        {
            if (replacement[i] == 0)
            {
                replacement[i] = i + start < rank ? input.Shape[i + start] : throw new InvalidGraphException(null, $"shape item {i} is 0 but the input has no axis {i + start}");
            }
        }

        long replaced = 1;
        for (int i = start; i < start + count; i++)
        {
            replaced *= input.Shape[i];
        }

        int inferred = Array.IndexOf(replacement, -1L);
        if (inferred >= 0)
        {
            long known = replacement.Where((d, i) => i != inferred).Aggregate(1L, (p, d) => p * d);
            if (known == 0 || replaced % known != 0)
            {
                throw new InvalidGraphException(null, $"cannot infer -1 in [{string.Join(", ", replacement)}] for {input}");
            }

            replacement[inferred] = replaced / known;
        }

        if (replacement.Any(d => d < 0) || replacement.Aggregate(1L, (p, d) => p * d) != replaced)
        {
            throw new InvalidGraphException(null, $"cannot reshape axes [{start}, {start + count}) of {input} to [{string.Join(", ", replacement)}]");
        }

        int[] shape = [.. input.ShapeArray.AsSpan(0, start), .. replacement.Select(d => (int)d), .. input.ShapeArray.AsSpan(start + count)];
        return inv.Result(input.WithShape(shape));
    }

    private static TensorOperand Squeeze(Invocation inv)
    {
        TensorValue input = inv.Tensor("input");
        var shape = input.ShapeArray.ToList();
        foreach (int axis in inv.Ints("axes").Order().Reverse())
        {
            if (axis < 0 || axis >= shape.Count || shape[axis] != 1)
            {
                throw new InvalidGraphException(null, $"cannot remove axis {axis} of {input}: only axes of size 1 can be squeezed");
            }

            shape.RemoveAt(axis);
        }

        return inv.Result(input.WithShape([.. shape]));
    }

    private static TensorOperand Unsqueeze(Invocation inv)
    {
        TensorValue input = inv.Tensor("input");
        var shape = input.ShapeArray.ToList();
        foreach (int axis in inv.Ints("axes").Order())
        {
            if (axis < 0 || axis > shape.Count)
            {
                throw new InvalidGraphException(null, $"cannot insert axis {axis} into {input}");
            }

            shape.Insert(axis, 1);
        }

        return inv.Result(input.WithShape([.. shape]));
    }

    private static TensorOperand Concat(Invocation inv)
    {
        int axis = inv.Int("axis");
        return inv.Result(ConcatValues(ValuesOfOneType(inv, "concat"), axis));
    }

    // tract 0.21/0.22 slice: per axis, begin and end are clamped above by the dimension, a negative begin and an end
    // <= 0 count from the end (so end = 0 means "to the end"); then every stride-th element is kept.
    private static TensorOperand Slice(Invocation inv)
    {
        TensorValue v = inv.Tensor("input");
        int[] axes = inv.Ints("axes");
        long[] begins = inv.Longs("begin");
        long[] ends = inv.Longs("end");
        Operand? strideArg = inv.Find("stride");
        long[] strides = strideArg is null ? Enumerable.Repeat(1L, axes.Length).ToArray() : Coerce.ToLongs(strideArg, "stride");
        if (begins.Length < axes.Length || ends.Length < axes.Length || strides.Length < axes.Length)
        {
            throw new InvalidGraphException(null, $"slice has {axes.Length} axes but {begins.Length} begins, {ends.Length} ends, {strides.Length} strides");
        }

        for (int i = 0; i < axes.Length; i++)
        {
            int axis = axes[i];
            if (axis < 0 || axis >= v.Rank)
            {
                throw new InvalidGraphException(null, $"slice axis {axis} is outside rank {v.Rank}");
            }

            long dim = v.Shape[axis];
            long b = Math.Min(begins[i], dim);
            if (b < 0)
            {
                b += dim;
            }

            long e = Math.Min(ends[i], dim);
            if (e <= 0)
            {
                e += dim;
            }

            v = SliceAxis(v, axis, b, e, strides[i]);
        }

        return inv.Result(v);
    }

    private static TensorOperand Tile(Invocation inv)
    {
        TensorValue v = inv.Tensor("input");
        long[] repeats = ShapeInput(inv.Get("repeats"), "repeats");
        if (repeats.Length != v.Rank || repeats.Any(r => r < 0))
        {
            throw new InvalidGraphException(null, $"tile repeats [{string.Join(", ", repeats)}] do not fit {v}");
        }

        int[] shape = v.ShapeArray.Select((d, i) => checked((int)(d * repeats[i]))).ToArray();

        // [r0, d0, r1, d1, ...] with stride 0 on each repeat axis: one strided copy, rows copied whole.
        int[] strides = Layout.Strides(v.Shape);
        int[] viewShape = new int[2 * v.Rank];
        int[] viewStrides = new int[2 * v.Rank];
        for (int i = 0; i < v.Rank; i++)
        {
            viewShape[2 * i] = (int)repeats[i];
            viewShape[(2 * i) + 1] = v.Shape[i];
            viewStrides[(2 * i) + 1] = strides[i];
        }

        return inv.Result(Layout.TakeStrided(v, viewShape, viewStrides, 0).WithShape(shape));
    }

    private static TensorOperand Pad(Invocation inv)
    {
        TensorValue v = inv.Tensor("input");
        (int Before, int After)[] padding = inv.Pairs("padding");
        string border = inv.String("border");
        float value = inv.Float("value");
        if (padding.Length != v.Rank || padding.Any(p => p.Before < 0 || p.After < 0))
        {
            throw new InvalidGraphException(null, $"padding of {padding.Length} axes does not fit {v}");
        }

        int[] shape = v.ShapeArray.Select((d, i) => d + padding[i].Before + padding[i].After).ToArray();

        // Per axis, the source index of each output index (-1: the constant fill); rows of the output then read through
        // these small tables, never through a per-element map.
        var sources = new int[v.Rank][];
        for (int ax = 0; ax < v.Rank; ax++)
        {
            int n = v.Shape[ax];
            sources[ax] = new int[shape[ax]];
            for (int i = 0; i < shape[ax]; i++)
            {
                int c = i - padding[ax].Before;
                if (c < 0 || c >= n)
                {
                    c = border switch
                    {
                        "constant" => -1,
                        "replicated" or "replicate" => n == 0 ? -1 : Math.Clamp(c, 0, n - 1),
                        "reflect" => n == 0 ? -1 : Reflect(c, n),
                        _ => throw new UnsupportedFeatureException(null, null, $"padding border '{border}'"),
                    };
                }

                sources[ax][i] = c;
            }
        }

        TensorValue fill = Cast.To(TensorValue.ScalarF32(value), v.Type);
        return inv.Result(Layout.Gather(v, shape, sources, fill));
    }

    // concat / stack: every value cast to the graph.quant type of the result, else to the first value's type.
    private static List<TensorValue> ValuesOfOneType(Invocation inv, string op)
    {
        List<TensorValue> values = inv.Tensors("values");
        if (values.Count == 0)
        {
            throw new InvalidGraphException(null, $"{op} of no values");
        }

        DatumType type = inv.OutputQuant ?? values[0].Type;
        return values.Select(v => Cast.To(v, type)).ToList();
    }

    private static int Reflect(int c, int n)
    {
        if (n == 1)
        {
            return 0;
        }

        int period = 2 * (n - 1);
        c = ((c % period) + period) % period;
        return c < n ? c : period - c;
    }

    private static TensorOperand Stack(Invocation inv)
    {
        int axis = inv.Int("axis");
        List<TensorValue> expanded = ValuesOfOneType(inv, "stack").Select(v =>
        {
            int[] s = [.. v.ShapeArray.AsSpan(0, Math.Min(axis, v.Rank)), 1, .. v.ShapeArray.AsSpan(Math.Min(axis, v.Rank))];
            return v.WithShape(s);
        }).ToList();
        return inv.Result(ConcatValues(expanded, axis));
    }

    private static TupleOperand Unstack(Invocation inv)
    {
        TensorValue v = inv.Tensor("value");
        int axis = inv.Int("axis");
        if (axis < 0 || axis >= v.Rank)
        {
            throw new InvalidGraphException(null, $"unstack axis {axis} is outside rank {v.Rank}");
        }

        int[] shape = [.. v.ShapeArray.AsSpan(0, axis), .. v.ShapeArray.AsSpan(axis + 1)];
        var items = new List<Operand>();
        for (int i = 0; i < v.Shape[axis]; i++)
        {
            items.Add(inv.Result(SliceAxis(v, axis, i, i + 1, 1).WithShape(shape)));
        }

        return new TupleOperand(items);
    }

    private static TensorOperand BroadcastTo(Invocation inv)
    {
        TensorValue v = inv.Tensor("input");
        long[] target = ShapeInput(inv.Get("shape"), "shape");
        int[] shape = Layout.BroadcastShape(v.ShapeArray, target.Select(d => checked((int)d)).ToArray());
        return inv.Result(Layout.BroadcastTo(v, shape));
    }

    /// <summary>tract's <c>convert_to_shape_input</c>: a list of integers (literals, TDim values) or a tensor of them.</summary>
    private static long[] ShapeInput(Operand operand, string what) => Coerce.ToLongs(operand, what);
}
