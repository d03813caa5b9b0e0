using TorchToNnef.Errors;
using TorchToNnef.Tensors;

namespace TorchToNnef.Ir;

/// <summary>
/// Builds a graph in code, typing every value as it is added (see <see cref="BodyBuilder"/> for the operators):
/// inputs (<c>tract_core_external</c>, which activates <c>tract_core</c> and declares the symbols of its shape),
/// variables from any <see cref="TensorSource"/> (unique labels, so two variables never share a <c>.dat</c> file),
/// symbols and assertions, fragments (<see cref="DefineFragment"/>) and outputs. The result writes to NNEF, reads back
/// to the same graph, and evaluates.
/// </summary>
/// <example>
/// <code>
/// var b = new GraphBuilder();
/// Dim s = b.Symbol("S");
/// GraphValue ids = b.Input("input_ids", DatumType.I64, 1, s);
/// GraphValue table = b.Variable("embed.weight", TensorSource.FromTensor(weights));
/// GraphValue h = b.Gather(table, ids);            // F32[1, S, 64]
/// b.Output(h, "hidden");
/// Graph g = b.Build();
/// </code>
/// </example>
public sealed class GraphBuilder : BodyBuilder
{
    private readonly HashSet<string> _labels = new(StringComparer.Ordinal);
    private readonly HashSet<string> _reserved = new(StringComparer.Ordinal);

    /// <summary>Starts an empty graph named <paramref name="name"/>.</summary>
    public GraphBuilder(string name = "network")
        : this(new Graph { Name = name }, new NameScope())
    {
    }

    private GraphBuilder(Graph graph, NameScope names)
        : base(graph, graph, names)
    {
        Graph = graph;
    }

    /// <summary>The graph being built.</summary>
    public Graph Graph { get; }

    /// <summary>
    /// Continues an existing graph: its values are typed (an error names the first statement that does not type) and
    /// their names, symbols and labels are reserved; new statements are appended to its body.
    /// </summary>
    public static GraphBuilder Extend(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var names = new NameScope();
        foreach (string n in graph.Nodes.SelectMany(n => n.Outputs).Concat(graph.Symbols))
        {
            names.Reserve(n);
        }

        var builder = new GraphBuilder(graph, names);
        foreach (Node n in graph.Nodes)
        {
            builder.Inference.Add(n);
        }

        foreach (Variable v in graph.Variables.Values)
        {
            builder._labels.Add(v.Label);
        }

        return builder;
    }

    /// <summary>A value of the graph by name.</summary>
    /// <exception cref="KeyNotFoundException">No such value.</exception>
    public GraphValue this[string name] => new(this, name, TypeOf(name));

    /// <summary>Declares a symbol (<c>extension tract_symbol</c>), once; returns it as a dimension.</summary>
    /// <exception cref="InvalidGraphException">The name is not an identifier or is a value.</exception>
    public Dim Symbol(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!Graph.Symbols.Contains(name))
        {
            if (!Names.TryTake(name))
            {
                throw new InvalidGraphException(name, "a symbol needs an identifier not used by a value");
            }

            Graph.Symbols.Add(name);
        }

        return Dim.Symbol(name);
    }

    /// <summary>
    /// Reserves an identifier for a graph input or output declared later (<see cref="Input"/>, <see cref="Output"/>), so
    /// that names generated in the meantime avoid it: an exporter that fixes its signature first can build the body in
    /// any order.
    /// </summary>
    /// <exception cref="InvalidGraphException">The name is not an identifier or is already used.</exception>
    public void Reserve(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (!Names.TryTake(name))
        {
            throw new InvalidGraphException(name, "cannot reserve a name that is not an identifier or is already used");
        }

        _reserved.Add(name);
    }

    /// <summary>
    /// Emits a value that carries a <c>graph.quant</c> entry (tract then gives it that quantized type: a variable's
    /// integers are re-typed, a cast or operator produces it): the entry is registered under a fresh identifier derived
    /// from <paramref name="name"/> before <paramref name="emit"/> runs with that identifier, so shape inference sees
    /// the quantized type. <paramref name="emit"/> must name its result exactly so.
    /// </summary>
    /// <exception cref="InvalidGraphException">The emitted value took another name.</exception>
    public GraphValue Quantized(QuantInfo quant, string name, Func<string, GraphValue> emit)
    {
        ArgumentNullException.ThrowIfNull(quant);
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(emit);
        string id = Names.Fresh(name);
        Names.Release(id);
        Graph.Quantization[id] = quant;
        try
        {
            GraphValue value = emit(id);
            return value.Name == id ? value : throw new InvalidGraphException(value.Name, $"a quantized value was expected under '{id}'");
        }
        catch
        {
            Graph.Quantization.Remove(id);
            throw;
        }
    }

    /// <summary>Adds an assertion on symbols, e.g. <c>S+P &lt; 256</c> or <c>tg: S==1</c>.</summary>
    public void Assert(string assertion) => Graph.Assertions.Add(Assertion.Parse(assertion));

    /// <summary>
    /// A graph input <c>name = tract_core_external(shape, datum_type)</c>, listed in the signature. Its symbols are
    /// declared and <c>tract_core</c> is activated.
    /// </summary>
    /// <exception cref="InvalidGraphException">The name is taken or not an identifier.</exception>
    public GraphValue Input(string name, DatumType type, params Dim[] shape)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(shape);
        foreach (string s in shape.SelectMany(d => d.Symbols))
        {
            Symbol(s);
        }

        if (!_reserved.Remove(name) && !Names.TryTake(name))
        {
            throw new InvalidGraphException(name, "an input needs an identifier no other value uses");
        }

        ActivateRegistry(OperatorCatalog.CoreRegistry);
        var node = new Node(Graph.ExternalOp, name)
            .With("shape", Arg.Dims(shape))
            .With("datum_type", Arg.String(TypeName(type)));
        GraphValue value = Emit(node)[0];
        Graph.Inputs.Add(name);
        return value;
    }

    /// <summary>
    /// A constant from <paramref name="source"/>: <c>name = variable(label, shape)</c>. The label names the
    /// <c>.dat</c> file and is made unique; the value name derives from <paramref name="name"/> or the label.
    /// </summary>
    public GraphValue Variable(string label, TensorSource source, string? name = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(label);
        ArgumentNullException.ThrowIfNull(source);
        string unique = label;
        for (int k = 1; !_labels.Add(unique); k++)
        {
            unique = $"{label}_{k}";
        }

        string valueName = Names.Fresh(name ?? label);
        var node = new Node(Graph.VariableOp, valueName)
        {
            Generic = source.DType switch
            {
                _ when source.DType.IsFloat() => "scalar",
                _ when source.DType.IsInteger() => "integer",
                DType.Bool => "logical",
                _ => null,
            },
        };
        node.With("label", Arg.String(unique)).With("shape", Arg.Ints(source.Shape.Dims.ToArray()));
        Graph.Variables[valueName] = new Variable(unique, source);
        try
        {
            return Emit(node)[0];
        }
        catch
        {
            Graph.Variables.Remove(valueName);
            throw;
        }
    }

    /// <summary>
    /// Lists <paramref name="value"/> as a graph output, under <paramref name="name"/> when given (a plain assignment
    /// <c>name = value;</c> is added when the names differ).
    /// </summary>
    public GraphValue Output(GraphValue value, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(value);
        GraphValue output = value;
        if (name is not null && name != value.Name)
        {
            if (!_reserved.Remove(name) && !Names.TryTake(name))
            {
                throw new InvalidGraphException(name, "an output needs an identifier no other value uses");
            }

            output = Emit(new Node(Graph.AliasOp, name).With(value.ToArg()))[0];
        }

        Graph.Outputs.Add(output.Name);
        return output;
    }

    /// <summary>
    /// Defines a fragment: <paramref name="define"/> declares its parameters and builds its body with a
    /// <see cref="FragmentBuilder"/> (typed with the parameters' prototype types); the fragment is then added to the
    /// graph and can be invoked with <see cref="BodyBuilder.Call"/>, each call typed through its body.
    /// </summary>
    /// <exception cref="InvalidGraphException">The name is taken, or the body does not type.</exception>
    public OperatorSchema DefineFragment(string name, Action<FragmentBuilder> define)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        ArgumentNullException.ThrowIfNull(define);
        if (!NameScope.IsIdentifier(name) || Graph.Fragments.Any(f => f.Name == name) || OperatorCatalog.FindAny(name) is not null)
        {
            throw new InvalidGraphException(name, "a fragment needs an identifier that is not an operator or another fragment");
        }

        var builder = new FragmentBuilder(Graph, name);
        define(builder);
        Fragment fragment = builder.Complete();
        Graph.Fragments.Add(fragment);
        return OperatorSchema.FromFragment(fragment);
    }

    /// <summary>Checks the graph (<see cref="GraphValidator"/>) and returns it.</summary>
    /// <exception cref="InvalidGraphException">No output, or an inconsistency.</exception>
    public Graph Build()
    {
        if (Graph.Outputs.Count == 0)
        {
            throw new InvalidGraphException(null, "the graph has no output");
        }

        GraphValidator.Validate(Graph);
        return Graph;
    }
}
