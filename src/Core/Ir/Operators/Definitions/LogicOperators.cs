using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Comparisons (<c>eq ne lt gt le ge</c>: both operands cast to their common super type, boolean result),
/// <c>select</c> and <c>tract_core_trilu</c>.
/// </summary>
internal static class LogicOperators
{
    public static void Register(CatalogBuilder b)
    {
        const string Nnef = OperatorCatalog.NnefRegistry;
        b.Binary(Nnef, "eq", call => Compare(call, c => c == 0));
        b.Binary(Nnef, "ne", call => Compare(call, c => c != 0));
        b.Binary(Nnef, "lt", call => Compare(call, c => c < 0));
        b.Binary(Nnef, "gt", call => Compare(call, c => c > 0));
        b.Binary(Nnef, "le", call => Compare(call, c => c <= 0));
        b.Binary(Nnef, "ge", call => Compare(call, c => c >= 0));
        b.Primitive(Nnef, "select", "condition: tensor, true_value: tensor, false_value: tensor", Select);
        b.Primitive(OperatorCatalog.CoreRegistry, "tract_core_trilu", "input: tensor, k: tensor, upper: logical", Trilu);
    }

    private static StaticOperand Compare(InferenceCall call, Func<int, bool> predicate)
    {
        StaticTensor a = call.PositionalTensor(0);
        StaticTensor b = call.PositionalTensor(1);
        DatumType common = DatumType.CommonSuperType(a.DType, b.DType)
            ?? throw new InvalidGraphException(null, $"cannot compare {a.DType} with {b.DType}: no common type");
        int rank = Math.Max(a.Rank, b.Rank);
        Dim[] shape = ShapeRules.Broadcast(ShapeRules.AppendUnitAxes(a.Shape, rank), ShapeRules.AppendUnitAxes(b.Shape, rank));
        Dim[]? values = StaticCoerce.TracksValues(common)
            ? ShapeRules.Combine(Aligned(a, rank), Aligned(b, rank), shape, (x, y) => Dim.Compare(x, y, call.LowerBounds) is int c ? (predicate(c) ? 1 : 0) : null)
            : null;
        return call.Result(DatumType.Bool, shape, values);
    }

    private static StaticTensor Aligned(StaticTensor t, int rank) =>
        t.Rank >= rank ? t : t with { Type = new TensorType(t.DType, ShapeRules.AppendUnitAxes(t.Shape, rank)) };

    private static StaticOperand Select(InferenceCall call)
    {
        StaticTensor cond = call.Tensor("condition");
        StaticTensor t = call.Tensor("true_value");
        StaticTensor f = call.Tensor("false_value");
        if (cond.DType.Kind != DatumKind.Bool)
        {
            throw new InvalidGraphException(null, $"select condition must be bool, got {cond.DType}");
        }

        if (t.DType != f.DType)
        {
            throw new InvalidGraphException(null, $"select values must have the same type, got {t.DType} and {f.DType}");
        }

        int rank = Math.Max(cond.Rank, Math.Max(t.Rank, f.Rank));
        (cond, t, f) = (Aligned(cond, rank), Aligned(t, rank), Aligned(f, rank));
        Dim[] shape = ShapeRules.Broadcast(cond.Shape, t.Shape, f.Shape);
        Dim[]? values = null;
        if (cond.Values is not null && t.Values is not null && f.Values is not null
            && ShapeRules.Concrete(shape) is long[] so && ShapeRules.Concrete(cond.Shape) is long[] sc
            && ShapeRules.Concrete(t.Shape) is long[] st && ShapeRules.Concrete(f.Shape) is long[] sf)
        {
            long[] mc = ShapeRules.BroadcastMap(sc, so);
            long[] mt = ShapeRules.BroadcastMap(st, so);
            long[] mf = ShapeRules.BroadcastMap(sf, so);
            values = [.. mc.Select((c, i) => cond.Values[c] == Dim.Of(0) ? f.Values[mf[i]] : t.Values[mt[i]])];
        }

        return call.Result(t.DType, shape, values);
    }

    private static StaticOperand Trilu(InferenceCall call)
    {
        StaticTensor input = call.Tensor("input");
        StaticTensor k = call.Tensor("k");
        _ = call.Bool("upper");
        if (k.Count != 1)
        {
            throw new InvalidGraphException(null, $"trilu k must be a scalar, got {k}");
        }

        if (input.Rank < 2)
        {
            throw new InvalidGraphException(null, $"trilu needs rank >= 2, got {input}");
        }

        return call.Result(input.Type);
    }
}
