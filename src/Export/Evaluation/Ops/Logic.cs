using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Comparisons (<c>eq ne lt gt le ge</c>: both operands cast to their common super type, trailing-axis rank alignment,
/// boolean result), <c>select</c> (boolean condition, values of identical type, no reconciliation) and
/// <c>tract_core_trilu</c>.
/// </summary>
internal static class Logic
{
    public static void Register(OpRegistry nnef, OpRegistry core)
    {
        nnef.Binary("eq", inv => Compare(inv, c => c == 0));
        nnef.Binary("ne", inv => Compare(inv, c => c != 0));
        nnef.Binary("lt", inv => Compare(inv, c => c < 0));
        nnef.Binary("gt", inv => Compare(inv, c => c > 0));
        nnef.Binary("le", inv => Compare(inv, c => c <= 0));
        nnef.Binary("ge", inv => Compare(inv, c => c >= 0));
        nnef.Primitive("select", Select);
        core.Primitive("tract_core_trilu", Trilu);
    }

    // Comparison result as an int: -1/0/1, or 2 when unordered (NaN), which every predicate but `ne` rejects.
    private static TensorOperand Compare(Invocation inv, Func<int, bool> predicate)
    {
        TensorValue a = inv.PositionalTensor(0).Value;
        TensorValue b = inv.PositionalTensor(1).Value;
        DatumType common = DatumType.CommonSuperType(a.Type, b.Type)
            ?? throw new InvalidGraphException(null, $"cannot compare {a.Type} with {b.Type}: no common type");
        a = Cast.To(a, common);
        b = Cast.To(b, common);
        int rank = Math.Max(a.Rank, b.Rank);
        a = Layout.AppendUnitAxes(a, rank);
        b = Layout.AppendUnitAxes(b, rank);
        int[] shape = Layout.BroadcastShape(a.ShapeArray, b.ShapeArray);
        Func<int, bool> p = predicate;
        bool[] r = common.Kind switch
        {
            DatumKind.F16 or DatumKind.F32 or DatumKind.F64 => ElementWise.Map<double, bool>(
                TensorValue.Wrap(DatumType.F64, a.ShapeArray, Cast.ToDoubles(a)),
                TensorValue.Wrap(DatumType.F64, b.ShapeArray, Cast.ToDoubles(b)),
                shape,
                (x, y) => double.IsNaN(x) || double.IsNaN(y) ? p(2) && p(-2) : p(x.CompareTo(y))),
            DatumKind.String => ElementWise.Map<string, bool>(a, b, shape, (x, y) => p(Math.Sign(string.CompareOrdinal(x, y)))),
            DatumKind.U64 => ElementWise.Map<ulong, bool>(a, b, shape, (x, y) => p(x.CompareTo(y))),
            _ => ElementWise.Map<long, bool>(
                TensorValue.Wrap(DatumType.I64, a.ShapeArray, Cast.ToLongs(a)),
                TensorValue.Wrap(DatumType.I64, b.ShapeArray, Cast.ToLongs(b)),
                shape,
                (x, y) => p(x.CompareTo(y))),
        };
        return inv.Result(TensorValue.Wrap(DatumType.Bool, shape, r));
    }

    private static TensorOperand Select(Invocation inv)
    {
        TensorValue cond = inv.Tensor("condition");
        TensorValue t = inv.Tensor("true_value");
        TensorValue f = inv.Tensor("false_value");
        if (cond.Type.Kind != DatumKind.Bool)
        {
            throw new InvalidGraphException(null, $"select condition must be bool, got {cond.Type}");
        }

        if (t.Type != f.Type)
        {
            throw new InvalidGraphException(null, $"select values must have the same type, got {t.Type} and {f.Type}");
        }

        int rank = Math.Max(cond.Rank, Math.Max(t.Rank, f.Rank));
        cond = Layout.AppendUnitAxes(cond, rank);
        t = Layout.AppendUnitAxes(t, rank);
        f = Layout.AppendUnitAxes(f, rank);
        int[] shape = Layout.BroadcastShape(cond.ShapeArray, t.ShapeArray, f.ShapeArray);
        int[] mc = Layout.BroadcastMap(cond.Shape, shape);
        int[] mt = Layout.BroadcastMap(t.Shape, shape);
        int[] mf = Layout.BroadcastMap(f.Shape, shape);
        bool[] c = cond.Items<bool>();
        int[] map = new int[mc.Length];
        TensorValue both = Shapes.ConcatValues([t.WithShape([t.ElementCount]), f.WithShape([f.ElementCount])], 0);
        for (int i = 0; i < map.Length; i++)
        {
            map[i] = c[mc[i]] ? mt[i] : t.ElementCount + mf[i];
        }

        return inv.Result(Layout.Take(both, shape, map));
    }

    // Zeroes, on the last two axes, col < row + k (upper) or col > row + k (lower).
    private static TensorOperand Trilu(Invocation inv)
    {
        TensorValue input = inv.Tensor("input");
        TensorValue kValue = inv.Tensor("k");
        long k = kValue.ElementCount == 1 ? Cast.ToLongs(Cast.To(kValue, DatumType.I64))[0] : throw new InvalidGraphException(null, $"trilu k must be a scalar, got {kValue}");
        bool upper = inv.Bool("upper");
        if (input.Rank < 2)
        {
            throw new InvalidGraphException(null, $"trilu needs rank >= 2, got {input}");
        }

        int rows = input.Shape[^2];
        int cols = input.Shape[^1];
        TensorValue zero = TensorValue.Zeros(input.Type, [1]);
        TensorValue both = Shapes.ConcatValues([input.WithShape([input.ElementCount]), zero], 0);
        var map = new int[input.ElementCount];
        for (int i = 0; i < map.Length; i++)
        {
            int col = i % cols;
            int row = i / cols % rows;
            bool keep = upper ? col >= row + k : col <= row + k;
            map[i] = keep ? i : input.ElementCount;
        }

        return inv.Result(Layout.Take(both, input.ShapeArray, map));
    }
}
