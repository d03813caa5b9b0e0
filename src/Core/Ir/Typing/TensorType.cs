namespace TorchToNnef.Ir;

/// <summary>
/// The static type of a graph value: its <see cref="DatumType"/> and its shape, whose dimensions may be symbolic
/// (<c>S</c>, <c>P+S</c>). A Q4_0 constant has <see cref="DatumKind.BlockQuant"/> and its logical shape.
/// </summary>
/// <param name="Type">Element type.</param>
/// <param name="Shape">Dimensions, outermost first.</param>
public sealed record TensorType(DatumType Type, IReadOnlyList<Dim> Shape)
{
    /// <summary>Number of axes.</summary>
    public int Rank => Shape.Count;

    // The count and the shape list it was computed from: shape inference asks for it at every input of every node,
    // and a record's `with` may give this instance another shape.
    private (IReadOnlyList<Dim> Shape, Dim Count)? _elementCount;

    /// <summary>Number of elements (a symbolic product when the shape is).</summary>
    public Dim ElementCount
    {
        get
        {
            if (_elementCount is ({ } shape, Dim cached) && ReferenceEquals(shape, Shape))
            {
                return cached;
            }

            Dim count = Dim.Of(1);
            for (int i = 0; i < Shape.Count; i++)
            {
                count *= Shape[i];
            }

            _elementCount = (Shape, count);
            return count;
        }
    }

    /// <summary>True when every dimension is a known integer.</summary>
    public bool IsConcrete => Shape.All(d => d.IsConstant);

    /// <summary>A type with known dimensions.</summary>
    public static TensorType Of(DatumType type, params long[] shape) => new(type, [.. shape.Select(Dim.Of)]);

    /// <summary>The shape with the symbols replaced by their values (every symbol must be bound).</summary>
    /// <exception cref="KeyNotFoundException">A symbol is not bound.</exception>
    public long[] Evaluate(IReadOnlyDictionary<string, long> symbols) => [.. Shape.Select(d => d.Evaluate(symbols))];

    /// <inheritdoc />
    public bool Equals(TensorType? other) => other is not null && Type == other.Type && Shape.SequenceEqual(other.Shape);

    /// <inheritdoc />
    public override int GetHashCode() => Shape.Aggregate(Type.GetHashCode(), HashCode.Combine);

    /// <summary>Formats as <c>F32[1, S, 64]</c>.</summary>
    public override string ToString() => $"{Type}[{string.Join(", ", Shape)}]";
}
