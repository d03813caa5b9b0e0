using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// NNEF <c>matmul</c> (equal ranks, a Q4_0 operand counting with its logical shape, last two axes multiplied, leading
/// axes broadcast, output in the plain operand's type or, quantized, in the <c>graph.quant</c> type or the i32
/// accumulator) and <c>tract_core_einsum</c> (output in <c>acc</c>).
/// </summary>
internal static class ProductOperators
{
    private const string BatchLetters = "ABCDEFGHIJ";

    public static void Register(CatalogBuilder b)
    {
        b.Primitive(OperatorCatalog.NnefRegistry, "matmul", "A: tensor, B: tensor, transposeA: logical = false, transposeB: logical = false", MatMul);
        b.Primitive(OperatorCatalog.CoreRegistry, "tract_core_einsum", "inputs: tensor[], expr: string, acc: string, output: string = ''", Einsum);
    }

    /// <summary>Output dimensions of <c>aAxes,bAxes-&gt;outAxes</c>: sizes per letter, a size-1 axis broadcasting against the other.</summary>
    public static Dim[] Contract(IReadOnlyList<(string Axes, IReadOnlyList<Dim> Shape)> operands, string outAxes)
    {
        if (outAxes.Distinct().Count() != outAxes.Length)
        {
            throw new InvalidGraphException(null, $"einsum output '{outAxes}' repeats an axis");
        }

        var size = new Dictionary<char, Dim>();
        foreach ((string axes, IReadOnlyList<Dim> shape) in operands)
        {
            if (axes.Length != shape.Count)
            {
                throw new InvalidGraphException(null, $"einsum operand '{axes}' has rank {shape.Count}");
            }

            for (int i = 0; i < axes.Length; i++)
            {
                Dim d = shape[i];
                if (!size.TryGetValue(axes[i], out Dim? seen) || ShapeRules.IsOne(seen))
                {
                    size[axes[i]] = d;
                }
                else if (seen != d && !ShapeRules.IsOne(d))
                {
                    throw new InvalidGraphException(null, $"einsum axis '{axes[i]}' is {seen} in one operand and {d} in another");
                }
            }
        }

        return [.. outAxes.Select(c => size.TryGetValue(c, out Dim? d) ? d : throw new InvalidGraphException(null, $"einsum output axis '{c}' appears in no input"))];
    }

    private static StaticOperand MatMul(InferenceCall call)
    {
        StaticTensor a = call.Tensor("A");
        StaticTensor b = call.Tensor("B");
        bool ta = call.Bool("transposeA");
        bool tb = call.Bool("transposeB");
        bool aq = a.DType.Kind == DatumKind.BlockQuant;
        bool bq = b.DType.Kind == DatumKind.BlockQuant;
        if (aq && bq)
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

        string batch = BatchLetters[..(a.Rank - 2)];
        string aAxes = batch + (ta ? "km" : "mk");
        string bAxes = batch + (tb ? "nk" : "kn");
        Dim ka = a.Shape[ta ? a.Rank - 2 : a.Rank - 1];
        Dim kb = b.Shape[tb ? b.Rank - 1 : b.Rank - 2];
        if (ka != kb)
        {
            throw new InvalidGraphException(null, $"matmul inner dimensions differ: {a}{(ta ? "ᵀ" : string.Empty)} by {b}{(tb ? "ᵀ" : string.Empty)} ({ka} against {kb})");
        }

        Dim[] shape = Contract([(aAxes, a.Shape), (bAxes, b.Shape)], batch + "mn");

        if (a.DType.IsQuantized || b.DType.IsQuantized)
        {
            QuantParams qa = a.DType.ZpScale;
            QuantParams qb = b.DType.ZpScale;
            return call.Result(call.OutputQuant ?? DatumType.QI32(0, qa.Scale * qb.Scale), shape);
        }

        DatumType operating = aq ? b.DType : a.DType;
        if (!(operating.IsFloat || operating.IsInteger || operating.Kind == DatumKind.TDim))
        {
            throw new UnsupportedFeatureException(null, null, $"products of {operating} values");
        }

        if (!aq && !bq)
        {
            // A Q4_0 operand is dequantized into the operating type; a plain B is cast to A's type.
            SourceOperators.CheckCast(b.DType, operating);
        }

        return call.Result(operating, shape);
    }

    private static StaticOperand Einsum(InferenceCall call)
    {
        List<StaticTensor> inputs = call.Tensors("inputs");
        string expr = call.String("expr");
        string accName = call.String("acc");
        DatumType acc = DatumType.TryParse(accName, out DatumType t) ? t : throw new InvalidGraphException(null, $"unknown accumulator type '{accName}'");
        (string[] operandAxes, string outAxes) = ParseExpression(expr, inputs.Count);
        for (int i = 0; i < inputs.Count; i++)
        {
            if (operandAxes[i].Length != inputs[i].Rank)
            {
                throw new InvalidGraphException(null, $"einsum '{expr}': operand {i} is {inputs[i]}, expected rank {operandAxes[i].Length}");
            }
        }

        Dim[] shape = Contract([.. operandAxes.Select((axes, i) => (axes, inputs[i].Shape))], outAxes);
        return call.Result(acc, shape);
    }

    /// <summary>Operand and output axes of an einsum expression (implicit output: letters seen once, sorted).</summary>
    public static (string[] Operands, string Output) ParseExpression(string expr, int inputCount)
    {
        string compact = new([.. expr.Where(c => !char.IsWhiteSpace(c))]);
        int arrow = compact.IndexOf("->", StringComparison.Ordinal);
        string left = arrow >= 0 ? compact[..arrow] : compact;
        string[] operands = left.Split(',');
        string output = arrow >= 0
            ? compact[(arrow + 2)..]
            : new string([.. operands.SelectMany(o => o).GroupBy(c => c).Where(g => g.Count() == 1).Select(g => g.Key).Order()]);
        if (operands.Length != inputCount || operands.Concat([output]).Any(o => o.Any(c => !char.IsAsciiLetter(c))))
        {
            throw new InvalidGraphException(null, $"einsum expression '{expr}' does not describe {inputCount} operand(s)");
        }

        return (operands, output);
    }
}
