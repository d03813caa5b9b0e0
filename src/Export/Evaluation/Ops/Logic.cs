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
        nnef.Binary("eq", inv => Compare(inv, Comparison.Equal));
        nnef.Binary("ne", inv => Compare(inv, Comparison.NotEqual));
        nnef.Binary("lt", inv => Compare(inv, Comparison.Less));
        nnef.Binary("gt", inv => Compare(inv, Comparison.Greater));
        nnef.Binary("le", inv => Compare(inv, Comparison.LessOrEqual));
        nnef.Binary("ge", inv => Compare(inv, Comparison.GreaterOrEqual));
        nnef.Primitive("select", Select);
        core.Primitive("tract_core_trilu", Trilu);
    }

    // Both operands in their common super type; IEEE comparisons for floats (NaN compares false, except ne).
    private static TensorOperand Compare(Invocation inv, Comparison comparison)
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
        if (common.IsQuantized)
        {
            a = a.WithType(common.Unquantized);
            b = b.WithType(common.Unquantized);
        }

        return inv.Result(TensorValue.Wrap(DatumType.Bool, shape, ElementWise.Compare(comparison, a, b, shape)));
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
        return inv.Result(TensorValue.Wrap(t.Type, shape, ElementWise.Select(cond, t, f, shape)));
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
        TensorValue result = TensorValue.Zeros(input.Type, input.ShapeArray);
        Array from = input.Data!;
        Array to = result.Data!;
        for (int m = 0; m < input.ElementCount / Math.Max(1, rows * cols); m++)
        {
            for (int row = 0; row < rows; row++)
            {
                // Kept columns: col >= row + k (upper) or col <= row + k (lower), one run per row.
                long first = upper ? Math.Max(0, row + k) : 0;
                long last = upper ? cols : Math.Min(cols, row + k + 1);
                if (last > first)
                {
                    int start = (((m * rows) + row) * cols) + (int)first;
                    Array.Copy(from, start, to, start, (int)(last - first));
                }
            }
        }

        return inv.Result(result);
    }
}
