using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Gives every value of a graph its static type, <see cref="DatumType"/> and shape with symbolic dimensions, by running
/// each operator's rule from the <see cref="OperatorCatalog"/> over the body in order, with tract's operand typing,
/// constant folding and <c>graph.quant</c> casts (the same rules the evaluator follows), and document and stdlib
/// fragments inferred through their bodies at each call. Small integer tensors (shapes and the arithmetic on them)
/// are tracked element by element, so shapes computed in the graph (<c>reshape</c>, <c>tile</c>,
/// <c>tract_core_range</c>) are known too. An unknown operator, a shape conflict or an argument that must be known
/// statically but is not is an error naming the node.
/// </summary>
public sealed class ShapeInference
{
    private static readonly DatumType?[] NoQuantization = [null];

    private readonly OperatorResolver _resolver;
    private readonly StaticScope _scope;
    private readonly HashSet<string> _symbols;
    private readonly Dictionary<string, TensorType> _body = new(StringComparer.Ordinal);
    private readonly Dictionary<string, TensorType> _all = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Dim[]> _known = new(StringComparer.Ordinal);
    private int _depth;
    private Dictionary<string, long>? _bounds;
    private int _boundsFrom;

    /// <summary>Prepares inference for <paramref name="graph"/> (nothing is inferred yet; see <see cref="Add"/>).</summary>
    public ShapeInference(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        Graph = graph;
        _resolver = new OperatorResolver(graph);
        _symbols = new HashSet<string>(graph.Symbols, StringComparer.Ordinal);
        foreach (Node n in graph.Nodes.Where(n => n.Op is Graph.ExternalOp or "external"))
        {
            // The evaluator binds every symbol of an input shape, declared or not.
            foreach (string s in n.References)
            {
                _symbols.Add(s);
            }
        }

        _scope = new StaticScope(_symbols);
    }

    /// <summary>The graph being typed.</summary>
    public Graph Graph { get; }

    /// <summary>Lower bounds of symbols given by the graph's unconditional assertions (<c>S &gt;= 1</c>).</summary>
    public IReadOnlyDictionary<string, long> LowerBounds
    {
        get
        {
            if (_bounds is null || _boundsFrom != Graph.Assertions.Count)
            {
                _bounds = Bounds(Graph);
                _boundsFrom = Graph.Assertions.Count;
            }

            return _bounds;
        }
    }

    /// <summary>Types of the graph-body values inferred so far.</summary>
    public GraphTypes Types => new(_body, _all, _known);

    /// <summary>Infers every node of <paramref name="graph"/>.</summary>
    /// <exception cref="InvalidGraphException">A shape conflict, a bad argument or an unknown value, naming the node.</exception>
    /// <exception cref="UnsupportedFeatureException">An operator no registry defines, naming the node.</exception>
    public static GraphTypes Run(Graph graph)
    {
        var inference = new ShapeInference(graph);
        foreach (Node n in graph.Nodes)
        {
            inference.Add(n);
        }

        return inference.Types;
    }

    /// <summary>
    /// Infers what can be inferred: a node that fails is skipped (its values stay unknown, and so do those computed from
    /// them); the errors are returned in body order.
    /// </summary>
    public static GraphTypes RunPartial(Graph graph, out IReadOnlyList<TorchToNnefException> errors)
    {
        var inference = new ShapeInference(graph);
        var found = new List<TorchToNnefException>();
        foreach (Node n in graph.Nodes)
        {
            try
            {
                inference.Add(n);
            }
            catch (TorchToNnefException e)
            {
                found.Add(e);
            }
        }

        errors = found;
        return inference.Types;
    }

    /// <summary>
    /// Infers one node of the graph body, after the nodes it reads (the graph builder calls this for each node it
    /// appends), and returns the types of its outputs.
    /// </summary>
    /// <exception cref="InvalidGraphException">A shape conflict, a bad argument or an unknown value, naming the node.</exception>
    /// <exception cref="UnsupportedFeatureException">An operator no registry defines, naming the node.</exception>
    public IReadOnlyList<TensorType> Add(Node node)
    {
        ArgumentNullException.ThrowIfNull(node);
        foreach (string symbol in Graph.Symbols)
        {
            _symbols.Add(symbol);
        }

        if (node.Op is Graph.ExternalOp or "external")
        {
            foreach (string s in node.References)
            {
                _symbols.Add(s);
            }
        }

        List<StaticTensor> outputs = RunNode(node, _scope, string.Empty);
        for (int k = 0; k < outputs.Count; k++)
        {
            _body[node.Outputs[k]] = outputs[k].Type;
        }

        var types = new TensorType[outputs.Count];
        for (int k = 0; k < types.Length; k++)
        {
            types[k] = outputs[k].Type;
        }

        return types;
    }

    /// <summary>Binds a fragment parameter, typed by a prototype, in the root scope (fragment bodies built on their own).</summary>
    internal void BindParameter(string name, TensorType prototype)
    {
        _scope[name] = new StaticTensor(prototype, false);
        _body[name] = prototype;
    }

    /// <summary>Binds a non-tensor fragment parameter to an example argument in the root scope.</summary>
    internal void BindParameter(string name, Arg example) => _scope[name] = _scope.Resolve(example);

    /// <summary>The type of a graph-body value inferred so far.</summary>
    /// <exception cref="KeyNotFoundException">The value is not (yet) typed.</exception>
    public TensorType TypeOf(string value) => Types[value];

    internal StaticScope NewScope() => new(_symbols);

    internal StaticScope RootScope => _scope;

    // Runs statements of a body in order, naming the node in errors as the evaluator does.
    private void RunBody(IReadOnlyList<Node> body, StaticScope scope, string path)
    {
        foreach (Node node in body)
        {
            RunNode(node, scope, path);
        }
    }

    private List<StaticTensor> RunNode(Node node, StaticScope scope, string path)
    {
        string where = ValuePath.Of(path, node.Name);
        List<StaticTensor> values;
        try
        {
            DatumType?[] quant = QuantTypesOf(node);
            StaticOperand result = node.Op == Graph.AliasOp ? Alias(node, scope, quant) : Invoke(node, scope, quant, where, path);
            if (node.Outputs.Count == 1)
            {
                values = [StaticCoerce.ToTensor(result, node.Name)];
            }
            else
            {
                values = StaticCoerce.ToTensors(result, node.Name);
                if (values.Count != node.Outputs.Count)
                {
                    throw new InvalidGraphException(null, $"assignment of {node.Outputs.Count} identifiers received {values.Count} value(s)");
                }
            }

            for (int k = 0; k < values.Count; k++)
            {
                // A graph.quant type on an assigned identifier adds a final cast.
                if (quant[k] is DatumType q && values[k].DType != q)
                {
                    StaticTensor v = values[k];
                    values[k] = new StaticTensor(new TensorType(q, v.Shape), v.IsConst && v.Count is < 16);
                }
            }
        }
        catch (TorchToNnefException e) when (e.TensorName is null || !e.TensorName.StartsWith(where, StringComparison.Ordinal))
        {
            throw Located(e, where, node);
        }
        catch (Exception e) when (e is ArithmeticException or ArgumentException or InvalidOperationException or KeyNotFoundException)
        {
            throw new InvalidGraphException(where, $"{node.Op}: {e.Message}");
        }

        for (int k = 0; k < values.Count; k++)
        {
            scope[node.Outputs[k]] = values[k];
            string at = ValuePath.Of(path, node.Outputs[k]);
            _all[at] = values[k].Type;
            if (values[k].Values is Dim[] known)
            {
                _known[at] = known;
            }
        }

        return values;
    }

    private static StaticOperand Alias(Node node, StaticScope scope, DatumType?[] quant)
    {
        if (node.Inputs.Count != 1)
        {
            throw new InvalidGraphException(null, "a plain assignment takes exactly one value");
        }

        StaticOperand value = scope.Resolve(node.Inputs[0]);
        if (node.Inputs[0] is ValueRef && value is StaticTensor t && quant.Length > 0 && quant[0] is DatumType q && t.DType != q)
        {
            if (t.DType.Unquantized != q.Unquantized)
            {
                throw new InvalidGraphException(null, $"mismatched types: graph.quant expects {q}, got {t.DType}");
            }

            return new StaticTensor(new TensorType(q, t.Shape), t.IsConst);
        }

        return value;
    }

    private StaticOperand Invoke(Node node, StaticScope scope, DatumType?[] quant, string where, string path)
    {
        OperatorSchema schema = _resolver.Resolve(node.Op);
        if (schema.Body is not null)
        {
            return InvokeFragment(node, schema, scope, quant, path);
        }

        if (schema.Rule is null)
        {
            throw new UnsupportedFeatureException(null, null, $"no shape rule for '{node.Op}'");
        }

        return schema.Rule(new InferenceCall(this, node, schema, scope, quant));
    }

    private StaticTuple InvokeFragment(Node node, OperatorSchema schema, StaticScope callerScope, DatumType?[] quant, string path)
    {
        Fragment fragment = schema.Body!;
        if (_depth >= 64)
        {
            throw new InvalidGraphException(null, $"fragments nest deeper than 64 levels (recursive fragment '{fragment.Name}'?)");
        }

        var call = new InferenceCall(this, node, schema, callerScope, quant);
        var arguments = new Dictionary<string, StaticOperand>(StringComparer.Ordinal);
        foreach (OperatorParameter p in schema.Parameters)
        {
            arguments[p.Name] = call.Find(p.Name) ?? throw new InvalidGraphException(null, $"fragment '{fragment.Name}' expects argument '{p.Name}'");
        }

        return new StaticTuple(RunFragment(fragment, arguments, ValuePath.FragmentScope(path, node, fragment.Name)));
    }

    /// <summary>
    /// Runs the body of <paramref name="fragment"/> with its parameters bound to <paramref name="arguments"/> (a loop
    /// body such as <c>tract_core_scan</c>'s, invoked by <paramref name="caller"/>) and returns its results in order.
    /// </summary>
    internal IReadOnlyList<StaticOperand> RunFragment(Fragment fragment, IReadOnlyDictionary<string, StaticOperand> arguments, Node caller) =>
        RunFragment(fragment, arguments, ValuePath.FragmentScope(string.Empty, caller, fragment.Name));

    private List<StaticOperand> RunFragment(Fragment fragment, IReadOnlyDictionary<string, StaticOperand> arguments, string path)
    {
        if (_depth >= 64)
        {
            throw new InvalidGraphException(null, $"fragments nest deeper than 64 levels (recursive fragment '{fragment.Name}'?)");
        }

        StaticScope inner = NewScope();
        foreach ((string name, StaticOperand value) in arguments)
        {
            inner[name] = value;
        }

        _depth++;
        try
        {
            RunBody(fragment.Body!, inner, path);
        }
        finally
        {
            _depth--;
        }

        return [.. fragment.Results.Select(r => inner.TryGet(r.Name, out StaticOperand? v)
            ? v
            : throw new InvalidGraphException(null, $"fragment '{fragment.Name}' does not assign its result '{r.Name}'"))];
    }

    // The graph.quant type of each output (null where none); most graphs quantize nothing, and then this allocates
    // nothing for the usual single output.
    private DatumType?[] QuantTypesOf(Node node)
    {
        if (Graph.Quantization.Count == 0 && node.Outputs.Count == 1)
        {
            return NoQuantization;
        }

        var types = new DatumType?[node.Outputs.Count];
        for (int k = 0; k < types.Length; k++)
        {
            types[k] = QuantTypeOf(node.Outputs[k]);
        }

        return types;
    }

    private DatumType? QuantTypeOf(string identifier) =>
        Graph.Quantization.TryGetValue(identifier, out QuantInfo? q) ? q.ToDatumType(identifier) : null;

    private static Dictionary<string, long> Bounds(Graph graph)
    {
        var bounds = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (Assertion a in graph.Assertions.Where(a => a.Scenario is null))
        {
            (Dim sym, string op, Dim c) = a.Right.IsConstant ? (a.Left, a.Operator, a.Right) : (a.Right, Flip(a.Operator), a.Left);
            if (sym.TryGetSymbol(out string s) && c.TryGetConstant(out long v) && op is ">=" or ">" or "==")
            {
                long lb = op == ">" ? v + 1 : v;
                bounds[s] = Math.Max(bounds.GetValueOrDefault(s, long.MinValue), lb);
            }
        }

        return bounds;
    }

    private static string Flip(string op) => op switch { "<" => ">", ">" => "<", "<=" => ">=", ">=" => "<=", _ => op };

    private static TorchToNnefException Located(TorchToNnefException e, string where, Node node)
    {
        string reason = e is InvalidGraphException && e.TensorName is not null ? $"'{e.TensorName}': {Strip(e)}" : Strip(e);
        return e switch
        {
            UnsupportedFeatureException => new UnsupportedFeatureException(null, where, $"{node.Op}: {reason}"),
            _ => new InvalidGraphException(where, $"{node.Op}: {reason}"),
        };
    }

    private static string Strip(TorchToNnefException e)
    {
        string m = e.Message;
        foreach (string prefix in new[] { $"node '{e.TensorName}': ", $"tensor '{e.TensorName}': " })
        {
            if (e.TensorName is not null && m.StartsWith(prefix, StringComparison.Ordinal))
            {
                return m[prefix.Length..];
            }
        }

        return m;
    }
}
