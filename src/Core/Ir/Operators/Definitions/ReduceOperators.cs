using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Reductions keeping the reduced axes with size 1 (sum with optional normalization, max, min, product; argmax and
/// argmin give i64), softmax and log-softmax.
/// </summary>
internal static class ReduceOperators
{
    public static void Register(CatalogBuilder b)
    {
        const string Nnef = OperatorCatalog.NnefRegistry;
        const string Core = OperatorCatalog.CoreRegistry;
        b.Primitive(Nnef, "sum_reduce", "input: tensor, axes: integer[], normalize: logical = false", call => Reduce(call, index: false, sum: true));
        foreach (string op in new[] { "max_reduce", "min_reduce" })
        {
            b.Primitive(Nnef, op, "input: tensor, axes: integer[]", call => Reduce(call, index: false, sum: false));
        }

        foreach (string op in new[] { "argmax_reduce", "argmin_reduce" })
        {
            b.Primitive(Nnef, op, "input: tensor, axes: integer[]", call => Reduce(call, index: true, sum: false));
        }

        foreach (string op in new[] { "tract_core_argmax_reduce_last", "tract_core_argmin_reduce_last" })
        {
            b.Primitive(Core, op, "input: tensor, axes: integer[]", call => Reduce(call, index: true, sum: false));
        }

        b.Primitive(Core, "tract_core_product_reduce", "input: tensor, axes: integer[]", call => Reduce(call, index: false, sum: true));
        b.Primitive(Nnef, "softmax", "x: tensor, axes: integer[] = [1]", FloatOverAxes);
        b.Primitive(Core, "tract_core_softmax", "x: tensor, axes: integer[], exp: string = ''", FloatOverAxes);
        b.Primitive(Core, "tract_core_log_softmax", "x: tensor, axes: integer[]", FloatOverAxes);
    }

    /// <summary>The input shape with <paramref name="axes"/> set to 1 (each axis checked against the rank).</summary>
    public static Dim[] Reduced(StaticTensor x, int[] axes)
    {
        Dim[] shape = [.. x.Shape];
        foreach (int a in axes)
        {
            shape[ShapeRules.Axis(a, x.Rank, "reduction")] = 1;
        }

        return shape;
    }

    private static StaticOperand Reduce(InferenceCall call, bool index, bool sum)
    {
        StaticTensor x = call.Tensor("input");
        Dim[] shape = Reduced(x, call.Ints("axes"));
        if (sum && !(x.DType.IsFloat || x.DType.IsInteger || x.DType.Kind == DatumKind.TDim))
        {
            throw new UnsupportedFeatureException(null, null, $"reduction of {x.DType}");
        }

        if (call.Schema.Parameter("normalize") is not null)
        {
            _ = call.Bool("normalize");
        }

        return call.Result(index ? DatumType.I64 : x.DType, shape);
    }

    private static StaticOperand FloatOverAxes(InferenceCall call)
    {
        StaticTensor x = call.Tensor("x");
        _ = Reduced(x, call.Ints("axes"));
        return x.DType.IsFloat ? call.Result(x.Type) : throw new UnsupportedFeatureException(null, null, $"{call.Node.Op} on {x.DType}");
    }
}
