namespace TorchToNnef.Ir;

/// <summary>
/// The result of <see cref="ShapeInference"/>: the type of every value of a graph, and of every value computed inside
/// each fragment invocation (keyed by <see cref="ValuePath"/>), with the integer contents of the values whose elements
/// are known statically (shapes and the arithmetic on them).
/// </summary>
public sealed class GraphTypes
{
    private readonly IReadOnlyDictionary<string, TensorType> _body;
    private readonly IReadOnlyDictionary<string, Dim[]> _known;

    internal GraphTypes(IReadOnlyDictionary<string, TensorType> body, IReadOnlyDictionary<string, TensorType> all, IReadOnlyDictionary<string, Dim[]> known)
    {
        _body = body;
        AllValues = all;
        _known = known;
    }

    /// <summary>
    /// The elements of a value (row-major) when they are integers known statically, by <see cref="ValuePath"/> (inside
    /// fragment invocations too), else null.
    /// </summary>
    public IReadOnlyList<Dim>? KnownValuesAt(string path) => _known.TryGetValue(path, out Dim[]? v) ? v : null;

    /// <summary>Types of the values of the graph body, by name.</summary>
    public IReadOnlyDictionary<string, TensorType> Values => _body;

    /// <summary>Types of every value, inside fragment invocations too, by <see cref="ValuePath"/>.</summary>
    public IReadOnlyDictionary<string, TensorType> AllValues { get; }

    /// <summary>The type of a value of the graph body.</summary>
    /// <exception cref="KeyNotFoundException">No such value.</exception>
    public TensorType this[string value] =>
        _body.TryGetValue(value, out TensorType? t) ? t : throw new KeyNotFoundException($"No value '{value}' in the graph.");

    /// <summary>The type of a value of the graph body, if there is one.</summary>
    public bool TryGetType(string value, out TensorType type) => _body.TryGetValue(value, out type!);

    /// <summary>The elements of a value of the graph body (row-major) when they are integers known statically, else null.</summary>
    public IReadOnlyList<Dim>? KnownValues(string value) => _body.ContainsKey(value) ? KnownValuesAt(value) : null;
}
