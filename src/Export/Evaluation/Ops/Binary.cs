using System.Numerics;
using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// Binary operators of the <c>tract_nnef</c> registry (<c>add sub mul div pow min max and or</c>) with tract's operand
/// typing (<c>registry.rs</c> <c>deserialize</c>, nnef-archive.md §2.5): the common type when both agree; TDim only with
/// signed integers; otherwise a one-element constant, then a constant node, takes the other operand's type; else the
/// common super type. Both operands are cast (unless both are quantized), ranks are equalized by trailing unit axes,
/// and shapes broadcast numpy-style. Decluttering rewrites are applied: float <c>a / b</c> is <c>a * recip(b)</c>,
/// <c>pow(x, 2.0)</c> is <c>x * x</c>, <c>pow(x, 0.5)</c> is <c>sqrt(x)</c>, integer division by a constant power of two is an
/// arithmetic shift, multiplication by a constant zero gives zeros.
/// </summary>
internal static class Binary
{
    public static void Register(OpRegistry nnef)
    {
        nnef.Binary("add", inv => Arith(inv, ArithOp.Add));
        nnef.Binary("sub", inv => Arith(inv, ArithOp.Sub));
        nnef.Binary("mul", inv => Arith(inv, ArithOp.Mul));
        nnef.Binary("div", inv => Arith(inv, ArithOp.Div));
        nnef.Binary("pow", inv => Arith(inv, ArithOp.Pow));
        nnef.Binary("min", inv => Arith(inv, ArithOp.Min));
        nnef.Binary("max", inv => Arith(inv, ArithOp.Max));
        nnef.Binary("and", inv => Logical(inv, and: true));
        nnef.Binary("or", inv => Logical(inv, and: false));
    }

    /// <summary>Evaluates <paramref name="op"/> on two plain values of the same type (ranks already equal).</summary>
    public static TensorValue Evaluate(ArithOp op, TensorValue a, TensorValue b, int threads = 1)
    {
        int[] shape = Layout.BroadcastShape(a.ShapeArray, b.ShapeArray);
        return TensorValue.Wrap(a.Type, shape, ElementWise.Arithmetic(op, a, b, shape, threads));
    }

    private static TensorOperand Arith(Invocation inv, ArithOp op)
    {
        TensorOperand a = inv.PositionalTensor(0);
        TensorOperand b = inv.PositionalTensor(1);
        DatumType aDt = a.Value.Type;
        DatumType bDt = b.Value.Type;
        DatumType operating = OperatingType(a, b);
        TensorValue x = a.Value;
        TensorValue y = b.Value;
        if (!aDt.IsQuantized || !bDt.IsQuantized)
        {
            x = Cast.To(x, operating);
            y = Cast.To(y, operating);
        }

        int rank = Math.Max(x.Rank, y.Rank);
        x = Layout.AppendUnitAxes(x, rank);
        y = Layout.AppendUnitAxes(y, rank);
        DatumType? cDt = inv.OutputQuant;
        TensorValue result = x.Type.IsQuantized || y.Type.IsQuantized
            ? Quantized(op, x, y, cDt)
            : Plain(op, x, y, a.IsConst, b.IsConst, Gemm.Threads(inv.Context.ParallelOptions));
        if (cDt is DatumType c && result.Type != c)
        {
            result = Cast.To(result, c);
        }

        return inv.Result(result);
    }

    private static TensorValue Plain(ArithOp op, TensorValue x, TensorValue y, bool xConst, bool yConst, int threads)
    {
        if (op == ArithOp.Pow && yConst && IsUniform(y, out double e) && x.Type.IsFloat)
        {
            if (e == 2.0)
            {
                return Evaluate(ArithOp.Mul, x, x, threads);
            }

            if (e == 0.5)
            {
                return Unary.Apply("sqrt", x);
            }
        }

        if (op == ArithOp.Mul && !x.Type.IsQuantized && ((xConst && IsUniform(x, out double zx) && zx == 0) || (yConst && IsUniform(y, out double zy) && zy == 0)) && x.Type.Kind != DatumKind.TDim)
        {
            int[] shape = Layout.BroadcastShape(x.ShapeArray, y.ShapeArray);
            return TensorValue.Zeros(x.Type, shape);
        }

        if (op == ArithOp.Div && x.Type.IsInteger && yConst && IsUniform(y, out double d) && d > 0 && d == Math.Floor(d) && long.IsPow2((long)d))
        {
            int shift = BitOperations.TrailingZeroCount((long)d);
            return ShiftRight(x, y, shift);
        }

        return Evaluate(op, x, y, threads);
    }

    private static TensorValue ShiftRight(TensorValue x, TensorValue y, int shift)
    {
        int[] shape = Layout.BroadcastShape(x.ShapeArray, y.ShapeArray);
        long[] v = Cast.ToLongs(Layout.BroadcastTo(Cast.To(x, DatumType.I64), shape));
        var r = new long[v.Length];
        bool unsigned = !x.Type.IsSigned;
        for (int i = 0; i < r.Length; i++)
        {
            r[i] = unsigned ? (long)((ulong)v[i] >> shift) : v[i] >> shift;
        }

        return Cast.To(TensorValue.Wrap(DatumType.I64, shape, r), x.Type);
    }

    // Both quantized: min/max of equal types compare raw codes; other operators run on dequantized f32 values and are
    // requantized to the graph.quant type (or the left operand's), as tract's q_op_on_f32 fallback.
    private static TensorValue Quantized(ArithOp op, TensorValue x, TensorValue y, DatumType? cDt)
    {
        if (op is ArithOp.Min or ArithOp.Max && x.Type == y.Type)
        {
            TensorValue raw = Evaluate(op, x.WithType(x.Type.Unquantized), y.WithType(y.Type.Unquantized));
            return raw.WithType(x.Type);
        }

        if (!x.Type.IsQuantized || !y.Type.IsQuantized)
        {
            throw new UnsupportedFeatureException(null, null, $"{op.ToString().ToLowerInvariant()} of {x.Type} and {y.Type}");
        }

        TensorValue f = Evaluate(op, Cast.To(x, DatumType.F32), Cast.To(y, DatumType.F32));
        return Cast.To(f, cDt ?? x.Type);
    }

    private static TensorOperand Logical(Invocation inv, bool and)
    {
        TensorValue a = Cast.To(inv.PositionalTensor(0).Value, DatumType.Bool);
        TensorValue b = Cast.To(inv.PositionalTensor(1).Value, DatumType.Bool);
        int rank = Math.Max(a.Rank, b.Rank);
        a = Layout.AppendUnitAxes(a, rank);
        b = Layout.AppendUnitAxes(b, rank);
        int[] shape = Layout.BroadcastShape(a.ShapeArray, b.ShapeArray);
        return inv.Result(TensorValue.Wrap(DatumType.Bool, shape, ElementWise.Logical(and, a, b, shape, 1)));
    }

    /// <summary>tract's operand typing for binary operators (the rule shape inference applies too).</summary>
    internal static DatumType OperatingType(TensorOperand a, TensorOperand b) =>
        TypeRules.BinaryOperandType(a.Value.Type, a.IsConst, a.Value.ElementCount == 1, b.Value.Type, b.IsConst, b.Value.ElementCount == 1);

    internal static bool IsUniform(TensorValue v, out double value)
    {
        value = 0;
        if (v.ElementCount == 0 || !v.Type.IsNumber || v.Type.IsQuantized)
        {
            return false;
        }

        if (v.Type.Kind == DatumKind.F32)
        {
            // The common case (a weight or a literal operand), read in place rather than through a double[] copy.
            ReadOnlySpan<float> f = v.Span<float>();
            value = f[0];
            for (int i = 1; i < f.Length; i++)
            {
                if (!f[i].Equals(f[0]))
                {
                    return false;
                }
            }

            return true;
        }

        double[] d = Cast.ToDoubles(v.Type.Kind == DatumKind.TDim ? v.WithType(DatumType.I64) : v);
        value = d[0];
        for (int i = 1; i < d.Length; i++)
        {
            if (!d[i].Equals(d[0]))
            {
                return false;
            }
        }

        return true;
    }
}
