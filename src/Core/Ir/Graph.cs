using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Ir;

/// <summary>
/// The graph IR that every loader produces and every writer and evaluator consumes. It follows NNEF closely:
/// a body of <see cref="Node"/>s in definition order (inputs are <c>tract_core_external</c> nodes, constants are
/// <c>variable</c> nodes backed by <see cref="Variables"/>), fragments defined by the document, graph-level
/// extensions (registries, symbols, assertions), model properties and per-value quantization (<c>graph.quant</c>).
/// Value names are unique.
/// </summary>
public sealed class Graph
{
    /// <summary>Operator name of graph inputs.</summary>
    public const string ExternalOp = "tract_core_external";

    /// <summary>Operator name of constants.</summary>
    public const string VariableOp = "variable";

    /// <summary>
    /// Pseudo-operator of a plain binding <c>y = x;</c> (or <c>y = [a, b];</c>, <c>y = 1.0;</c>): the node has one
    /// positional argument and its output is that value. tract wires such a statement without an operator.
    /// </summary>
    public const string AliasOp = "=";

    /// <summary>Graph name (<c>network</c> for torch_to_nnef exports).</summary>
    public string Name { get; set; } = "network";

    /// <summary>Identifiers listed in the graph signature as inputs.</summary>
    public List<string> Inputs { get; } = [];

    /// <summary>Identifiers listed in the graph signature as outputs, in order.</summary>
    public List<string> Outputs { get; } = [];

    private Dictionary<string, Node>? _producers;
    private int _producersVersion;

    /// <summary>Body nodes in definition order.</summary>
    public NodeList Nodes { get; } = [];

    /// <summary>Variables keyed by the identifier of the value their <c>variable</c> node defines.</summary>
    public Dictionary<string, Variable> Variables { get; } = new(StringComparer.Ordinal);

    /// <summary>Fragments defined by the document (not including the properties fragment).</summary>
    public List<Fragment> Fragments { get; } = [];

    /// <summary>Activated operator registries (<c>extension tract_registry X</c>), in order.</summary>
    public List<string> Registries { get; } = [];

    /// <summary>Declared symbols (<c>extension tract_symbol S</c>), in order.</summary>
    public List<string> Symbols { get; } = [];

    /// <summary>Assertions on symbols (<c>extension tract_assert ...</c>), in order.</summary>
    public List<Assertion> Assertions { get; } = [];

    /// <summary>Other extension lines, verbatim without the <c>extension</c> keyword and the final semicolon.</summary>
    public List<string> OtherExtensions { get; } = [];

    /// <summary>Model properties (<c>tract_core_properties</c>), in order.</summary>
    public List<KeyValuePair<string, Arg>> Properties { get; } = [];

    /// <summary>Quantization entries (<c>graph.quant</c>) keyed by value identifier.</summary>
    public Dictionary<string, QuantInfo> Quantization { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// A structural copy: new node, fragment, list and dictionary objects that can be edited without touching this
    /// graph. Arguments (immutable records) and variable data sources are shared.
    /// </summary>
    public Graph Clone()
    {
        var copy = new Graph { Name = Name };
        copy.Inputs.AddRange(Inputs);
        copy.Outputs.AddRange(Outputs);
        copy.Nodes.AddRange(Nodes.Select(n => n.Clone()));
        foreach ((string name, Variable v) in Variables)
        {
            copy.Variables[name] = new Variable(v.Label, v.Source);
        }

        copy.Fragments.AddRange(Fragments.Select(f => f.Clone()));
        copy.Registries.AddRange(Registries);
        copy.Symbols.AddRange(Symbols);
        copy.Assertions.AddRange(Assertions);
        copy.OtherExtensions.AddRange(OtherExtensions);
        copy.Properties.AddRange(Properties);
        foreach ((string name, QuantInfo q) in Quantization)
        {
            copy.Quantization[name] = q;
        }

        return copy;
    }

    /// <summary>
    /// The node defining <paramref name="valueName"/>, or null. Uses an index kept until the body changes (and checked
    /// against the node, whose outputs may have been edited in place), not a scan of the body.
    /// </summary>
    public Node? FindProducer(string valueName)
    {
        if (_producers is null || _producersVersion != Nodes.Version)
        {
            IndexProducers();
        }

        if (_producers!.TryGetValue(valueName, out Node? n) && n.Outputs.Contains(valueName))
        {
            return n;
        }

        // Outputs can be edited in place after a node is added: rebuild once before concluding.
        IndexProducers();
        return _producers.TryGetValue(valueName, out n) ? n : null;
    }

    /// <summary>A snapshot index of producers and consumers of every value (see <see cref="GraphIndex"/>).</summary>
    public GraphIndex Index() => GraphIndex.Build(this);

    private void IndexProducers()
    {
        var map = new Dictionary<string, Node>(StringComparer.Ordinal);
        foreach (Node n in Nodes)
        {
            foreach (string o in n.Outputs)
            {
                map.TryAdd(o, n);
            }
        }

        _producers = map;
        _producersVersion = Nodes.Version;
    }

    /// <summary>The property value as a string, or null when absent or not a string.</summary>
    public string? GetProperty(string key) =>
        Properties.FirstOrDefault(p => p.Key == key).Value is StringLiteral s ? s.Value : null;

    /// <summary>Sets (or appends) a string property.</summary>
    public void SetProperty(string key, string value)
    {
        int i = Properties.FindIndex(p => p.Key == key);
        var entry = new KeyValuePair<string, Arg>(key, Arg.String(value));
        if (i >= 0)
        {
            Properties[i] = entry;
        }
        else
        {
            Properties.Add(entry);
        }
    }

    /// <summary>
    /// Appends a graph input <c>name = tract_core_external(shape = [...], datum_type = '...')</c> and lists it in
    /// <see cref="Inputs"/>. Symbolic dimensions are declared in <see cref="Symbols"/> if not yet there, and the
    /// <c>tract_core</c> registry the operator belongs to is activated. (<see cref="GraphBuilder"/> builds whole graphs.)
    /// </summary>
    public Node AddInput(string name, DType dtype, IReadOnlyList<Dim> shape)
    {
        var node = new Node(ExternalOp, name)
            .With("shape", Arg.Array(shape.Select(DimToArg)))
            .With("datum_type", Arg.String(dtype.Name()));
        if (!Registries.Contains(OperatorCatalog.CoreRegistry))
        {
            Registries.Add(OperatorCatalog.CoreRegistry);
        }

        foreach (string s in shape.SelectMany(d => d.Symbols))
        {
            if (!Symbols.Contains(s))
            {
                Symbols.Add(s);
            }
        }

        Nodes.Add(node);
        Inputs.Add(name);
        return node;
    }

    /// <summary>
    /// Appends <c>name = variable&lt;generic&gt;(label = '...', shape = [...])</c> backed by <paramref name="source"/>.
    /// The generic follows torch_to_nnef: <c>scalar</c> for floats, <c>integer</c> for integers, <c>logical</c> for
    /// bool, none for Q4_0.
    /// </summary>
    public Node AddVariable(string name, string label, TensorSource source)
    {
        var node = new Node(VariableOp, name)
        {
            Generic = source.DType switch
            {
                _ when source.DType.IsFloat() => "scalar",
                _ when source.DType.IsInteger() => "integer",
                DType.Bool => "logical",
                _ => null,
            },
        };
        node.With("label", Arg.String(label)).With("shape", Arg.Ints(source.Shape.Dims.ToArray()));
        Nodes.Add(node);
        Variables[name] = new Variable(label, source);
        return node;
    }

    /// <summary>Shape of a graph input as declared by its external node (literals, symbols, dimension expressions).</summary>
    /// <exception cref="InvalidGraphException">No such input, or the declaration is malformed.</exception>
    public IReadOnlyList<Dim> GetInputShape(string name)
    {
        Node node = InputNode(name);
        try
        {
            return SourceOperators.DeclaredInputShape(node, InputSchema(node));
        }
        catch (InvalidGraphException e) when (e.TensorName is null)
        {
            throw new InvalidGraphException(name, e.Message);
        }
    }

    /// <summary>
    /// Declared type of a graph input: <c>datum_type</c> of <c>tract_core_external</c>, else by generic as NNEF's
    /// <c>external</c> (f32, <c>integer</c> i64, <c>logical</c> bool). A <c>graph.quant</c> entry is not applied.
    /// </summary>
    /// <exception cref="InvalidGraphException">No such input, or the declared type is not a tract type.</exception>
    public DatumType GetInputType(string name)
    {
        Node node = InputNode(name);
        try
        {
            return SourceOperators.DeclaredInputType(node);
        }
        catch (InvalidGraphException e) when (e.TensorName is null)
        {
            throw new InvalidGraphException(name, e.Message);
        }
    }

    /// <summary>Storage dtype of a graph input (see <see cref="GetInputType"/>).</summary>
    /// <exception cref="InvalidGraphException">No such input, or the type has no storage dtype (TDim inputs are i64).</exception>
    public DType GetInputDType(string name)
    {
        DatumType t = GetInputType(name);
        return t.Kind is DatumKind.String or DatumKind.BlockQuant
            ? throw new InvalidGraphException(name, $"input type {t} has no storage dtype")
            : t.ToStorageDType();
    }

    private Node InputNode(string name) =>
        FindProducer(name) is { Op: ExternalOp or "external" } node ? node : throw new InvalidGraphException(name, "no such graph input");

    private static OperatorSchema InputSchema(Node node) =>
        OperatorCatalog.Find(node.Op == ExternalOp ? OperatorCatalog.CoreRegistry : OperatorCatalog.NnefRegistry, node.Op)!;

    /// <summary>Converts a dimension to its argument form (see <see cref="Arg.Dim"/>).</summary>
    public static Arg DimToArg(Dim d) => Arg.Dim(d);

    /// <summary>Inverse of <see cref="DimToArg"/>: an integer literal, a symbol reference or a dimension expression.</summary>
    /// <exception cref="InvalidGraphException">Any other argument.</exception>
    public static Dim ArgToDim(Arg a) => TryArgToDim(a) ?? throw new InvalidGraphException(null, $"'{a}' is not a dimension");

    /// <summary>The dimension an argument denotes (an integer literal, a symbol reference, a dimension expression), or null.</summary>
    public static Dim? TryArgToDim(Arg a) => a switch
    {
        IntLiteral i => Dim.Of(i.Value),
        ValueRef r => Dim.Symbol(r.Name),
        DimArg d => d.Value,
        _ => null,
    };
}
