namespace TorchToNnef.Formats.Onnx;

/// <summary>The kind of value an attribute holds, numbered as in the ONNX specification.</summary>
public enum OnnxAttributeKind
{
    /// <summary>Not given.</summary>
    Undefined = 0,
    /// <summary>One float.</summary>
    Float = 1,
    /// <summary>One 64-bit integer.</summary>
    Int = 2,
    /// <summary>One string.</summary>
    String = 3,
    /// <summary>One tensor.</summary>
    Tensor = 4,
    /// <summary>One subgraph.</summary>
    Graph = 5,
    /// <summary>A list of floats.</summary>
    Floats = 6,
    /// <summary>A list of 64-bit integers.</summary>
    Ints = 7,
    /// <summary>A list of strings.</summary>
    Strings = 8,
    /// <summary>A list of tensors.</summary>
    Tensors = 9,
    /// <summary>A list of subgraphs.</summary>
    Graphs = 10,
    /// <summary>A sparse tensor (refused when loading).</summary>
    SparseTensor = 11,
    /// <summary>A list of sparse tensors (refused when loading).</summary>
    SparseTensors = 12,
    /// <summary>A type (kept as its kind only).</summary>
    TypeProto = 13,
    /// <summary>A list of types (kept as their kind only).</summary>
    TypeProtos = 14,
}

/// <summary>One named attribute of a node, with the value of its <see cref="Kind"/>.</summary>
public sealed class OnnxAttribute
{
    internal OnnxAttribute(string name, OnnxAttributeKind kind)
    {
        Name = name;
        Kind = kind;
    }

    /// <summary>The attribute's name.</summary>
    public string Name { get; }

    /// <summary>Which value it holds.</summary>
    public OnnxAttributeKind Kind { get; }

    /// <summary>The value of a <see cref="OnnxAttributeKind.Float"/> attribute.</summary>
    public float Float { get; internal init; }

    /// <summary>The value of an <see cref="OnnxAttributeKind.Int"/> attribute.</summary>
    public long Int { get; internal init; }

    /// <summary>The value of a <see cref="OnnxAttributeKind.String"/> attribute.</summary>
    public string? String { get; internal init; }

    /// <summary>The value of a <see cref="OnnxAttributeKind.Tensor"/> attribute.</summary>
    public OnnxTensor? Tensor { get; internal init; }

    /// <summary>The value of a <see cref="OnnxAttributeKind.Graph"/> attribute.</summary>
    public OnnxGraph? Graph { get; internal init; }

    /// <summary>The values of a <see cref="OnnxAttributeKind.Floats"/> attribute.</summary>
    public IReadOnlyList<float> Floats { get; internal init; } = [];

    /// <summary>The values of an <see cref="OnnxAttributeKind.Ints"/> attribute.</summary>
    public IReadOnlyList<long> Ints { get; internal init; } = [];

    /// <summary>The values of a <see cref="OnnxAttributeKind.Strings"/> attribute.</summary>
    public IReadOnlyList<string> Strings { get; internal init; } = [];

    /// <summary>The values of a <see cref="OnnxAttributeKind.Tensors"/> attribute.</summary>
    public IReadOnlyList<OnnxTensor> Tensors { get; internal init; } = [];

    /// <summary>The values of a <see cref="OnnxAttributeKind.Graphs"/> attribute.</summary>
    public IReadOnlyList<OnnxGraph> Graphs { get; internal init; } = [];

    /// <summary>The specification's spelling of the kind (<c>INT</c>, <c>FLOATS</c>, ...).</summary>
    public static string KindName(OnnxAttributeKind kind) => kind switch
    {
        OnnxAttributeKind.SparseTensor => "SPARSE_TENSOR",
        OnnxAttributeKind.SparseTensors => "SPARSE_TENSORS",
        OnnxAttributeKind.TypeProto => "TYPE_PROTO",
        OnnxAttributeKind.TypeProtos => "TYPE_PROTOS",
        _ => kind.ToString().ToUpperInvariant(),
    };
}
