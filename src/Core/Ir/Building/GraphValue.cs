namespace TorchToNnef.Ir;

/// <summary>
/// A value of a graph (or fragment body) under construction: its identifier and its static type, known as soon as
/// the statement defining it is added. Passing it to an operator of the builder reads it; it converts to the
/// <see cref="Arg"/> that references it.
/// </summary>
public sealed class GraphValue
{
    internal GraphValue(BodyBuilder owner, string name, TensorType type)
    {
        Owner = owner;
        Name = name;
        Type = type;
    }

    /// <summary>Identifier of the value in its body.</summary>
    public string Name { get; }

    /// <summary>Type and shape.</summary>
    public TensorType Type { get; }

    /// <summary>Element type.</summary>
    public DatumType DType => Type.Type;

    /// <summary>Dimensions.</summary>
    public IReadOnlyList<Dim> Shape => Type.Shape;

    /// <summary>Number of axes.</summary>
    public int Rank => Type.Rank;

    internal BodyBuilder Owner { get; }

    /// <summary>Dimension of <paramref name="axis"/>; negative axes count from the end.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such axis.</exception>
    public Dim this[int axis]
    {
        get
        {
            int a = axis < 0 ? axis + Rank : axis;
            return a >= 0 && a < Rank ? Shape[a] : throw new ArgumentOutOfRangeException(nameof(axis), axis, $"{this} has rank {Rank}.");
        }
    }

    /// <summary>The argument referencing this value.</summary>
    public static implicit operator Arg(GraphValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return Arg.Ref(value.Name);
    }

    /// <summary>The argument referencing this value.</summary>
    public Arg ToArg() => Arg.Ref(Name);

    /// <summary>Formats as <c>name: F32[1, S, 64]</c>.</summary>
    public override string ToString() => $"{Name}: {Type}";
}
