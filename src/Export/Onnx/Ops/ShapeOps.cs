using TorchToNnef.Export.Onnx.Translation;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Ops;

/// <summary>
/// Constants, casts and shape manipulation: <c>Constant Identity Dropout Cast CastLike Shape Size Reshape Flatten Squeeze
/// Unsqueeze Concat Transpose Expand Tile ConstantOfShape Range</c>. <c>Shape</c> gives a known vector whose elements may be
/// symbolic dimensions, so the shape arithmetic <c>torch.onnx.export</c> writes (<c>Shape -> Gather -> Unsqueeze ->
/// Concat -> Reshape</c>) folds into the operators that read it instead of running in the archive.
/// </summary>
internal static class ShapeOps
{
    public static void Register(Dictionary<string, OpTranslation> t)
    {
        t["Constant"] = Constant;
        t["Identity"] = c => c.Out(c.In(0));
        t["Dropout"] = Dropout;
        t["Cast"] = c => Cast(c, CastTarget(c));
        t["CastLike"] = c => Cast(c, c.TypeOf(1));
        t["Shape"] = Shape;
        t["Size"] = c => c.Out(Known.Scalar(c.ShapeOf(0).Aggregate(Dim.Of(1), (a, d) => a * d)));
        t["Reshape"] = Reshape;
        t["Flatten"] = Flatten;
        t["Squeeze"] = Squeeze;
        t["Unsqueeze"] = Unsqueeze;
        t["Concat"] = Concat;
        t["Transpose"] = Transpose;
        t["Expand"] = Expand;
        t["Tile"] = Tile;
        t["ConstantOfShape"] = ConstantOfShape;
        t["Range"] = Range;
    }

    private static void Constant(NodeContext c)
    {
        OnnxAttributes a = c.A;
        string name = c.Hint();
        if (a.GetTensorOrNull("value") is OnnxTensor tensor)
        {
            c.Out(c.T.ConstValue(tensor));
        }
        else if (a.Find("value_float") is not null)
        {
            c.Out(Known.OfReals(DType.F32, [], [a.GetFloat("value_float")]));
        }
        else if (a.GetFloatsOrNull("value_floats") is IReadOnlyList<float> fs)
        {
            c.Out(Known.OfReals(DType.F32, [fs.Count], [.. fs.Select(v => (double)v)]));
        }
        else if (a.Find("value_int") is not null)
        {
            c.Out(Known.Scalar(a.GetInt("value_int")));
        }
        else if (a.GetIntsOrNull("value_ints") is IReadOnlyList<long> ints)
        {
            c.Out(Known.Vector(ints.Select(v => (Dim)v)));
        }
        else
        {
            throw c.Unsupported($"Constant '{name}' without a tensor, float(s) or int(s) value (sparse and string constants are not supported)");
        }
    }

    private static void Dropout(NodeContext c)
    {
        if (c.WantsOutput(1))
        {
            throw c.Unsupported("the mask output of Dropout is not supported (inference only)");
        }

        c.Out(c.In(0));
    }

    private static DType CastTarget(NodeContext c)
    {
        var type = (OnnxDataType)c.A.GetInt("to");
        return type.TryGetDType(out DType dtype) ? dtype : throw c.Unsupported($"Cast to {type.Name()}");
    }

    private static void Cast(NodeContext c, DType to)
    {
        OnnxValue x = c.In(0);
        if (to == DType.BF16)
        {
            to = DType.F32; // bf16 values are carried as f32 throughout.
        }

        if (Translator.KnownOf(x) is Known k && KnownOps.Cast(k, to) is Known folded)
        {
            c.Out(folded);
            return;
        }

        if (x.DType == to)
        {
            c.Out(x);
            return;
        }

        c.Out(c.B.Cast(c.T.Runtime(x), Translator.Datum(to), c.Hint()));
    }

    private static void Shape(NodeContext c)
    {
        IReadOnlyList<Dim> dims = c.ShapeOf(0);
        int rank = dims.Count;
        long start = c.A.GetInt("start", 0);
        long end = c.A.GetInt("end", rank);
        start = Math.Clamp(start < 0 ? start + rank : start, 0, rank);
        end = Math.Clamp(end < 0 ? end + rank : end, 0, rank);
        c.Out(Known.Vector(dims.Skip((int)start).Take((int)Math.Max(0, end - start))));
    }

    /// <summary>Product of dimensions.</summary>
    public static Dim Product(IEnumerable<Dim> dims) => dims.Aggregate(Dim.Of(1), (a, d) => a * d);

    /// <summary>
    /// Reshapes a value (folded for a known one) to <paramref name="target"/>, whose <c>0</c> entries keep the input's
    /// dimension and one <c>-1</c> takes what is left, resolved here whenever the sizes allow.
    /// </summary>
    public static OnnxValue ReshapeTo(NodeContext c, OnnxValue x, IReadOnlyList<Dim> target, bool allowZero, string? hint = null)
    {
        IReadOnlyList<Dim> input = c.ShapeOfValue(x);
        var dims = new Dim[target.Count];
        int inferred = -1;
        for (int i = 0; i < target.Count; i++)
        {
            Dim d = target[i];
            if (d.TryGetConstant(out long v) && v == 0 && !allowZero)
            {
                dims[i] = i < input.Count ? input[i] : throw c.Invalid($"shape entry {i} is 0 (copy) but the input has rank {input.Count}");
            }
            else if (d.TryGetConstant(out v) && v == -1)
            {
                inferred = inferred < 0 ? i : throw c.Invalid("shape has more than one -1");
                dims[i] = d;
            }
            else if (d.TryGetConstant(out v) && v < -1)
            {
                throw c.Invalid($"shape entry {v} is negative");
            }
            else
            {
                dims[i] = d;
            }
        }

        if (inferred >= 0)
        {
            Dim rest = Product(dims.Where((_, i) => i != inferred));
            if (Product(input).TryDivideExact(rest, out Dim q))
            {
                dims[inferred] = q;
            }
        }

        if (Translator.KnownOf(x) is Known k && dims.All(d => d.IsConstant))
        {
            long[] shape = [.. dims.Select(KnownOps.Number)];
            if (shape.Aggregate(1L, (a, b) => a * b) != k.Count)
            {
                throw c.Invalid($"cannot reshape {k} to [{string.Join(", ", shape)}]");
            }

            return new ConstValue(hint ?? c.Hint(), k.Reshape(shape));
        }

        if (x is ConstValue { Source: not null } cs && dims.All(d => d.IsConstant))
        {
            long[] shape = [.. dims.Select(KnownOps.Number)];
            if (shape.Aggregate(1L, (a, b) => a * b) != cs.Count)
            {
                throw c.Invalid($"cannot reshape {cs} to [{string.Join(", ", shape)}]");
            }

            // A large constant re-viewed: a variable of the new shape over the same bytes, no operator at run time.
            return new ConstValue(hint ?? c.Hint(), TensorSource.Computed(cs.DType, new Tensors.Shape(shape), () =>
            {
                using Tensor t = cs.OpenTensor();
                return new Tensor(t.DType, new Tensors.Shape(shape), OwnedTensorData.Wrap(t.Bytes.ToArray()));
            }));
        }

        if (input.Count == dims.Length && input.Zip(dims).All(p => p.First == p.Second))
        {
            return x;
        }

        return new RuntimeValue(c.B.Reshape(c.T.Runtime(x), dims, hint ?? c.Hint()));
    }

    private static void Reshape(NodeContext c)
    {
        Dim[] target = c.Const(1, "the target shape").ToDims();
        c.Out(ReshapeTo(c, c.In(0), target, c.A.GetInt("allowzero", 0) != 0));
    }

    private static void Flatten(NodeContext c)
    {
        IReadOnlyList<Dim> dims = c.ShapeOf(0);
        long axis = c.A.GetInt("axis", 1);
        int a = axis == dims.Count ? dims.Count : c.Axis(axis, dims.Count);
        c.Out(ReshapeTo(c, c.In(0), [Product(dims.Take(a)), Product(dims.Skip(a))], false));
    }

    private static IReadOnlyList<long>? AxesArg(NodeContext c, int input)
    {
        if (c.Opset >= 13)
        {
            return c.Has(input) ? c.ConstLongs(input, "the axes") : null;
        }

        return c.A.GetIntsOrNull("axes");
    }

    private static void Squeeze(NodeContext c)
    {
        IReadOnlyList<Dim> dims = c.ShapeOf(0);
        IReadOnlyList<long>? given = AxesArg(c, 1);
        int[] axes = given is null
            ? [.. Enumerable.Range(0, dims.Count).Where(i => dims[i].TryGetConstant(out long v) && v == 1)]
            : [.. given.Select(a => c.Axis(a, dims.Count)).Distinct().Order()];
        if (given is null && dims.Any(d => !d.IsConstant))
        {
            throw c.Unsupported("Squeeze without axes on symbolic dimensions; give --input-shape");
        }

        foreach (int a in axes)
        {
            if (!(dims[a].TryGetConstant(out long v) && v == 1))
            {
                throw c.Invalid($"axis {a} has size {dims[a]}, not 1");
            }
        }

        c.Out(Rank(c, c.In(0), [.. dims.Where((_, i) => !axes.Contains(i))], x => c.B.Squeeze(x, axes, c.Hint())));
    }

    private static void Unsqueeze(NodeContext c)
    {
        IReadOnlyList<Dim> dims = c.ShapeOf(0);
        IReadOnlyList<long> given = AxesArg(c, 1) ?? throw c.Invalid("axes are required");
        int rank = dims.Count + given.Count;
        int[] axes = [.. given.Select(a => c.Axis(a, rank)).Order()];
        if (axes.Distinct().Count() != axes.Length)
        {
            throw c.Invalid("axes repeat");
        }

        var result = new List<Dim>(dims);
        foreach (int a in axes)
        {
            result.Insert(a, 1);
        }

        c.Out(Rank(c, c.In(0), result, x => c.B.Unsqueeze(x, axes, c.Hint())));
    }

    // A change of rank only: folded for known values, else the operator.
    private static OnnxValue Rank(NodeContext c, OnnxValue x, IReadOnlyList<Dim> result, Func<GraphValue, GraphValue> emit) =>
        Translator.KnownOf(x) is Known k
            ? new ConstValue(c.Hint(), k.Reshape([.. result.Select(KnownOps.Number)]))
            : new RuntimeValue(emit(c.T.Runtime(x)));

    private static void Concat(NodeContext c)
    {
        List<OnnxValue> parts = [.. Enumerable.Range(0, c.Node.Inputs.Count).Where(c.Has).Select(c.In)];
        int rank = parts[0].Rank;
        int axis = c.Axis(c.A.GetInt("axis"), rank);
        if (parts.Any(p => p.Rank != rank))
        {
            throw c.Invalid("inputs of different ranks");
        }

        // torch.onnx.export sometimes concatenates empty constants: they add nothing.
        List<OnnxValue> nonEmpty = [.. parts.Where(p => p is not ConstValue cv || cv.Shape[axis] != 0)];
        if (nonEmpty.Count == 0)
        {
            c.Out(parts[0]);
            return;
        }

        if (nonEmpty.All(p => Translator.KnownOf(p) is not null))
        {
            List<Known> known = [.. nonEmpty.Select(p => Translator.KnownOf(p)!)];
            if (known.All(k => k.IsReal == known[0].IsReal))
            {
                c.Out(KnownOps.Concat(known, axis));
                return;
            }
        }

        if (nonEmpty.Count == 1)
        {
            c.Out(nonEmpty[0]);
            return;
        }

        c.Out(c.B.Concat([.. nonEmpty.Select((p, i) => c.T.Runtime(p))], axis, c.Hint()));
    }

    private static void Transpose(NodeContext c)
    {
        int rank = c.In(0).Rank;
        int[] perm = c.A.GetIntsOrNull("perm") is IReadOnlyList<long> p ? [.. p.Select(a => c.Axis(a, rank))] : [.. Enumerable.Range(0, rank).Reverse()];
        if (perm.Length != rank || perm.Distinct().Count() != rank)
        {
            throw c.Invalid($"perm [{string.Join(", ", perm)}] is not a permutation of {rank} axes");
        }

        if (c.KnownIn(0) is Known k)
        {
            c.Out(KnownOps.Transpose(k, perm));
            return;
        }

        c.Out(perm.SequenceEqual(Enumerable.Range(0, rank)) ? c.In(0) : new RuntimeValue(c.B.Transpose(c.Run(0), perm, c.Hint())));
    }

    private static void Expand(NodeContext c)
    {
        Dim[] shape = c.Const(1, "the target shape").ToDims();
        IReadOnlyList<Dim> input = c.ShapeOf(0);
        int rank = Math.Max(shape.Length, input.Count);
        var result = new Dim[rank];
        for (int i = 0; i < rank; i++)
        {
            Dim a = i - (rank - input.Count) >= 0 ? input[i - (rank - input.Count)] : 1;
            Dim b = i - (rank - shape.Length) >= 0 ? shape[i - (rank - shape.Length)] : 1;
            result[i] = b.TryGetConstant(out long vb) && vb == 1 ? a : b;
        }

        if (c.KnownIn(0) is Known k && result.All(d => d.IsConstant))
        {
            c.Out(KnownOps.BroadcastTo(k, [.. result.Select(KnownOps.Number)]));
            return;
        }

        if (input.Count == rank && input.SequenceEqual(result))
        {
            c.Out(c.In(0));
            return;
        }

        c.Out(c.B.Broadcast(c.T.Aligned(c.In(0), rank), result, c.Hint()));
    }

    private static void Tile(NodeContext c)
    {
        Dim[] repeats = c.Const(1, "the repeats").ToDims();
        if (repeats.Length != c.In(0).Rank)
        {
            throw c.Invalid($"{repeats.Length} repeats for rank {c.In(0).Rank}");
        }

        c.Out(c.B.Tile(c.Run(0), repeats, c.Hint()));
    }

    private static void ConstantOfShape(NodeContext c)
    {
        Dim[] shape = c.Const(0, "the shape").ToDims();
        Known fill = c.A.GetTensorOrNull("value") is OnnxTensor t ? ReadTensor(t) : Known.OfReals(DType.F32, [1], [0]);
        if (fill.Count != 1)
        {
            throw c.Invalid("value must hold one element");
        }

        if (shape.All(d => d.IsConstant))
        {
            long[] dims = [.. shape.Select(KnownOps.Number)];
            long count = dims.Aggregate(1L, (a, b) => a * b);
            if (count <= Known.FoldLimit)
            {
                c.Out(KnownOps.BroadcastTo(fill.Reshape([.. Enumerable.Repeat(1L, dims.Length)]), dims));
                return;
            }
        }

        GraphValue one = c.T.Runtime(new ConstValue(c.Hint() + "_value", fill.Reshape([.. Enumerable.Repeat(1L, shape.Length)])));
        c.Out(c.B.Broadcast(one, shape, c.Hint()));
    }

    private static Known ReadTensor(OnnxTensor t)
    {
        using Tensor tensor = t.Open();
        return Known.FromTensor(tensor);
    }

    private static void Range(NodeContext c)
    {
        Known start = c.Const(0, "start");
        Known limit = c.Const(1, "limit");
        Known delta = c.Const(2, "delta");
        if (start.IsConcrete && limit.IsConcrete && delta.IsConcrete)
        {
            double s = start.ToDoubles()[0];
            double l = limit.ToDoubles()[0];
            double d = delta.ToDoubles()[0];
            if (d == 0)
            {
                throw c.Invalid("delta is 0");
            }

            long n = Math.Max(0, (long)Math.Ceiling((l - s) / d));
            c.Out(Known.Of(start.DType, [n], [.. Enumerable.Range(0, (int)n).Select(i => s + (i * d))]));
            return;
        }

        if (start.IsReal)
        {
            throw c.Unsupported("a float Range with symbolic bounds");
        }

        GraphValue r = c.B.Range(Arg.Dim(start.Ints![0]), Arg.Dim(limit.Ints![0]), Arg.Dim(delta.Ints![0]), c.Hint());
        c.Out(start.DType == DType.I64 ? r : c.B.Cast(r, Translator.Datum(start.DType)));
    }
}
