using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Fused operators tract registers: <c>tract_core_hard_swish</c>, and the transformer ops under both their
/// <c>tract_core_*</c> (&gt;= 0.23) and <c>tract_transformers_*</c> names: silu, rms_norm (no weight) and apply_rope.
/// </summary>
internal static class FusedOperators
{
    public static void Register(CatalogBuilder b)
    {
        b.UnitElementWise(OperatorCatalog.CoreRegistry, "tract_core_hard_swish", call => SameFloat(call, call.PositionalTensor(0)));
        foreach ((string registry, string prefix) in new[] { (OperatorCatalog.CoreRegistry, "tract_core_"), (OperatorCatalog.TransformersRegistry, "tract_transformers_") })
        {
            b.Primitive(registry, prefix + "silu", "input: tensor", call => SameFloat(call, call.Tensor("input")));
            b.Primitive(registry, prefix + "rms_norm", "input: tensor, axis: integer, eps: scalar = 0.000001", RmsNorm);
        }

        b.Primitive(OperatorCatalog.TransformersRegistry, "tract_transformers_apply_rope", "input: tensor, cos: tensor, sin: tensor", ApplyRope);
    }

    private static StaticOperand SameFloat(InferenceCall call, StaticTensor x) =>
        x.DType.Kind is DatumKind.F32 or DatumKind.F16 && !x.DType.IsQuantized
            ? call.Result(x.Type)
            : throw new UnsupportedFeatureException(null, null, $"{call.Node.Op} on {x.DType}");

    private static StaticOperand RmsNorm(InferenceCall call)
    {
        StaticTensor x = call.Tensor("input");
        long axis = call.Long("axis");
        ShapeRules.Axis(axis < 0 ? axis + x.Rank : axis, x.Rank, "rms_norm");
        _ = call.Float("eps");
        return x.DType.IsFloat ? call.Result(x.Type) : throw new UnsupportedFeatureException(null, null, $"rms_norm on {x.DType}");
    }

    // input * cos + rotate_half(input) * sin, with cos and sin cast to the input type and ranks aligned by trailing unit axes.
    private static StaticOperand ApplyRope(InferenceCall call)
    {
        StaticTensor x = call.Tensor("input");
        StaticTensor cos = call.Tensor("cos");
        StaticTensor sin = call.Tensor("sin");
        if (x.Rank == 0 || !x.Shape[^1].TryGetConstant(out long d) || d % 2 != 0)
        {
            throw new InvalidGraphException(null, $"apply_rope needs an even last axis, got {x}");
        }

        SourceOperators.CheckCast(cos.DType, x.DType);
        SourceOperators.CheckCast(sin.DType, x.DType);
        int rank = Math.Max(x.Rank, Math.Max(cos.Rank, sin.Rank));
        Dim[] shape = ShapeRules.Broadcast(ShapeRules.AppendUnitAxes(x.Shape, rank), ShapeRules.AppendUnitAxes(cos.Shape, rank), ShapeRules.AppendUnitAxes(sin.Shape, rank));
        return call.Result(x.DType, shape);
    }
}
