using System.Numerics;
using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Binary arithmetic (<c>add sub mul div pow min max</c>, <c>and or</c>) with tract's operand typing and trailing-axis
/// rank alignment, one-input element-wise operators, and <c>leaky_relu</c>.
/// </summary>
internal static class ElementWiseOperators
{
    /// <summary>One-input operators: name, whether tract defines it on integers.</summary>
    private static readonly (string Name, bool Integers)[] Unary =
    [
        ("exp", false), ("log", false), ("sin", false), ("cos", false), ("tan", false), ("acos", false), ("asin", false), ("atan", false),
        ("cosh", false), ("sinh", false), ("acosh", false), ("asinh", false), ("atanh", false), ("abs", true), ("neg", true), ("sign", true),
        ("recip", false), ("floor", false), ("ceil", false), ("round", false), ("tract_core_round_even", false), ("square", true), ("sqrt", false),
        ("rsqrt", false), ("tanh", false), ("sigmoid", false), ("tract_core_erf", false),
    ];

    public static void Register(CatalogBuilder b)
    {
        const string Nnef = OperatorCatalog.NnefRegistry;
        b.Binary(Nnef, "add", call => Arith(call, static (x, y, _) => x + y));
        b.Binary(Nnef, "sub", call => Arith(call, static (x, y, _) => x - y));
        b.Binary(Nnef, "mul", call => Arith(call, static (x, y, _) => x * y));
        b.Binary(Nnef, "div", call => Arith(call, Divide));
        b.Binary(Nnef, "pow", call => Arith(call, static (_, _, _) => null));
        b.Binary(Nnef, "min", call => Arith(call, static (x, y, c) => Dim.Min(x, y, c.LowerBounds)));
        b.Binary(Nnef, "max", call => Arith(call, static (x, y, c) => Dim.Max(x, y, c.LowerBounds)));
        b.Binary(Nnef, "and", call => Logical(call, static (x, y) => x && y));
        b.Binary(Nnef, "or", call => Logical(call, static (x, y) => x || y));
        foreach ((string name, bool integers) in Unary)
        {
            string registry = name.StartsWith("tract_core_", StringComparison.Ordinal) ? OperatorCatalog.CoreRegistry : Nnef;
            b.UnitElementWise(registry, name, call => UnaryOp(call, name, integers));
        }

        b.UnitElementWise(Nnef, "not", call =>
        {
            StaticTensor x = call.PositionalTensor(0);
            return call.Result(DatumType.Bool, x.Shape, x.DType.Kind == DatumKind.Bool ? x.Values?.Select(v => v == Dim.Of(0) ? Dim.Of(1) : Dim.Of(0)).ToArray() : null);
        });
        b.Primitive(Nnef, "leaky_relu", "x: tensor, alpha: scalar", call =>
        {
            StaticTensor x = call.Tensor("x");
            return x.DType.IsFloat ? call.Result(x.Type) : throw new UnsupportedFeatureException(null, null, $"leaky_relu is not defined on {x.DType}");
        });
    }

    /// <summary>Result type and shape of a binary operator on two operands (both already typed).</summary>
    public static (DatumType Operating, DatumType Result, Dim[] Shape) BinaryType(StaticTensor a, StaticTensor b, DatumType? outputQuant)
    {
        DatumType operating = TypeRules.BinaryOperandType(a.DType, a.IsConst, a.Count == 1, b.DType, b.IsConst, b.Count == 1);
        bool bothQuantized = a.DType.IsQuantized && b.DType.IsQuantized;
        if (!bothQuantized)
        {
            SourceOperators.CheckCast(a.DType, operating);
            SourceOperators.CheckCast(b.DType, operating);
        }

        int rank = Math.Max(a.Rank, b.Rank);
        Dim[] shape = ShapeRules.Broadcast(ShapeRules.AppendUnitAxes(a.Shape, rank), ShapeRules.AppendUnitAxes(b.Shape, rank));
        DatumType result = outputQuant ?? (bothQuantized ? a.DType : operating);
        return (operating, result, shape);
    }

    private static StaticOperand Arith(InferenceCall call, Func<Dim, Dim, ValueContext, Dim?> f)
    {
        StaticTensor a = call.PositionalTensor(0);
        StaticTensor b = call.PositionalTensor(1);
        (DatumType operating, DatumType result, Dim[] shape) = BinaryType(a, b, call.OutputQuant);
        Dim[]? values = null;
        if (StaticCoerce.TracksValues(operating) && operating.Kind != DatumKind.Bool && result == operating)
        {
            int rank = shape.Length;
            var context = new ValueContext(operating, b.IsConst, call.LowerBounds);
            values = ShapeRules.Combine(Aligned(a, rank), Aligned(b, rank), shape, (x, y) => f(x, y, context));
        }

        return call.Result(result, shape, values);
    }

    private readonly record struct ValueContext(DatumType Operating, bool DivisorConst, IReadOnlyDictionary<string, long> LowerBounds);

    // Integer division as the evaluator computes it: a constant power-of-two divisor of a plain integer is a shift
    // (floor), anything else truncates toward zero (TDim's rule).
    private static Dim? Divide(Dim x, Dim y, ValueContext c)
    {
        if (!y.TryGetConstant(out long q))
        {
            // A symbolic divisor: known only when it divides exactly (P+S by P+S).
            return x.TryDivideExact(y, out Dim exact) ? exact : null;
        }

        if (q == 0)
        {
            return null;
        }

        if (x.TryGetConstant(out long v))
        {
            bool shift = c.Operating.IsInteger && c.DivisorConst && q > 0 && BitOperations.IsPow2(q);
            return shift ? (long)Math.Floor((double)v / q) : v / q;
        }

        return x / q;
    }

    private static StaticTensor Aligned(StaticTensor t, int rank) =>
        t.Rank >= rank ? t : t with { Type = new TensorType(t.DType, ShapeRules.AppendUnitAxes(t.Shape, rank)) };

    private static StaticOperand Logical(InferenceCall call, Func<bool, bool, bool> f)
    {
        StaticTensor a = call.PositionalTensor(0);
        StaticTensor b = call.PositionalTensor(1);
        int rank = Math.Max(a.Rank, b.Rank);
        Dim[] shape = ShapeRules.Broadcast(ShapeRules.AppendUnitAxes(a.Shape, rank), ShapeRules.AppendUnitAxes(b.Shape, rank));
        Dim[]? values = ShapeRules.Combine(Aligned(a, rank), Aligned(b, rank), shape, (x, y) =>
            Dim.Compare(x, 0) is int cx && Dim.Compare(y, 0) is int cy ? (f(cx != 0, cy != 0) ? 1 : 0) : null);
        return call.Result(DatumType.Bool, shape, values);
    }

    private static StaticOperand UnaryOp(InferenceCall call, string name, bool integers)
    {
        StaticTensor x = call.PositionalTensor(0);
        DatumType? cDt = call.OutputQuant;
        DatumType t = x.DType;
        bool defined = t.IsQuantized || t.IsFloat || (integers && (t.IsInteger || t.Kind == DatumKind.TDim));
        if (!defined)
        {
            throw new UnsupportedFeatureException(null, null, $"{name} is not defined on {t}");
        }

        DatumType result = t.IsQuantized ? cDt ?? t : t.Kind == DatumKind.TDim ? DatumType.I64 : t;
        Dim[]? values = x.Values is null || !StaticCoerce.TracksValues(result) ? null : name switch
        {
            "neg" => [.. x.Values.Select(v => -v)],
            "square" => [.. x.Values.Select(v => v * v)],
            "abs" => x.Values.All(v => Dim.Compare(v, 0) is not null) ? [.. x.Values.Select(v => Dim.Compare(v, 0) < 0 ? -v : v)] : null,
            "sign" => x.Values.All(v => Dim.Compare(v, 0) is not null) ? [.. x.Values.Select(v => Dim.Of(Dim.Compare(v, 0)!.Value))] : null,
            _ => null,
        };
        return call.Result(cDt ?? result, x.Shape, cDt is null ? values : null);
    }
}
