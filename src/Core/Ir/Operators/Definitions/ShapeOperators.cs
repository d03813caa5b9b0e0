using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Axis and data-movement operators: reshape, transpose, squeeze, unsqueeze, concat, slice, tile, pad, stack,
/// unstack, copy and <c>tract_core_broadcast</c>.
/// </summary>
internal static class ShapeOperators
{
    public static void Register(CatalogBuilder b)
    {
        const string Nnef = OperatorCatalog.NnefRegistry;
        b.Primitive(Nnef, "reshape", "input: tensor, shape: integer[], axis_start: integer = 0, axis_count: integer = -1", Reshape);
        b.Primitive(Nnef, "transpose", "input: tensor, axes: integer[]", Transpose);
        b.Primitive(Nnef, "squeeze", "input: tensor, axes: integer[]", Squeeze);
        b.Primitive(Nnef, "unsqueeze", "input: tensor, axes: integer[]", Unsqueeze);
        b.Primitive(Nnef, "concat", "values: tensor[], axis: integer", Concat);
        b.Primitive(Nnef, "slice", "input: tensor, axes: integer[], begin: integer[], end: integer[], @stride?: integer[]", Slice);
        b.Primitive(Nnef, "tile", "input: tensor, repeats: integer[]", Tile);
        b.Primitive(Nnef, "pad", "input: tensor, padding: pairs, border: string = 'constant', value: scalar = 0.0", Pad);
        b.Primitive(Nnef, "stack", "values: tensor[], axis: integer", Stack);
        b.Primitive(Nnef, "unstack", "value: tensor, axis: integer", Unstack, results: -1);
        b.Primitive(Nnef, "copy", "x: tensor", call => StaticCoerce.ToTensor(call.Get("x"), "x"));
        b.Primitive(OperatorCatalog.CoreRegistry, "tract_core_broadcast", "input: tensor, shape: integer[]", BroadcastTo);
    }

    /// <summary>Concatenation of same-typed values along <paramref name="axis"/>; other dimensions must be equal.</summary>
    public static (Dim[] Shape, Dim[]? Values) ConcatShapes(IReadOnlyList<StaticTensor> values, int axis)
    {
        StaticTensor first = values[0];
        int rank = first.Rank;
        ShapeRules.Axis(axis, rank, "concat");
        Dim total = 0;
        foreach (StaticTensor v in values)
        {
            if (v.Rank != rank || Enumerable.Range(0, rank).Any(i => i != axis && v.Shape[i] != first.Shape[i]))
            {
                throw new InvalidGraphException(null, $"cannot concatenate {string.Join(", ", values)} on axis {axis}");
            }

            total += v.Shape[axis];
        }

        Dim[] shape = [.. first.Shape];
        shape[axis] = total;
        return (shape, ConcatValues(values, axis, shape));
    }

    private static Dim[]? ConcatValues(IReadOnlyList<StaticTensor> values, int axis, Dim[] shape)
    {
        if (values.Any(v => v.Values is null) || ShapeRules.Concrete(shape) is not long[] outShape)
        {
            return null;
        }

        long outer = outShape.Take(axis).Aggregate(1L, (p, d) => p * d);
        long inner = outShape.Skip(axis + 1).Aggregate(1L, (p, d) => p * d);
        var result = new List<Dim>();
        for (long o = 0; o < outer; o++)
        {
            foreach (StaticTensor v in values)
            {
                long block = ShapeRules.Concrete(v.Shape)![axis] * inner;
                result.AddRange(v.Values!.Skip((int)(o * block)).Take((int)block));
            }
        }

        return [.. result];
    }

    private static StaticOperand Reshape(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        int start = call.Int("axis_start");
        long countArg = call.Long("axis_count");
        int rank = input.Rank;
        if (start < 0 || start > rank)
        {
            throw new InvalidGraphException(null, $"axis_start {start} is outside rank {rank}");
        }

        long count = countArg == -1 ? rank - start : countArg;
        if (count < 0 || start + count > rank)
        {
            throw new InvalidGraphException(null, $"axis_count {countArg} from axis {start} exceeds rank {rank}");
        }

        Dim[] replacement = call.Dims("shape");
        for (int i = 0; i < replacement.Length; i++)
        {
            if (replacement[i] == Dim.Of(0))
            {
                replacement[i] = i + start < rank ? input.Shape[i + start] : throw new InvalidGraphException(null, $"shape item {i} is 0 but the input has no axis {i + start}");
            }
        }

        Dim replaced = ShapeRules.Product(input.Shape.Skip(start).Take((int)count));
        int inferred = Array.FindIndex(replacement, d => d == Dim.Of(-1));
        if (inferred >= 0)
        {
            Dim known = ShapeRules.Product(replacement.Where((_, i) => i != inferred));
            if (known == Dim.Of(0) || !replaced.TryDivideExact(known, out Dim q))
            {
                throw new InvalidGraphException(null, $"cannot infer -1 in {ShapeRules.Format(replacement)} for {input}");
            }

            replacement[inferred] = q;
        }

        if (replacement.Any(d => d.TryGetConstant(out long c) && c < 0) || ShapeRules.Product(replacement) != replaced)
        {
            throw new InvalidGraphException(null, $"cannot reshape axes [{start}, {start + count}) of {input} to {ShapeRules.Format(replacement)}");
        }

        Dim[] shape = [.. input.Shape.Take(start), .. replacement, .. input.Shape.Skip(start + (int)count)];
        return call.Result(input.DType, shape, input.Values);
    }

    private static StaticOperand Transpose(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        int[] perm = call.Ints("axes");
        int rank = input.Rank;
        if (perm.Length != rank || perm.Order().Where((p, i) => p != i).Any())
        {
            throw new InvalidGraphException(null, $"[{string.Join(", ", perm)}] is not a permutation of {rank} axes");
        }

        Dim[] shape = [.. perm.Select(p => input.Shape[p])];
        Dim[]? values = null;
        if (input.Values is not null && ShapeRules.Concrete(input.Shape) is long[] inShape)
        {
            long[] inStrides = ShapeRules.Strides(inShape);
            values = ShapeRules.Take(input.Values, ShapeRules.StridedMap(shape, [.. perm.Select(p => inStrides[p])], 0) ?? []);
        }

        return call.Result(input.DType, shape, values);
    }

    private static StaticOperand Squeeze(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        var shape = input.Shape.ToList();
        foreach (int axis in call.Ints("axes").Order().Reverse())
        {
            if (axis < 0 || axis >= shape.Count || !ShapeRules.IsOne(shape[axis]))
            {
                throw new InvalidGraphException(null, $"cannot remove axis {axis} of {input}: only axes of size 1 can be squeezed");
            }

            shape.RemoveAt(axis);
        }

        return call.Result(input.DType, shape, input.Values);
    }

    private static StaticOperand Unsqueeze(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        var shape = input.Shape.ToList();
        foreach (int axis in call.Ints("axes").Order())
        {
            if (axis < 0 || axis > shape.Count)
            {
                throw new InvalidGraphException(null, $"cannot insert axis {axis} into {input}");
            }

            shape.Insert(axis, 1);
        }

        return call.Result(input.DType, shape, input.Values);
    }

    // concat / stack: every value cast to the graph.quant type of the result, else to the first value's type.
    private static List<StaticTensor> ValuesOfOneType(InferenceCall call, string op)
    {
        List<StaticTensor> values = call.Tensors("values");
        if (values.Count == 0)
        {
            throw new InvalidGraphException(null, $"{op} of no values");
        }

        DatumType type = call.OutputQuant ?? values[0].DType;
        return [.. values.Select(v =>
        {
            SourceOperators.CheckCast(v.DType, type);
            return v.DType == type ? v : new StaticTensor(new TensorType(type, v.Shape), v.IsConst, SourceOperators.CastValues(v, type));
        })];
    }

    private static StaticOperand Concat(InferenceCall call)
    {
        int axis = call.Int("axis");
        List<StaticTensor> values = ValuesOfOneType(call, "concat");
        (Dim[] shape, Dim[]? known) = ConcatShapes(values, axis);
        return call.Result(values[0].DType, shape, known);
    }

    // tract 0.21/0.22 slice: per axis, begin and end are clamped above by the dimension, a negative begin and an end
    // <= 0 count from the end (so end = 0 means "to the end"); then every stride-th element is kept.
    private static StaticOperand Slice(InferenceCall call)
    {
        StaticTensor v = call.Tensor("input");
        int[] axes = call.Ints("axes");
        Dim[] begins = call.Dims("begin");
        Dim[] ends = call.Dims("end");
        long[] strides = call.Find("stride") is StaticOperand s ? [.. InferenceCall.Ints(s, "stride").Select(x => (long)x)] : [.. Enumerable.Repeat(1L, axes.Length)];
        if (begins.Length < axes.Length || ends.Length < axes.Length || strides.Length < axes.Length)
        {
            throw new InvalidGraphException(null, $"slice has {axes.Length} axes but {begins.Length} begins, {ends.Length} ends, {strides.Length} strides");
        }

        Dim[] shape = [.. v.Shape];
        long[]? inShape = ShapeRules.Concrete(v.Shape);
        long[]? inStrides = inShape is null ? null : ShapeRules.Strides(inShape);
        long[]? outStrides = inStrides?.ToArray();
        long offset = 0;
        bool valuesKnown = v.Values is not null && inShape is not null;
        for (int i = 0; i < axes.Length; i++)
        {
            int axis = ShapeRules.Axis(axes[i], v.Rank, "slice");
            Dim dim = v.Shape[axis];
            Dim b = Bound(Dim.Min(begins[i], dim, call.LowerBounds), dim, call, beginRule: true);
            Dim e = Bound(Dim.Min(ends[i], dim, call.LowerBounds), dim, call, beginRule: false);
            long stride = strides[i];
            if (stride <= 0)
            {
                throw new InvalidGraphException(null, $"slice stride {stride} on axis {axis} must be positive");
            }

            if (!Dim.ProvablyAtLeast(b, 0, call.LowerBounds) || !Dim.ProvablyAtLeast(e, b, call.LowerBounds) || !Dim.ProvablyAtLeast(dim, e, call.LowerBounds))
            {
                throw new InvalidGraphException(null, $"slice [{b}:{e}:{stride}] does not provably fit axis {axis} of {v}");
            }

            shape[axis] = (e - b + (stride - 1)) / stride;
            if (valuesKnown && b.TryGetConstant(out long bc))
            {
                offset += bc * inStrides![axis];
                outStrides![axis] = inStrides[axis] * stride;
            }
            else
            {
                valuesKnown = false;
            }
        }

        Dim[]? values = valuesKnown ? ShapeRules.Take(v.Values, ShapeRules.StridedMap(shape, outStrides!, offset) ?? []) : null;
        return call.Result(v.DType, shape, values);
    }

    // A negative begin, or an end <= 0, counts from the end of the axis.
    private static Dim Bound(Dim clamped, Dim dim, InferenceCall call, bool beginRule)
    {
        int? sign = Dim.Compare(clamped, 0, call.LowerBounds);
        bool fromEnd = beginRule ? sign < 0 : sign <= 0 || (sign is null && clamped == Dim.Of(0));
        if (sign is null && !clamped.IsConstant && !Dim.ProvablyAtLeast(clamped, beginRule ? 0 : 1, call.LowerBounds))
        {
            throw new InvalidGraphException(null, $"cannot tell whether slice bound {clamped} counts from the end of the axis");
        }

        return fromEnd ? clamped + dim : clamped;
    }

    private static StaticOperand Tile(InferenceCall call)
    {
        StaticTensor v = call.Tensor("input");
        Dim[] repeats = call.Dims("repeats");
        if (repeats.Length != v.Rank || repeats.Any(r => r.TryGetConstant(out long c) && c < 0))
        {
            throw new InvalidGraphException(null, $"tile repeats {ShapeRules.Format(repeats)} do not fit {v}");
        }

        Dim[] shape = [.. v.Shape.Select((d, i) => d * repeats[i])];
        Dim[]? values = null;
        if (v.Values is not null && ShapeRules.Concrete(v.Shape) is long[] inShape && ShapeRules.Concrete(shape) is long[] outShape
            && outShape.Aggregate(1L, (p, d) => p * d) <= StaticCoerce.MaxTrackedElements)
        {
            long[] inStrides = ShapeRules.Strides(inShape);
            var map = new long[outShape.Aggregate(1L, (p, d) => p * d)];
            for (long i = 0; i < map.Length; i++)
            {
                long rem = i;
                long src = 0;
                for (int ax = outShape.Length - 1; ax >= 0; ax--)
                {
                    src += rem % outShape[ax] % inShape[ax] * inStrides[ax];
                    rem /= outShape[ax];
                }

                map[i] = src;
            }

            values = ShapeRules.Take(v.Values, map);
        }

        return call.Result(v.DType, shape, values);
    }

    private static StaticOperand Pad(InferenceCall call)
    {
        StaticTensor v = call.Tensor("input");
        (long Before, long After)[] padding = call.Pairs("padding");
        _ = call.String("border");
        if (padding.Length != v.Rank || padding.Any(p => p.Before < 0 || p.After < 0))
        {
            throw new InvalidGraphException(null, $"padding of {padding.Length} axes does not fit {v}");
        }

        return call.Result(v.DType, [.. v.Shape.Select((d, i) => d + padding[i].Before + padding[i].After)]);
    }

    private static StaticOperand Stack(InferenceCall call)
    {
        int axis = call.Int("axis");
        List<StaticTensor> expanded = [.. ValuesOfOneType(call, "stack").Select(v =>
        {
            int at = Math.Min(axis, v.Rank);
            return v with { Type = new TensorType(v.DType, [.. v.Shape.Take(at), Dim.Of(1), .. v.Shape.Skip(at)]) };
        })];
        (Dim[] shape, Dim[]? known) = ConcatShapes(expanded, axis);
        return call.Result(expanded[0].DType, shape, known);
    }

    private static StaticOperand Unstack(InferenceCall call)
    {
        StaticTensor v = call.Tensor("value");
        int axis = ShapeRules.Axis(call.Long("axis"), v.Rank, "unstack");
        if (!v.Shape[axis].TryGetConstant(out long n))
        {
            throw new InvalidGraphException(null, $"unstack of axis {axis} of {v}: the number of results is not known");
        }

        Dim[] shape = [.. v.Shape.Take(axis), .. v.Shape.Skip(axis + 1)];
        var items = new List<StaticOperand>();
        for (long i = 0; i < n; i++)
        {
            Dim[]? values = null;
            if (v.Values is not null && ShapeRules.Concrete(v.Shape) is long[] inShape)
            {
                long[] strides = ShapeRules.Strides(inShape);
                values = ShapeRules.Take(v.Values, ShapeRules.StridedMap(shape, [.. strides.Take(axis), .. strides.Skip(axis + 1)], i * strides[axis]) ?? []);
            }

            items.Add(call.Result(v.DType, shape, values));
        }

        return new StaticTuple(items);
    }

    private static StaticOperand BroadcastTo(InferenceCall call)
    {
        StaticTensor v = call.Tensor("input");
        Dim[] target = call.Dims("shape");
        return call.Result(v.DType, ShapeRules.Broadcast(v.Shape, target));
    }
}
