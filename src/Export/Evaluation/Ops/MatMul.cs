using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation.Kernels;

namespace TorchToNnef.Export.Evaluation.Ops;

/// <summary>
/// NNEF <c>matmul</c> and <c>tract_core_einsum</c>. matmul: equal ranks (a Q4_0 operand counts with its logical shape),
/// last two axes multiplied, leading axes broadcast; the operating and output type is the plain operand's (A's when
/// both are plain; B is converted to it). einsum: every input converted to <c>acc</c> (Q4_0 dequantized into it), the
/// output in <c>acc</c>. f32 products accumulate in f32; f16 products are computed from exactly widened f16 values,
/// accumulated in f32 and rounded once to f16 (tract's f16 kernels may accumulate in f32, ops-in-goldens.md §5).
/// Quantized operands accumulate <c>Σ (a − za)(b − zb)</c> exactly in i32 and are requantized to the output type.
/// </summary>
internal static class MatMul
{
    private const string BatchLetters = "ABCDEFGHIJ";

    // Plans kept per statement: enough for the distinct shapes the callers of a fragment usually give.
    private const int KeptPlans = 8;

    public static void Register(OpRegistry nnef, OpRegistry core)
    {
        nnef.Primitive("matmul", MatMulOp);
        core.Primitive("tract_core_einsum", Einsum);
    }

    /// <summary>
    /// <paramref name="v"/> as the float kernels read it after conversion to the operating type
    /// <paramref name="operating"/> (f32 or f16): f32 and f16 values and Q4_0 blocks are read in place (Q4_0 decoded
    /// exactly for f32, rounded to f16 for f16); other types are converted first.
    /// </summary>
    public static OperandSource Source(TensorValue v, DatumType operating)
    {
        if (v.BlockQuant is BlockQuantData bq)
        {
            return OperandSource.Of(bq, roundToHalf: operating.Kind == DatumKind.F16);
        }

        if (operating.Kind == DatumKind.F16)
        {
            return OperandSource.Of(Cast.To(v, DatumType.F16).Items<Half>());
        }

        return v.Type.Kind == DatumKind.F16 && !v.Type.IsQuantized
            ? OperandSource.Of(v.Items<Half>())
            : OperandSource.Of(Cast.To(v, DatumType.F32).Items<float>());
    }

    /// <summary>Contracts two operands of <paramref name="operating"/> type (float or plain integer) and returns the result in that type.</summary>
    public static TensorValue Contract(string aAxes, TensorValue a, string bAxes, TensorValue b, string outAxes, DatumType operating, ParallelOptions parallel)
    {
        if (operating.IsFloat && operating.Kind != DatumKind.F64)
        {
            OperandSource sa = Source(a, operating);
            OperandSource sb = Source(b, operating);
            (int[] shapeA, string la) = (a.ShapeArray, aAxes);
            (int[] shapeB, string lb) = (b.ShapeArray, bAxes);
            if (aAxes.Any(c => !bAxes.Contains(c) && !outAxes.Contains(c)))
            {
                (float[] reduced, shapeA, la) = Contraction.ReduceLonely(sa.ToSingle(), shapeA, aAxes, bAxes, outAxes);
                sa = OperandSource.Of(reduced);
            }

            if (lb.Any(c => !la.Contains(c) && !outAxes.Contains(c)))
            {
                (float[] reduced, shapeB, lb) = Contraction.ReduceLonely(sb.ToSingle(), shapeB, lb, la, outAxes);
                sb = OperandSource.Of(reduced);
            }

            Contraction plan = Contraction.Plan(la, shapeA, lb, shapeB, outAxes);
            float[] r = plan.RunF32(sa, sb, KernelWidths.Active, Gemm.Threads(parallel));
            return Cast.To(TensorValue.Wrap(DatumType.F32, plan.OutShape, r), operating);
        }

        if (operating.Kind == DatumKind.F64)
        {
            CheckNoLonely(aAxes, bAxes, outAxes);
            Contraction plan = Contraction.Plan(aAxes, a.ShapeArray, bAxes, b.ShapeArray, outAxes);
            double[] r = plan.RunSequential(Cast.ToDoubles(Cast.To(a, operating)), Cast.ToDoubles(Cast.To(b, operating)));
            return TensorValue.Wrap(DatumType.F64, plan.OutShape, r);
        }

        if (operating.IsInteger || operating.Kind == DatumKind.TDim)
        {
            CheckNoLonely(aAxes, bAxes, outAxes);
            Contraction plan = Contraction.Plan(aAxes, a.ShapeArray, bAxes, b.ShapeArray, outAxes);
            long[] r = plan.RunSequential(Cast.ToLongs(Cast.To(a, operating)), Cast.ToLongs(Cast.To(b, operating)));
            return Cast.To(TensorValue.Wrap(DatumType.I64, plan.OutShape, r), operating.Kind == DatumKind.TDim ? DatumType.TDim : operating);
        }

        throw new UnsupportedFeatureException(null, null, $"products of {operating} values");
    }

    private static TensorOperand MatMulOp(Invocation inv)
    {
        TensorValue a = inv.Tensor("A");
        TensorValue b = inv.Tensor("B");
        bool ta = inv.Bool("transposeA");
        bool tb = inv.Bool("transposeB");
        if (a.BlockQuant is not null && b.BlockQuant is not null)
        {
            throw new UnsupportedFeatureException(null, null, "matmul of two Q4_0 operands");
        }

        if (a.Rank != b.Rank)
        {
            throw new InvalidGraphException(null, $"matmul operands must have the same rank, got {a} and {b}");
        }

        if (a.Rank < 2)
        {
            throw new InvalidGraphException(null, $"matmul needs rank >= 2, got {a} and {b}");
        }

        DatumType operating = a.BlockQuant is not null ? b.Type : a.Type;
        if (!a.Type.IsQuantized && !b.Type.IsQuantized && operating.IsFloat && operating.Kind != DatumKind.F64)
        {
            // The plan depends on the shapes and transpositions only: made once, reused while they come again (a
            // statement of a fragment body keeps one per shape its callers give it, up to a few).
            PlannedProduct[] kept = inv.State as PlannedProduct[] ?? [];
            PlannedProduct? planned = Array.Find(kept, p => p.Fits(a.ShapeArray, b.ShapeArray, ta, tb));
            if (planned is null)
            {
                (string pa, string pb, string po) = Axes(a.Rank, ta, tb);
                planned = new PlannedProduct(a.ShapeArray, b.ShapeArray, ta, tb, Contraction.Plan(pa, a.ShapeArray, pb, b.ShapeArray, po));
                inv.State = (PlannedProduct[])[planned, .. kept.Take(KeptPlans - 1)];
            }

            float[] r = planned.Plan.RunF32(Source(a, operating), Source(b, operating), KernelWidths.Active, Gemm.Threads(inv.Context.ParallelOptions), inv.Context.Options.StreamedWeightBlockBytes);
            return inv.Result(Cast.To(TensorValue.Wrap(DatumType.F32, planned.Plan.OutShape, r), operating));
        }

        (string aAxes, string bAxes, string outAxes) = Axes(a.Rank, ta, tb);
        if (a.Type.IsQuantized || b.Type.IsQuantized)
        {
            return inv.Result(Quantized(aAxes, a, bAxes, b, outAxes, inv.OutputQuant));
        }

        return inv.Result(Contract(aAxes, a, bAxes, b, outAxes, operating, inv.Context.ParallelOptions));
    }

    // matmul as a contraction: leading axes batch, the last two (m, k) x (k, n), either transposed.
    private static (string A, string B, string Out) Axes(int rank, bool ta, bool tb)
    {
        string batch = BatchLetters[..(rank - 2)];
        return (batch + (ta ? "km" : "mk"), batch + (tb ? "nk" : "kn"), batch + "mn");
    }

    // A float matmul's plan with the operand shapes it was made for.
    private sealed record PlannedProduct(int[] AShape, int[] BShape, bool TransposeA, bool TransposeB, Contraction Plan)
    {
        public bool Fits(int[] a, int[] b, bool ta, bool tb) =>
            ta == TransposeA && tb == TransposeB && a.AsSpan().SequenceEqual(AShape) && b.AsSpan().SequenceEqual(BShape);
    }

    // tract: accumulator QI32(sa * sb, 0); the output is the graph.quant type when given, else that accumulator.
    private static TensorValue Quantized(string aAxes, TensorValue a, string bAxes, TensorValue b, string outAxes, DatumType? outputQuant)
    {
        QuantParams qa = a.Type.ZpScale;
        QuantParams qb = b.Type.ZpScale;
        DatumType accum = DatumType.QI32(0, qa.Scale * qb.Scale);
        DatumType output = outputQuant ?? accum;
        long[] x = Centered(Cast.ToLongs(a), qa.ZeroPoint);
        long[] y = Centered(Cast.ToLongs(b), qb.ZeroPoint);
        CheckNoLonely(aAxes, bAxes, outAxes);
        Contraction plan = Contraction.Plan(aAxes, a.ShapeArray, bAxes, b.ShapeArray, outAxes);
        long[] acc = plan.RunSequential(x, y);
        return Requantize(acc, plan.OutShape, qa.Scale * qb.Scale, output);
    }

    /// <summary>
    /// i32 accumulator to the output type: raw for QI32/i32 outputs with the accumulator's scale, else
    /// <c>zy + sign(acc) · round_half_even(|acc| · (s_acc / sy))</c> saturated (tract's <c>scale_by</c>).
    /// </summary>
    public static TensorValue Requantize(long[] acc, int[] shape, float accScale, DatumType output)
    {
        if (!output.IsQuantized)
        {
            return Cast.To(TensorValue.Wrap(DatumType.I64, shape, acc), output);
        }

        QuantParams q = output.Quant!.Value;
        bool raw = output.Kind == DatumKind.I32 && q.ZeroPoint == 0 && q.Scale == accScale;
        float factor = accScale / q.Scale;
        (long lo, long hi) = output.Kind switch
        {
            DatumKind.U8 => (0L, 255L),
            DatumKind.I8 => (-128L, 127L),
            DatumKind.U32 => (0L, (long)uint.MaxValue),
            _ => ((long)int.MinValue, (long)int.MaxValue),
        };
        var clamped = new long[acc.Length];
        for (int i = 0; i < acc.Length; i++)
        {
            long v = raw ? acc[i] : q.ZeroPoint + (long)Cast.ScaleBy(checked((int)acc[i]), factor);
            clamped[i] = Math.Clamp(v, lo, hi);
        }

        return Cast.To(TensorValue.Wrap(DatumType.I64, shape, clamped), output.Unquantized).WithType(output);
    }

    /// <summary>Quantized codes minus their zero point, exact in 64 bits.</summary>
    public static long[] Centered(long[] codes, int zeroPoint)
    {
        var r = new long[codes.Length];
        for (int i = 0; i < codes.Length; i++)
        {
            r[i] = codes[i] - zeroPoint;
        }

        return r;
    }

    private static TensorOperand Einsum(Invocation inv)
    {
        List<TensorValue> inputs = inv.Tensors("inputs");
        string expr = inv.String("expr");
        string accName = inv.String("acc");
        DatumType acc = DatumType.TryParse(accName, out DatumType t) ? t : throw new InvalidGraphException(null, $"unknown accumulator type '{accName}'");
        (string[] operandAxes, string outAxes) = ParseExpression(expr, inputs.Count);
        for (int i = 0; i < inputs.Count; i++)
        {
            if (operandAxes[i].Length != inputs[i].Rank)
            {
                throw new InvalidGraphException(null, $"einsum '{expr}': operand {i} is {inputs[i]}, expected rank {operandAxes[i].Length}");
            }
        }

        if (inputs.Count == 1)
        {
            TensorValue one = Cast.To(TensorValue.ScalarF32(1f), acc.IsFloat ? acc : DatumType.F32);
            return inv.Result(Contract(operandAxes[0], inputs[0], string.Empty, one, outAxes, acc, inv.Context.ParallelOptions));
        }

        TensorValue current = inputs[0];
        string currentAxes = operandAxes[0];
        for (int i = 1; i < inputs.Count; i++)
        {
            string later = string.Concat(operandAxes.Skip(i + 1)) + outAxes;
            string target = i == inputs.Count - 1
                ? outAxes
                : new string((currentAxes + operandAxes[i]).Distinct().Where(c => later.Contains(c)).ToArray());
            current = Contract(currentAxes, current, operandAxes[i], inputs[i], target, acc, inv.Context.ParallelOptions);
            currentAxes = target;
        }

        return inv.Result(current);
    }

    private static (string[] Operands, string Output) ParseExpression(string expr, int inputCount)
    {
        string compact = new(expr.Where(c => !char.IsWhiteSpace(c)).ToArray());
        int arrow = compact.IndexOf("->", StringComparison.Ordinal);
        string left = arrow >= 0 ? compact[..arrow] : compact;
        string[] operands = left.Split(',');
        string output = arrow >= 0
            ? compact[(arrow + 2)..]
            : new string(operands.SelectMany(o => o).GroupBy(c => c).Where(g => g.Count() == 1).Select(g => g.Key).Order().ToArray());
        if (operands.Length != inputCount || operands.Concat([output]).Any(o => o.Any(c => !char.IsAsciiLetter(c))))
        {
            throw new InvalidGraphException(null, $"einsum expression '{expr}' does not describe {inputCount} operand(s)");
        }

        return (operands, output);
    }

    private static void CheckNoLonely(string aAxes, string bAxes, string outAxes)
    {
        if (aAxes.Any(c => !bAxes.Contains(c) && !outAxes.Contains(c)) || bAxes.Any(c => !aAxes.Contains(c) && !outAxes.Contains(c)))
        {
            throw new UnsupportedFeatureException(null, null, $"einsum '{aAxes},{bAxes}->{outAxes}' sums an axis of one operand on integer or f64 data");
        }
    }
}
