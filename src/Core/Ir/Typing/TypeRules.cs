using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>tract's typing rules that several operators share, used by shape inference and by the evaluator alike.</summary>
public static class TypeRules
{
    /// <summary>
    /// The type both operands of a binary operator are cast to (tract's <c>registry.rs</c> <c>deserialize</c>): their
    /// type when they agree; the common super type when one is a TDim or a string; otherwise a one-element constant,
    /// then any constant, takes the other operand's type; else the common super type.
    /// </summary>
    /// <param name="a">Type of the first operand.</param>
    /// <param name="aConst">Whether tract holds the first operand as a constant.</param>
    /// <param name="aSingle">Whether the first operand has exactly one element.</param>
    /// <param name="b">Type of the second operand.</param>
    /// <param name="bConst">Whether tract holds the second operand as a constant.</param>
    /// <param name="bSingle">Whether the second operand has exactly one element.</param>
    /// <exception cref="InvalidGraphException">The operands have no common type.</exception>
    public static DatumType BinaryOperandType(DatumType a, bool aConst, bool aSingle, DatumType b, bool bConst, bool bSingle)
    {
        DatumType? common = DatumType.CommonSuperType(a, b);
        if (a == b && common == a)
        {
            return a;
        }

        if (a.Kind == DatumKind.String || b.Kind == DatumKind.String)
        {
            return DatumType.String;
        }

        if (a.Kind == DatumKind.TDim || b.Kind == DatumKind.TDim)
        {
            return common ?? throw NoCommonType(a, b);
        }

        if (aConst && aSingle)
        {
            return b;
        }

        if (bConst && bSingle)
        {
            return a;
        }

        if (aConst)
        {
            return b;
        }

        if (bConst)
        {
            return a;
        }

        return common ?? throw NoCommonType(a, b);
    }

    private static InvalidGraphException NoCommonType(DatumType a, DatumType b) =>
        new(null, $"operands of types {a} and {b} have no common type (cast one of them explicitly)");
}
