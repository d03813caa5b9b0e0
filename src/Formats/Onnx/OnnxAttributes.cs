using System.Collections;
using TorchToNnef.Errors;

namespace TorchToNnef.Formats.Onnx;

/// <summary>
/// A node's attributes with typed access. A getter without a fallback requires the attribute; a getter with one
/// returns it when the attribute is absent. Either way an attribute of the wrong kind is an error naming the model
/// file, the node and the attribute, never a silent conversion.
/// </summary>
public sealed class OnnxAttributes : IReadOnlyList<OnnxAttribute>
{
    private readonly OnnxAttribute[] _items;
    private readonly string _file;
    private readonly string _owner;

    internal OnnxAttributes(OnnxAttribute[] items, string file, string owner)
    {
        _items = items;
        _file = file;
        _owner = owner;
    }

    /// <inheritdoc />
    public int Count => _items.Length;

    /// <inheritdoc />
    public OnnxAttribute this[int index] => _items[index];

    /// <summary>True when the attribute is present.</summary>
    public bool Contains(string name) => Find(name) is not null;

    /// <summary>The attribute named <paramref name="name"/>, or null.</summary>
    public OnnxAttribute? Find(string name)
    {
        foreach (OnnxAttribute a in _items)
        {
            if (a.Name == name)
            {
                return a;
            }
        }

        return null;
    }

    /// <summary>A required integer attribute.</summary>
    public long GetInt(string name) => Require(name, OnnxAttributeKind.Int).Int;

    /// <summary>An integer attribute, or <paramref name="fallback"/> when absent.</summary>
    public long GetInt(string name, long fallback) => Optional(name, OnnxAttributeKind.Int)?.Int ?? fallback;

    /// <summary>A required float attribute.</summary>
    public float GetFloat(string name) => Require(name, OnnxAttributeKind.Float).Float;

    /// <summary>A float attribute, or <paramref name="fallback"/> when absent.</summary>
    public float GetFloat(string name, float fallback) => Optional(name, OnnxAttributeKind.Float)?.Float ?? fallback;

    /// <summary>A required string attribute.</summary>
    public string GetString(string name) => Require(name, OnnxAttributeKind.String).String!;

    /// <summary>A string attribute, or <paramref name="fallback"/> when absent.</summary>
    public string GetString(string name, string fallback) => Optional(name, OnnxAttributeKind.String)?.String ?? fallback;

    /// <summary>A required integer-list attribute.</summary>
    public IReadOnlyList<long> GetInts(string name) => Require(name, OnnxAttributeKind.Ints).Ints;

    /// <summary>An integer-list attribute, or null when absent.</summary>
    public IReadOnlyList<long>? GetIntsOrNull(string name) => Optional(name, OnnxAttributeKind.Ints)?.Ints;

    /// <summary>A required float-list attribute.</summary>
    public IReadOnlyList<float> GetFloats(string name) => Require(name, OnnxAttributeKind.Floats).Floats;

    /// <summary>A float-list attribute, or null when absent.</summary>
    public IReadOnlyList<float>? GetFloatsOrNull(string name) => Optional(name, OnnxAttributeKind.Floats)?.Floats;

    /// <summary>A required string-list attribute.</summary>
    public IReadOnlyList<string> GetStrings(string name) => Require(name, OnnxAttributeKind.Strings).Strings;

    /// <summary>A required tensor attribute.</summary>
    public OnnxTensor GetTensor(string name) => Require(name, OnnxAttributeKind.Tensor).Tensor!;

    /// <summary>A tensor attribute, or null when absent.</summary>
    public OnnxTensor? GetTensorOrNull(string name) => Optional(name, OnnxAttributeKind.Tensor)?.Tensor;

    /// <summary>A required subgraph attribute (for example <c>If</c>'s branches).</summary>
    public OnnxGraph GetGraph(string name) => Require(name, OnnxAttributeKind.Graph).Graph!;

    /// <summary>A required list-of-subgraphs attribute.</summary>
    public IReadOnlyList<OnnxGraph> GetGraphs(string name) => Require(name, OnnxAttributeKind.Graphs).Graphs;

    /// <summary>An error about this node's attribute <paramref name="name"/>, naming the file and the node.</summary>
    public InvalidInputFileException Error(string name, string what) =>
        new(_file, null, $"{_owner}: attribute '{name}' {what}");

    /// <summary>An error saying this node's attribute <paramref name="name"/> uses a feature that is not supported.</summary>
    public UnsupportedFeatureException Unsupported(string name, string what) =>
        new(_file, null, $"{_owner}: attribute '{name}' {what}");

    /// <inheritdoc />
    public IEnumerator<OnnxAttribute> GetEnumerator() => ((IEnumerable<OnnxAttribute>)_items).GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private OnnxAttribute Require(string name, OnnxAttributeKind kind) =>
        Optional(name, kind) ?? throw Error(name, $"({OnnxAttribute.KindName(kind)}) is required but absent");

    private OnnxAttribute? Optional(string name, OnnxAttributeKind kind)
    {
        OnnxAttribute? a = Find(name);
        if (a is not null && a.Kind != kind)
        {
            throw Error(name, $"is {OnnxAttribute.KindName(a.Kind)}, expected {OnnxAttribute.KindName(kind)}");
        }

        return a;
    }
}
