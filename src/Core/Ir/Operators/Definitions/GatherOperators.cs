using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// <c>tract_core_gather(input, indices, axis, datum_type)</c>, numpy <c>take</c>: output shape
/// <c>input[:axis] + indices.shape + input[axis+1:]</c>. A Q4_0 table needs <c>axis = 0</c> and <c>datum_type</c>
/// (<c>'f32'</c> or <c>'f16'</c>, the output type); plain data given a <c>datum_type</c> must already have that type.
/// <c>tract_core_gather_elements(input, indices, axis)</c> is ONNX <c>GatherElements</c>.
/// </summary>
internal static class GatherOperators
{
    public static void Register(CatalogBuilder b)
    {
        b.Primitive(OperatorCatalog.CoreRegistry, "tract_core_gather", "input: tensor, indices: tensor, axis: integer, datum_type?: string", Gather);
        b.Primitive(OperatorCatalog.CoreRegistry, "tract_core_gather_elements", "input: tensor, indices: tensor, axis: integer", GatherElements);
    }

    // ONNX GatherElements: output[i...] = input[i... with index[axis] = indices[i...]]; the output has the indices' shape.
    private static StaticOperand GatherElements(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        StaticTensor indices = call.Tensor("indices");
        ShapeRules.Axis(call.Long("axis"), input.Rank, "gather_elements");
        if (indices.Rank != input.Rank || !indices.DType.IsNumber)
        {
            throw new InvalidGraphException(null, $"gather_elements indices {indices} must be integers of the input's rank ({input})");
        }

        return call.Result(input.DType, [.. indices.Shape]);
    }

    private static StaticOperand Gather(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        StaticTensor indices = call.Tensor("indices");
        int axis = ShapeRules.Axis(call.Long("axis"), input.Rank, "gather");
        DatumType? requested = call.Find("datum_type") switch
        {
            null or StaticBool { Value: false } => null,
            StaticOperand o => StaticCoerce.ToStringValue(o, "datum_type") is string s && DatumType.TryParse(s, out DatumType t)
                ? t
                : throw new InvalidGraphException(null, "unknown datum_type"),
        };
        if (!indices.DType.IsNumber && indices.DType.Kind != DatumKind.Bool)
        {
            throw new InvalidGraphException(null, $"gather indices must be integers, got {indices}");
        }

        Dim[] shape = [.. input.Shape.Take(axis), .. indices.Shape, .. input.Shape.Skip(axis + 1)];
        if (input.DType.Kind == DatumKind.BlockQuant)
        {
            if (axis != 0)
            {
                throw new UnsupportedFeatureException(null, null, "gather on Q4_0 data works on axis 0 only");
            }

            if (requested is not DatumType type || type.Kind is not (DatumKind.F32 or DatumKind.F16))
            {
                throw new InvalidGraphException(null, "gather applied to Q4_0 data requires datum_type 'f32' or 'f16'");
            }

            return call.Result(type, shape);
        }

        if (requested is DatumType r && r != input.DType)
        {
            throw new InvalidGraphException(null, $"gather datum_type {r} differs from the input type {input.DType}");
        }

        Dim[]? values = null;
        if (input.Values is not null && indices.Values is not null && ShapeRules.Concrete(input.Shape) is long[] inShape
            && indices.Values.All(i => i.IsConstant) && ShapeRules.Concrete(shape) is not null)
        {
            long dim = inShape[axis];
            long outer = inShape.Take(axis).Aggregate(1L, (p, d) => p * d);
            long inner = inShape.Skip(axis + 1).Aggregate(1L, (p, d) => p * d);
            var picked = new List<Dim>();
            for (long o = 0; o < outer; o++)
            {
                foreach (Dim raw in indices.Values)
                {
                    raw.TryGetConstant(out long idx);
                    idx = idx < 0 ? idx + dim : idx;
                    if (idx < 0 || idx >= dim)
                    {
                        throw new InvalidGraphException(null, $"gather index {raw} is out of range for axis {axis} of size {dim}");
                    }

                    picked.AddRange(input.Values.Skip((int)(((o * dim) + idx) * inner)).Take((int)inner));
                }
            }

            values = [.. picked];
        }

        return call.Result(input.DType, shape, values);
    }
}
