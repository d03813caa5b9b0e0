namespace TorchToNnef.Formats.Onnx;

/// <summary>What kind of value an ONNX type describes. Only tensors are translated; the others are reported.</summary>
public enum OnnxValueKind
{
    /// <summary>No type given (allowed for intermediate values).</summary>
    Unknown,
    /// <summary>A dense tensor.</summary>
    Tensor,
    /// <summary>A sequence of values.</summary>
    Sequence,
    /// <summary>A map from keys to values.</summary>
    Map,
    /// <summary>An optional value.</summary>
    Optional,
    /// <summary>A sparse tensor.</summary>
    SparseTensor,
    /// <summary>An opaque, domain-defined type.</summary>
    Opaque,
}

/// <summary>
/// A named value's declared type: for a tensor, its element type and shape. The shape is null when the rank is not
/// declared; its dimensions may be known, named (<see cref="OnnxDim.Symbol"/>) or unknown.
/// </summary>
public sealed class OnnxValueInfo
{
    internal OnnxValueInfo(string name, OnnxValueKind kind, OnnxDataType elementType, IReadOnlyList<OnnxDim>? shape)
    {
        Name = name;
        Kind = kind;
        ElementType = elementType;
        Shape = shape;
    }

    /// <summary>The value's name.</summary>
    public string Name { get; }

    /// <summary>Tensor, sequence, map, ...</summary>
    public OnnxValueKind Kind { get; }

    /// <summary>Element type of a tensor (or sparse tensor); <see cref="OnnxDataType.Undefined"/> otherwise.</summary>
    public OnnxDataType ElementType { get; }

    /// <summary>Declared dimensions of a tensor, or null when the rank is not declared.</summary>
    public IReadOnlyList<OnnxDim>? Shape { get; }

    /// <summary>Formats as <c>x: FLOAT[batch, 3, 224, 224]</c>.</summary>
    public override string ToString()
    {
        string type = Kind switch
        {
            OnnxValueKind.Tensor => ElementType.Name(),
            OnnxValueKind.SparseTensor => "sparse " + ElementType.Name(),
            _ => Kind.ToString().ToLowerInvariant(),
        };
        string shape = Shape is null ? (Kind is OnnxValueKind.Tensor or OnnxValueKind.SparseTensor ? "[...]" : "") : "[" + string.Join(", ", Shape) + "]";
        return $"{Name}: {type}{shape}";
    }
}
