namespace TorchToNnef.Formats.Onnx;

/// <summary>
/// An ONNX graph: the main graph of a model or a subgraph (a branch of <c>If</c>, the body of <c>Loop</c> or
/// <c>Scan</c>). Nodes are in topological order (checked when loading): every input of a node is a graph input, an
/// initializer, the output of an earlier node, or a value of an enclosing graph.
/// </summary>
/// <remarks>
/// An initializer whose name is also a graph input is a default the caller may override (IR version 3 required every
/// initializer to be listed so). <see cref="Inputs"/> lists every declared input; <see cref="RuntimeInputs"/> only
/// those without an initializer, which are what a caller must provide.
/// </remarks>
public sealed class OnnxGraph
{
    private readonly Dictionary<string, OnnxTensor> _initializers;
    private readonly Dictionary<string, OnnxValueInfo> _valueInfo;

    internal OnnxGraph(
        string name,
        IReadOnlyList<OnnxValueInfo> inputs,
        IReadOnlyList<OnnxValueInfo> outputs,
        IReadOnlyList<OnnxTensor> initializers,
        Dictionary<string, OnnxValueInfo> valueInfo,
        IReadOnlyList<OnnxNode> nodes)
    {
        Name = name;
        Inputs = inputs;
        Outputs = outputs;
        InitializerList = initializers;
        _initializers = new Dictionary<string, OnnxTensor>(initializers.Count, StringComparer.Ordinal);
        foreach (OnnxTensor t in initializers)
        {
            _initializers.Add(t.Name, t);
        }

        _valueInfo = valueInfo;
        Nodes = nodes;
        RuntimeInputs = inputs.Where(i => !_initializers.ContainsKey(i.Name)).ToArray();
    }

    /// <summary>The graph's name (may be empty).</summary>
    public string Name { get; }

    /// <summary>The enclosing graph of a subgraph; null for the model's main graph.</summary>
    public OnnxGraph? Parent { get; internal set; }

    /// <summary>Every declared input, in order, including those that have an initializer.</summary>
    public IReadOnlyList<OnnxValueInfo> Inputs { get; }

    /// <summary>The inputs a caller must provide: declared inputs without an initializer, in order.</summary>
    public IReadOnlyList<OnnxValueInfo> RuntimeInputs { get; }

    /// <summary>The declared outputs, in order.</summary>
    public IReadOnlyList<OnnxValueInfo> Outputs { get; }

    /// <summary>The initializers in file order.</summary>
    public IReadOnlyList<OnnxTensor> InitializerList { get; }

    /// <summary>Initializers by name.</summary>
    public IReadOnlyDictionary<string, OnnxTensor> Initializers => _initializers;

    /// <summary>Declared types of intermediate values (<c>value_info</c>), by name.</summary>
    public IReadOnlyDictionary<string, OnnxValueInfo> ValueInfo => _valueInfo;

    /// <summary>The nodes in topological order.</summary>
    public IReadOnlyList<OnnxNode> Nodes { get; }

    /// <summary>
    /// The declared type of value <paramref name="name"/>: from the graph's inputs, outputs or <c>value_info</c>, or
    /// built from an initializer; null when nothing declares it.
    /// </summary>
    public OnnxValueInfo? FindValueInfo(string name)
    {
        foreach (OnnxValueInfo v in Inputs)
        {
            if (v.Name == name)
            {
                return v;
            }
        }

        foreach (OnnxValueInfo v in Outputs)
        {
            if (v.Name == name)
            {
                return v;
            }
        }

        if (_valueInfo.TryGetValue(name, out OnnxValueInfo? info))
        {
            return info;
        }

        if (_initializers.TryGetValue(name, out OnnxTensor? t))
        {
            return new OnnxValueInfo(name, OnnxValueKind.Tensor, t.ElementType, t.Shape.Dims.ToArray().Select(OnnxDim.Known).ToArray());
        }

        return null;
    }

    /// <summary>Counts the nodes of each operator type (domain-qualified), subgraphs included.</summary>
    public SortedDictionary<string, int> OperatorHistogram()
    {
        var counts = new SortedDictionary<string, int>(StringComparer.Ordinal);
        AddTo(counts);
        return counts;
    }

    private void AddTo(SortedDictionary<string, int> counts)
    {
        foreach (OnnxNode node in Nodes)
        {
            counts[node.QualifiedOpType] = counts.GetValueOrDefault(node.QualifiedOpType) + 1;
            foreach (OnnxAttribute a in node.Attributes)
            {
                a.Graph?.AddTo(counts);
                foreach (OnnxGraph g in a.Graphs)
                {
                    g.AddTo(counts);
                }
            }
        }
    }
}
