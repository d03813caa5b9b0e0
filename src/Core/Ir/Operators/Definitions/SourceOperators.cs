using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Ir;

/// <summary>
/// Inputs, constants and type/shape queries: <c>external</c>, <c>tract_core_external</c>, <c>variable</c>,
/// <c>tract_core_shape_of</c>, <c>tract_core_cast</c>, <c>tract_core_range</c>.
/// </summary>
internal static class SourceOperators
{
    public static void Register(CatalogBuilder b)
    {
        b.Primitive(OperatorCatalog.NnefRegistry, "external", "shape: integer[]", External);
        b.Primitive(OperatorCatalog.CoreRegistry, Graph.ExternalOp, "datum_type: string, shape: integer[]", External);
        b.Primitive(OperatorCatalog.NnefRegistry, Graph.VariableOp, "shape: integer[], label: string", Variable);
        b.Primitive(OperatorCatalog.CoreRegistry, "tract_core_shape_of", "input: tensor", ShapeOf);
        b.Primitive(OperatorCatalog.CoreRegistry, "tract_core_cast", "input: tensor, to?: string", Cast);
        b.Primitive(OperatorCatalog.CoreRegistry, "tract_core_range", "start: tensor, end: tensor, step: tensor", Range);
    }

    /// <summary>The type a graph input declares: <c>datum_type</c>, else by generic as NNEF's <c>external</c>.</summary>
    public static DatumType DeclaredInputType(Node node)
    {
        if (node.Op == Graph.ExternalOp)
        {
            string dt = node.GetAttribute("datum_type") is StringLiteral s ? s.Value : throw new InvalidGraphException(null, "tract_core_external without datum_type");
            return DatumType.TryParse(dt, out DatumType parsed) ? parsed : throw new InvalidGraphException(null, $"unknown datum_type '{dt}'");
        }

        return node.Generic switch { "integer" => DatumType.I64, "logical" => DatumType.Bool, _ => DatumType.F32 };
    }

    /// <summary>The dimensions a graph input declares (literals, symbols, dimension expressions).</summary>
    public static List<Dim> DeclaredInputShape(Node node, OperatorSchema schema)
    {
        Arg shape = schema.Argument(node, "shape") ?? throw new InvalidGraphException(null, "input declares no shape");
        if (shape is not ArrayArg items)
        {
            throw new InvalidGraphException(null, $"input shape '{shape}' is not a list");
        }

        return [.. items.Items.Select(i => i is IntLiteral { Value: < 0 } || Graph.TryArgToDim(i) is not Dim d
            ? throw new InvalidGraphException(null, $"bad dimension '{i}' in the input shape")
            : d)];
    }

    private static StaticOperand External(InferenceCall call)
    {
        if (!call.InGraphBody)
        {
            throw new InvalidGraphException(null, "external statement inside a fragment body");
        }

        return new StaticTensor(new TensorType(DeclaredInputType(call.Node), DeclaredInputShape(call.Node, call.Schema)), false);
    }

    // The .dat tensor (found by the node's name, else by label), re-typed by a graph.quant entry of the same element
    // size; a plain tensor must have the declared shape, a Q4_0 one holds the declared logical shape's elements.
    private static StaticOperand Variable(InferenceCall call)
    {
        string label = call.String("label");
        long[] declared = [.. call.Dims("shape").Select(d => d.TryGetConstant(out long v) && v >= 0 ? v : throw new InvalidGraphException(null, $"variable '{label}' has a non-constant dimension {d}"))];
        Graph graph = call.Graph;
        Variable variable = graph.Variables.TryGetValue(call.Node.Name, out Variable? byName)
            ? byName
            : graph.Variables.Values.FirstOrDefault(v => v.Label == label || v.Label == label.TrimStart('/'))
              ?? throw new InvalidGraphException(null, $"no data for tensor '{label}'");
        var shape = TensorType.Of(DatumType.F32, declared).Shape;
        if (variable.DType.IsBlockQuantized())
        {
            long count = declared.Aggregate(1L, (p, d) => p * d);
            if (count != variable.Shape.ElementCount)
            {
                throw new InvalidGraphException(null, $"Q4_0 tensor '{label}' holds {variable.Shape.ElementCount} values, the graph declares [{string.Join(", ", declared)}]");
            }

            return InferenceCall.Constant(new TensorType(DatumType.BlockQuant, shape));
        }

        if (!variable.Shape.Dims.SequenceEqual(declared))
        {
            throw new InvalidGraphException(null, $"wrong shape for tensor '{label}': the data file says {variable.Shape}, the graph says [{string.Join(", ", declared)}]");
        }

        DatumType type = DatumType.FromDType(variable.DType);
        if (call.OutputQuant is DatumType q && q != type)
        {
            if (q.SizeOf != type.SizeOf)
            {
                throw new InvalidGraphException(null, $"mismatched tensor type for '{label}': graph.quant says {q}, the data is {type}");
            }

            type = q;
        }

        return InferenceCall.Constant(new TensorType(type, shape));
    }

    private static StaticOperand ShapeOf(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        return InferenceCall.Constant(new TensorType(DatumType.TDim, [Dim.Of(input.Rank)]), [.. input.Shape]);
    }

    // `to` may be omitted only when graph.quant gives the output type; with both, they must agree up to quantization.
    private static StaticOperand Cast(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        DatumType? quant = call.OutputQuant;
        DatumType target;
        if (call.Find("to") is StaticOperand to)
        {
            string name = StaticCoerce.ToStringValue(to, "to") ?? throw new InvalidGraphException(null, "cast target is not known statically");
            DatumType parsed = DatumType.TryParse(name, out DatumType t) ? t : throw new InvalidGraphException(null, $"unknown type '{name}'");
            if (quant is DatumType q && q.Unquantized != parsed.Unquantized)
            {
                throw new InvalidGraphException(null, $"mismatched cast: graph.quant says {q}, the graph says {parsed}");
            }

            target = quant ?? parsed;
        }
        else
        {
            target = quant ?? throw new InvalidGraphException(null, "no datum type for cast (no 'to' and no graph.quant entry)");
        }

        CheckCast(input.DType, target);
        return call.Result(target, input.Shape, CastValues(input, target));
    }

    /// <summary>Integer contents survive a cast between integer-like types (to bool: non-zero when decidable).</summary>
    public static Dim[]? CastValues(StaticTensor input, DatumType target)
    {
        if (input.Values is null || !StaticCoerce.TracksValues(target) || !StaticCoerce.TracksValues(input.DType))
        {
            return null;
        }

        if (target.Kind != DatumKind.Bool)
        {
            // Narrowing integer casts wrap: only values that fit survive as they are.
            return input.Values.All(v => !v.TryGetConstant(out long c) || Fits(c, target.Kind)) ? input.Values : null;
        }

        var r = new Dim[input.Values.Length];
        for (int i = 0; i < r.Length; i++)
        {
            if (Dim.Compare(input.Values[i], 0) is not int c)
            {
                return null;
            }

            r[i] = c == 0 ? 0 : 1;
        }

        return r;
    }

    /// <summary>Casts tract performs: none to or from Q4_0 data (other than to itself).</summary>
    public static void CheckCast(DatumType from, DatumType to)
    {
        if (from != to && (from.Kind == DatumKind.BlockQuant || to.Kind == DatumKind.BlockQuant))
        {
            throw new UnsupportedFeatureException(null, null, $"cannot convert {from} to {to}");
        }
    }

    private static bool Fits(long v, DatumKind kind) => kind switch
    {
        DatumKind.I8 => v is >= sbyte.MinValue and <= sbyte.MaxValue,
        DatumKind.U8 => v is >= 0 and <= byte.MaxValue,
        DatumKind.I16 => v is >= short.MinValue and <= short.MaxValue,
        DatumKind.U16 => v is >= 0 and <= ushort.MaxValue,
        DatumKind.I32 => v is >= int.MinValue and <= int.MaxValue,
        DatumKind.U32 => v is >= 0 and <= uint.MaxValue,
        DatumKind.U64 => v >= 0,
        _ => true,
    };

    // The three operands share one type; integer-like ones give ceil(|end - start| / |step|) values start + i * step
    // (TDim: as i64).
    private static StaticOperand Range(InferenceCall call)
    {
        StaticTensor start = call.Tensor("start");
        StaticTensor end = call.Tensor("end");
        StaticTensor step = call.Tensor("step");
        if (start.DType != end.DType || start.DType != step.DType)
        {
            throw new InvalidGraphException(null, $"range operands must share one type, got {start.DType}, {end.DType}, {step.DType}");
        }

        if (start.Count != 1 || end.Count != 1 || step.Count != 1)
        {
            throw new InvalidGraphException(null, "range operands must be scalars");
        }

        if (start.DType.Kind is not (DatumKind.TDim or DatumKind.I64 or DatumKind.I32 or DatumKind.I16 or DatumKind.I8))
        {
            throw new InvalidGraphException(null, $"the length of a range of {start.DType} values is not known statically");
        }

        if (start.Values is null || end.Values is null || step.Values is null || !step.Values[0].TryGetConstant(out long st))
        {
            throw new InvalidGraphException(null, "range bounds and step are not known statically");
        }

        if (st == 0)
        {
            throw new InvalidGraphException(null, "range step is 0");
        }

        Dim s = start.Values[0];
        Dim e = end.Values[0];
        long abs = Math.Abs(st);
        Dim span = st > 0 ? e - s : s - e;
        Dim length;
        if (span.TryGetConstant(out long sc))
        {
            long n = (Math.Abs(sc) + abs - 1) / abs;
            // Integer ranges stepping away from their end are empty (TDim ranges count |end - start| either way).
            length = start.DType.Kind != DatumKind.TDim && Math.Sign(sc) < 0 ? 0 : n;
        }
        else if (Dim.ProvablyAtLeast(span, 0, call.LowerBounds))
        {
            length = (span + (abs - 1)) / abs;
        }
        else
        {
            throw new InvalidGraphException(null, $"cannot tell the length of range({s}, {e}, {st})");
        }

        Dim[]? values = length.TryGetConstant(out long len) && len <= StaticCoerce.MaxTrackedElements
            ? [.. Enumerable.Range(0, (int)len).Select(i => s + (Dim.Of(i) * st))]
            : null;
        DatumType outType = start.DType.Kind == DatumKind.TDim ? DatumType.I64 : start.DType;
        return call.Result(outType, [length], values);
    }
}
