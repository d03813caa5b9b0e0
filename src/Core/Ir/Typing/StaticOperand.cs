using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// What an argument resolves to during shape inference, the static counterpart of the evaluator's operands: a tensor
/// (its type, whether tract would hold it as a constant, and its elements when they are small integers known
/// statically, as dimensions), an array, a tuple, or a literal.
/// </summary>
internal abstract record StaticOperand;

/// <summary>A tensor; <paramref name="Values"/> lists its elements (row-major) when they are known integers.</summary>
internal sealed record StaticTensor(TensorType Type, bool IsConst, Dim[]? Values = null) : StaticOperand
{
    public IReadOnlyList<Dim> Shape => Type.Shape;

    public int Rank => Type.Rank;

    public DatumType DType => Type.Type;

    /// <summary>The element count when known.</summary>
    public long? Count => Type.ElementCount.TryGetConstant(out long n) ? n : null;

    public override string ToString() => Type.ToString();
}

internal sealed record StaticArray(IReadOnlyList<StaticOperand> Items) : StaticOperand;

internal sealed record StaticTuple(IReadOnlyList<StaticOperand> Items) : StaticOperand;

internal sealed record StaticString(string Value) : StaticOperand;

internal sealed record StaticBool(bool Value) : StaticOperand;

/// <summary>A float literal (f32 to tract).</summary>
internal sealed record StaticFloat(double Value) : StaticOperand;

/// <summary>An integer literal or a symbol (a TDim to tract).</summary>
internal sealed record StaticDim(Dim Value) : StaticOperand;

/// <summary>The evaluator's <c>Coerce</c> conversions, on static operands (values may be unknown).</summary>
internal static class StaticCoerce
{
    /// <summary>Largest tensor whose integer elements are tracked.</summary>
    public const int MaxTrackedElements = 4096;

    public static bool TracksValues(DatumType t) => !t.IsQuantized && t.Kind is (>= DatumKind.U8 and <= DatumKind.I64) or DatumKind.TDim or DatumKind.Bool;

    public static StaticTensor Scalar(DatumType type, bool isConst, Dim? value) =>
        new(new TensorType(type, []), isConst, value is null || !TracksValues(type) ? null : [value]);

    /// <summary>As a wire: literals become constants (integer literal = TDim, float = f32).</summary>
    public static StaticTensor ToTensor(StaticOperand operand, string what) => operand switch
    {
        StaticTensor t => t,
        StaticFloat => Scalar(DatumType.F32, true, null),
        StaticDim d => Scalar(DatumType.TDim, true, d.Value),
        StaticString => Scalar(DatumType.String, true, null),
        StaticBool b => Scalar(DatumType.Bool, true, b.Value ? 1 : 0),
        StaticTuple { Items.Count: 1 } t => ToTensor(t.Items[0], what),
        StaticArray a => ArrayToTensor(a, what),
        _ => throw Bad(what, operand, "a tensor"),
    };

    /// <summary>As a constant tensor: an integer literal is an i32 scalar, arrays are stacked; null when the evaluator's conversion fails.</summary>
    public static StaticTensor? ToConstTensor(StaticOperand operand) => operand switch
    {
        StaticTensor t => t,
        StaticDim d => d.Value.TryGetConstant(out long v) && v is < int.MinValue or > int.MaxValue ? null : Scalar(DatumType.I32, true, d.Value),
        StaticFloat => Scalar(DatumType.F32, true, null),
        StaticString => Scalar(DatumType.String, true, null),
        StaticBool b => Scalar(DatumType.Bool, true, b.Value ? 1 : 0),
        StaticTuple { Items.Count: 1 } t => ToConstTensor(t.Items[0]),
        StaticArray a => a.Items.Select(ToConstTensor).ToList() is var items && items.All(i => i is not null) ? TryStack(items!) : null,
        _ => null,
    };

    /// <summary>One integer, possibly symbolic; null when not known statically.</summary>
    public static Dim? ToDim(StaticOperand operand, string what) => operand switch
    {
        StaticDim d => d.Value,
        StaticTensor t when t.Count == 1 && (t.DType.IsNumber || t.DType.Kind == DatumKind.Bool) => t.Values?[0],
        StaticTuple { Items.Count: 1 } t => ToDim(t.Items[0], what),
        _ => throw Bad(what, operand, "an integer"),
    };

    /// <summary>A list of integers (each possibly unknown); null when even the length is unknown.</summary>
    public static Dim?[]? ToDims(StaticOperand operand, string what) => operand switch
    {
        StaticArray a => [.. a.Items.Select(i => ToDim(i, what))],
        StaticTuple t when t.Items.Count != 1 => [.. t.Items.Select(i => ToDim(i, what))],
        StaticTensor t when t.Rank == 1 && t.DType.IsNumber => t.Values is Dim[] v ? [.. v] : t.Count is long n ? new Dim?[n] : null,
        _ => [ToDim(operand, what)],
    };

    public static double? ToFloat(StaticOperand operand, string what) => operand switch
    {
        StaticFloat f => f.Value,
        StaticDim d => d.Value.TryGetConstant(out long v) ? v : null,
        StaticTensor t when t.Count == 1 && t.DType.IsNumber => t.Values?[0].TryGetConstant(out long v) == true ? v : null,
        StaticTuple { Items.Count: 1 } t => ToFloat(t.Items[0], what),
        _ => throw Bad(what, operand, "a number"),
    };

    public static bool? ToBool(StaticOperand operand, string what) => operand switch
    {
        StaticBool b => b.Value,
        StaticDim d => d.Value.TryGetConstant(out long v) ? v != 0 : null,
        StaticTensor t when t.Count == 1 => t.Values?[0].TryGetConstant(out long v) == true ? v != 0 : null,
        StaticTuple { Items.Count: 1 } t => ToBool(t.Items[0], what),
        _ => throw Bad(what, operand, "a logical"),
    };

    public static string? ToStringValue(StaticOperand operand, string what) => operand switch
    {
        StaticString s => s.Value,
        StaticTensor t when t.Count == 1 && t.DType.Kind == DatumKind.String => null,
        StaticTuple { Items.Count: 1 } t => ToStringValue(t.Items[0], what),
        _ => throw Bad(what, operand, "a string"),
    };

    public static List<StaticTensor> ToTensors(StaticOperand operand, string what) => operand switch
    {
        StaticArray a => [.. a.Items.Select(i => ToTensor(i, what))],
        StaticTuple t => [.. t.Items.Select(i => ToTensor(i, what))],
        _ => [ToTensor(operand, what)],
    };

    public static Dim[] Values(StaticTensor t) => t.Values ?? throw new InvalidGraphException(null, $"the values of {t} are not known statically");

    /// <summary>Stacks same-typed, same-shaped tensors along a new leading axis.</summary>
    public static StaticTensor Stack(IReadOnlyList<StaticTensor> items, string what, bool isConst)
    {
        if (items.Count == 0)
        {
            throw new InvalidGraphException(what, "cannot build a tensor from an empty array");
        }

        StaticTensor first = items[0];
        foreach (StaticTensor t in items)
        {
            if (t.DType != first.DType || !t.Shape.SequenceEqual(first.Shape))
            {
                throw new InvalidGraphException(what, $"array items {first} and {t} cannot be stacked");
            }
        }

        Dim[]? values = items.All(i => i.Values is not null) ? [.. items.SelectMany(i => i.Values!)] : null;
        return new StaticTensor(new TensorType(first.DType, [Dim.Of(items.Count), .. first.Shape]), isConst, values);
    }

    private static StaticTensor ArrayToTensor(StaticArray array, string what)
    {
        // tract first tries the array as a constant (integer literals as i32 scalars); when the items do not stack
        // that way, every item becomes a wire (integer literals as TDim) and they are concatenated.
        bool allConst = array.Items.All(i => i is not StaticTensor t || t.IsConst);
        List<StaticTensor?> constants = [.. array.Items.Select(ToConstTensor)];
        if (allConst && constants.All(c => c is not null) && TryStack(constants!) is StaticTensor stacked)
        {
            return stacked;
        }

        List<StaticTensor> wires = [.. array.Items.Select(i => ToTensor(i, what))];
        bool isConst = wires.All(w => w.IsConst && w.Count is < 16);
        return Stack(wires, what, isConst);
    }

    private static StaticTensor? TryStack(IReadOnlyList<StaticTensor> items) =>
        items.Count > 0 && items.All(t => t.DType == items[0].DType && t.Shape.SequenceEqual(items[0].Shape)) ? Stack(items, string.Empty, true) : null;

    private static InvalidGraphException Bad(string what, StaticOperand operand, string expected) =>
        new(what, $"expected {expected}, got {Describe(operand)}");

    private static string Describe(StaticOperand operand) => operand switch
    {
        StaticTensor t => t.ToString(),
        StaticArray a => $"an array of {a.Items.Count}",
        StaticTuple t => $"a tuple of {t.Items.Count}",
        StaticString s => $"string '{s.Value}'",
        StaticBool b => b.Value ? "true" : "false",
        StaticFloat f => $"float {f.Value}",
        StaticDim d => $"integer {d.Value}",
        _ => operand.GetType().Name,
    };
}
