using TorchToNnef.Errors;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// What an NNEF right-hand side resolves to before an operator decides how to read it (tract's <c>deser::Value</c>):
/// a tensor (with whether tract would hold it as a constant), an array, a tuple, or a literal. Literals keep their NNEF
/// typing: an integer literal is a dimension (TDim), a float literal an f32 scalar.
/// </summary>
internal abstract record Operand;

/// <summary>A tensor; <paramref name="IsConst"/> mirrors tract's <c>konst</c> (variables, literals, folded results).</summary>
internal sealed record TensorOperand(TensorValue Value, bool IsConst) : Operand;

/// <summary><c>[a, b]</c>.</summary>
internal sealed record ArrayOperand(IReadOnlyList<Operand> Items) : Operand;

/// <summary><c>(a, b)</c>, also the results of a fragment.</summary>
internal sealed record TupleOperand(IReadOnlyList<Operand> Items) : Operand;

/// <summary>String literal.</summary>
internal sealed record StringOperand(string Value) : Operand;

/// <summary>Logical literal.</summary>
internal sealed record BoolOperand(bool Value) : Operand;

/// <summary>Float literal (f32).</summary>
internal sealed record ScalarOperand(float Value) : Operand;

/// <summary>Integer literal or symbol value (TDim).</summary>
internal sealed record DimOperand(long Value) : Operand;

/// <summary>tract's <c>CoerceFrom&lt;Value&gt;</c> conversions, evaluated eagerly.</summary>
internal static class Coerce
{
    /// <summary>As a wire (<c>OutletId</c>): literals become constants (integer literal = TDim, float = f32).</summary>
    public static TensorOperand ToTensor(Operand operand, string what) => operand switch
    {
        TensorOperand t => t,
        ScalarOperand s => new TensorOperand(TensorValue.ScalarF32(s.Value), true),
        DimOperand d => new TensorOperand(TensorValue.ScalarTDim(d.Value), true),
        StringOperand s => new TensorOperand(TensorValue.Create(DatumType.String, [], new[] { s.Value }), true),
        BoolOperand b => new TensorOperand(TensorValue.Create(DatumType.Bool, [], new[] { b.Value }), true),
        TupleOperand { Items.Count: 1 } t => ToTensor(t.Items[0], what),
        ArrayOperand a => ArrayToTensor(a, what),
        _ => throw Bad(what, operand, "a tensor"),
    };

    /// <summary>As a constant tensor (<c>Arc&lt;Tensor&gt;</c>): an integer literal is an i32 scalar, arrays are stacked.</summary>
    public static TensorValue ToConstTensor(Operand operand, string what) => operand switch
    {
        TensorOperand t => t.Value,
        DimOperand d => d.Value is >= int.MinValue and <= int.MaxValue
            ? TensorValue.Create(DatumType.I32, [], new[] { (int)d.Value })
            : throw Bad(what, operand, "an i32"),
        ScalarOperand s => TensorValue.ScalarF32(s.Value),
        StringOperand s => TensorValue.Create(DatumType.String, [], new[] { s.Value }),
        BoolOperand b => TensorValue.Create(DatumType.Bool, [], new[] { b.Value }),
        TupleOperand { Items.Count: 1 } t => ToConstTensor(t.Items[0], what),
        ArrayOperand a => Stack(a.Items.Select(i => ToConstTensor(i, what)).ToList(), what),
        _ => throw Bad(what, operand, "a constant tensor"),
    };

    /// <summary>As one integer (a TDim literal, or a one-element tensor cast to i64).</summary>
    public static long ToLong(Operand operand, string what) => operand switch
    {
        DimOperand d => d.Value,
        TensorOperand t when t.Value.ElementCount == 1 && t.Value.Type.IsNumber => Cast.ToLongs(Cast.To(t.Value, DatumType.I64))[0],
        TensorOperand t when t.Value.ElementCount == 1 && t.Value.Type.Kind == DatumKind.Bool => t.Value.Items<bool>()[0] ? 1 : 0,
        TupleOperand { Items.Count: 1 } t => ToLong(t.Items[0], what),
        _ => throw Bad(what, operand, "an integer"),
    };

    /// <summary>As a list of integers: arrays and tuples item by item, a rank-1 tensor element by element, else one item.</summary>
    public static long[] ToLongs(Operand operand, string what) => operand switch
    {
        ArrayOperand a => ItemsToLongs(a.Items, what),
        TupleOperand t when t.Items.Count != 1 => t.Items.Select(i => ToLong(i, what)).ToArray(),
        TensorOperand t when t.Value.Rank == 1 && t.Value.Type.IsNumber => Cast.ToLongs(Cast.To(t.Value, DatumType.I64)),
        _ => [ToLong(operand, what)],
    };

    /// <summary>As a list of <c>int</c> (axes, sizes); values outside the int range are errors.</summary>
    public static int[] ToInts(Operand operand, string what)
    {
        long[] values = ToLongs(operand, what);
        var ints = new int[values.Length];
        for (int i = 0; i < ints.Length; i++)
        {
            ints[i] = values[i] is >= int.MinValue and <= int.MaxValue ? (int)values[i] : throw Bad(what, operand, "small integers");
        }

        return ints;
    }

    // Array items as integers, in order (axes, sizes: read by many statements of every run).
    private static long[] ItemsToLongs(IReadOnlyList<Operand> items, string what)
    {
        var values = new long[items.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = items[i] is DimOperand d ? d.Value : ToLong(items[i], what);
        }

        return values;
    }

    /// <summary>As an f32 (a float literal, an integer literal, or a one-element tensor).</summary>
    public static float ToFloat(Operand operand, string what) => operand switch
    {
        ScalarOperand s => s.Value,
        DimOperand d => d.Value,
        TensorOperand t when t.Value.ElementCount == 1 && t.Value.Type.IsNumber => Cast.To(t.Value, DatumType.F32).Items<float>()[0],
        TupleOperand { Items.Count: 1 } t => ToFloat(t.Items[0], what),
        _ => throw Bad(what, operand, "a number"),
    };

    /// <summary>As a logical (an integer is true when non-zero).</summary>
    public static bool ToBool(Operand operand, string what) => operand switch
    {
        BoolOperand b => b.Value,
        DimOperand d => d.Value != 0,
        TensorOperand t when t.Value.ElementCount == 1 => Cast.To(t.Value, DatumType.Bool).Items<bool>()[0],
        TupleOperand { Items.Count: 1 } t => ToBool(t.Items[0], what),
        _ => throw Bad(what, operand, "a logical"),
    };

    /// <summary>As a string.</summary>
    public static string ToStringValue(Operand operand, string what) => operand switch
    {
        StringOperand s => s.Value,
        TensorOperand t when t.Value.ElementCount == 1 && t.Value.Type.Kind == DatumKind.String => t.Value.Items<string>()[0],
        TupleOperand { Items.Count: 1 } t => ToStringValue(t.Items[0], what),
        _ => throw Bad(what, operand, "a string"),
    };

    /// <summary>As a list of wires (<c>TVec&lt;OutletId&gt;</c>).</summary>
    public static List<TensorOperand> ToTensors(Operand operand, string what) => operand switch
    {
        ArrayOperand a => a.Items.Select(i => ToTensor(i, what)).ToList(),
        TupleOperand t => t.Items.Select(i => ToTensor(i, what)).ToList(),
        _ => [ToTensor(operand, what)],
    };

    /// <summary>As a list of (before, after) pairs, e.g. <c>padding = [(1, 1), (0, 0)]</c>.</summary>
    public static (int Before, int After)[] ToPairs(Operand operand, string what)
    {
        IReadOnlyList<Operand> items = operand switch
        {
            ArrayOperand a => a.Items,
            TupleOperand t => t.Items,
            _ => throw Bad(what, operand, "a list of pairs"),
        };
        return items.Select(i =>
        {
            int[] p = ToInts(i, what);
            return p.Length == 2 ? (p[0], p[1]) : throw Bad(what, i, "a (before, after) pair");
        }).ToArray();
    }

    /// <summary>Stacks same-typed, same-shaped tensors along a new leading axis.</summary>
    public static TensorValue Stack(IReadOnlyList<TensorValue> items, string what)
    {
        if (items.Count == 0)
        {
            throw new InvalidGraphException(what, "cannot build a tensor from an empty array");
        }

        TensorValue first = items[0];
        foreach (TensorValue t in items)
        {
            if (t.Type != first.Type || !t.Shape.SequenceEqual(first.Shape))
            {
                throw new InvalidGraphException(what, $"array items {first} and {t} cannot be stacked");
            }
        }

        int[] shape = [items.Count, .. first.ShapeArray];
        Array data = TensorValue.NewArray(first.Type.Kind, TensorValue.Volume(shape));
        int n = first.ElementCount;
        for (int i = 0; i < items.Count; i++)
        {
            Array.Copy(items[i].Data!, 0, data, i * n, n);
        }

        return TensorValue.Wrap(first.Type, shape, data);
    }

    private static TensorOperand ArrayToTensor(ArrayOperand array, string what)
    {
        // tract first tries the array as a constant (integer literals as i32 scalars, tensors as they are); when the
        // items do not stack that way, every item becomes a wire (integer literals as TDim) and they are concatenated.
        bool allConst = array.Items.All(i => i is not TensorOperand t || t.IsConst);
        List<TensorValue>? constants = TryAll(array.Items, i => ToConstTensor(i, what));
        if (allConst && constants is not null && TryStack(constants) is TensorValue stackedConst)
        {
            return new TensorOperand(stackedConst, true);
        }

        List<TensorOperand> wires = array.Items.Select(i => ToTensor(i, what)).ToList();
        TensorValue stacked = Stack(wires.Select(w => w.Value).ToList(), what);
        return new TensorOperand(stacked, wires.All(w => w.IsConst && w.Value.ElementCount < 16));
    }

    private static List<TensorValue>? TryAll(IReadOnlyList<Operand> items, Func<Operand, TensorValue> convert)
    {
        var result = new List<TensorValue>(items.Count);
        foreach (Operand item in items)
        {
            try
            {
                result.Add(convert(item));
            }
            catch (InvalidGraphException)
            {
                return null;
            }
        }

        return result;
    }

    private static TensorValue? TryStack(List<TensorValue> items) =>
        items.Count > 0 && items.All(t => t.Type == items[0].Type && t.Shape.SequenceEqual(items[0].Shape)) ? Stack(items, string.Empty) : null;

    private static InvalidGraphException Bad(string what, Operand operand, string expected) =>
        new(what, $"expected {expected}, got {Describe(operand)}");

    private static string Describe(Operand operand) => operand switch
    {
        TensorOperand t => t.Value.ToString(),
        ArrayOperand a => $"an array of {a.Items.Count}",
        TupleOperand t => $"a tuple of {t.Items.Count}",
        StringOperand s => $"string '{s.Value}'",
        BoolOperand b => b.Value ? "true" : "false",
        ScalarOperand s => $"float {s.Value}",
        DimOperand d => $"integer {d.Value}",
        _ => operand.GetType().Name,
    };
}
