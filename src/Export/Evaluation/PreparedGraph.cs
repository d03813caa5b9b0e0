using System.Collections.Concurrent;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// What a statement needs that does not depend on the values fed: its operator resolved (a document fragment or the
/// catalog's built-in and the evaluator's implementation of it), the <c>graph.quant</c> types of the identifiers it
/// assigns, its arguments in writing order and bound to the operator's parameters, the literals among them already
/// resolved, and, for a statement of the graph body that reads only weights and literals, its values once computed.
/// Worked out the first time a run meets the statement and reused by every later run, so a run of an evaluator that
/// is already prepared only evaluates.
/// </summary>
internal sealed class PreparedNode
{
    private static readonly Operand?[] NoLiterals = [];

    private readonly (string Name, Arg? Argument, Operand? Literal)[] _parameters;
    private TensorOperand[]? _folded;
    private object? _operatorState;

    private PreparedNode(Node node, OperatorSchema? schema, OpImpl? implementation, DatumType?[] outputTypes, IReadOnlyList<Arg> argumentsInOrder, bool foldable)
    {
        Node = node;
        Schema = schema;
        Implementation = implementation;
        OutputTypes = outputTypes;
        ArgumentsInOrder = argumentsInOrder;
        Foldable = foldable;
        PositionalLiterals = argumentsInOrder.Count == 0 ? NoLiterals : argumentsInOrder.Select(Scope.Literal).ToArray();
        _parameters = schema is null
            ? []
            : schema.Parameters.Select(p =>
            {
                Arg? arg = schema.Argument(node, p.Name);
                return (p.Name, arg, arg is null ? null : Scope.Literal(arg));
            }).ToArray();
    }

    /// <summary>The statement prepared.</summary>
    public Node Node { get; }

    /// <summary>The operator's schema; null for a plain assignment (<see cref="Graph.AliasOp"/>).</summary>
    public OperatorSchema? Schema { get; }

    /// <summary>The evaluator's implementation of a built-in; null for a fragment run from its body, or an assignment.</summary>
    public OpImpl? Implementation { get; }

    /// <summary><c>graph.quant</c> types of the assigned identifiers (null where there is no entry). Never written to.</summary>
    public DatumType?[] OutputTypes { get; }

    /// <summary>Every argument in writing order (positional ones first).</summary>
    public IReadOnlyList<Arg> ArgumentsInOrder { get; }

    /// <summary>For each argument in writing order, its value when it is a literal (no identifier or symbol in it), else null.</summary>
    public Operand?[] PositionalLiterals { get; }

    /// <summary>
    /// The statement's values are the same in every run: it is a statement of the graph body whose arguments name only
    /// values of earlier such statements (weights, literals, what is computed from them), its operator a built-in
    /// that reads nothing but its arguments. Its values are computed by the first run and kept (<see cref="Folded"/>).
    /// </summary>
    public bool Foldable { get; }

    /// <summary>The kept values of a <see cref="Foldable"/> statement (storage no pool owns), or null before the first run.</summary>
    public TensorOperand[]? Folded
    {
        get => Volatile.Read(ref _folded);
        set => Volatile.Write(ref _folded, value);
    }

    /// <summary>
    /// What the operator worked out from its operands' shapes in an earlier run (a product's plan), for it to reuse
    /// when they come again; the operator checks it still applies (a statement of a fragment body is shared by every
    /// invocation of the fragment). Immutable once stored; concurrent runs may replace it.
    /// </summary>
    public object? OperatorState
    {
        get => Volatile.Read(ref _operatorState);
        set => Volatile.Write(ref _operatorState, value);
    }

    /// <summary>For a fragment invocation in the graph body, the scope path of its body's values (made by the first run).</summary>
    public string? FragmentPath { get; set; }

    /// <summary>
    /// The argument bound to the declared parameter <paramref name="name"/> (as <see cref="OperatorSchema.Argument"/>)
    /// and its value when it is a literal; false for a name the operator does not declare.
    /// </summary>
    public bool TryParameter(string name, out Arg? argument, out Operand? literal)
    {
        (string Name, Arg? Argument, Operand? Literal)[] parameters = _parameters;
        for (int i = 0; i < parameters.Length; i++)
        {
            // Operators ask with the same literal strings the catalog declares: reference equality is the usual hit.
            if (ReferenceEquals(parameters[i].Name, name) || string.Equals(parameters[i].Name, name, StringComparison.Ordinal))
            {
                argument = parameters[i].Argument;
                literal = parameters[i].Literal;
                return true;
            }
        }

        argument = null;
        literal = null;
        return false;
    }

    /// <summary>Resolves <paramref name="node"/> in <paramref name="graph"/> (throws as resolution does for an unknown operator).</summary>
    public static PreparedNode Create(Graph graph, OperatorResolver resolver, Node node, bool foldable)
    {
        DatumType?[] quant = node.Outputs.Select(o => graph.Quantization.TryGetValue(o, out QuantInfo? q) ? q.ToDatumType(o) : (DatumType?)null).ToArray();
        IReadOnlyList<Arg> arguments = OperatorSchema.ArgumentsInOrder(node);
        if (node.Op == Graph.AliasOp)
        {
            return new PreparedNode(node, null, null, quant, arguments, foldable);
        }

        OperatorSchema schema = resolver.Resolve(node.Op);
        return new PreparedNode(node, schema, schema.Body is null ? Registries.ImplementationOf(schema) : null, quant, arguments, foldable);
    }
}

/// <summary>
/// The preparation an evaluator keeps for its graph: one <see cref="PreparedNode"/> per statement met (graph body and
/// fragment bodies alike), shared by concurrent runs. The graph is taken as fixed once the evaluator is built (as its
/// inputs and release points already are); fragments or registries added later start the preparation over.
/// </summary>
internal sealed class PreparedGraph
{
    private readonly Graph _graph;
    private readonly OperatorResolver _resolver;
    private readonly object _gate = new();
    private readonly bool _keepConstants;
    private ConcurrentDictionary<Node, PreparedNode> _nodes = new(ReferenceEqualityComparer.Instance);
    private ConcurrentDictionary<IReadOnlyList<Node>, PreparedNode?[]> _bodies = new(ReferenceEqualityComparer.Instance);
    private HashSet<Node> _foldable;
    private (int Fragments, int Registries) _seen;

    /// <summary>Prepares <paramref name="graph"/>; <paramref name="keepConstants"/> false computes no statement once for all runs.</summary>
    public PreparedGraph(Graph graph, bool keepConstants = true)
    {
        _keepConstants = keepConstants;
        _graph = graph;
        _resolver = new OperatorResolver(graph);
        _seen = (graph.Fragments.Count, graph.Registries.Count);
        _foldable = FoldableStatements();
    }

    /// <summary>Called once per run: drops the preparation if the graph gained fragments or registries since.</summary>
    public void Refresh()
    {
        (int, int) now = (_graph.Fragments.Count, _graph.Registries.Count);
        if (now != _seen)
        {
            lock (_gate)
            {
                _nodes = new ConcurrentDictionary<Node, PreparedNode>(ReferenceEqualityComparer.Instance);
                _bodies = new ConcurrentDictionary<IReadOnlyList<Node>, PreparedNode?[]>(ReferenceEqualityComparer.Instance);
                _foldable = FoldableStatements();
                _seen = now;
            }
        }
    }

    /// <summary>The preparation of <paramref name="node"/>, made the first time it is asked for.</summary>
    public PreparedNode this[Node node]
    {
        get
        {
            if (_nodes.TryGetValue(node, out PreparedNode? prepared))
            {
                return prepared;
            }

            // The resolver refreshes its fragment table lazily: one preparation at a time.
            lock (_gate)
            {
                return _nodes.GetOrAdd(node, n => PreparedNode.Create(_graph, _resolver, n, _foldable.Contains(n)));
            }
        }
    }

    /// <summary>
    /// Slots for the preparations of <paramref name="body"/>'s statements by position (the graph body, a fragment's),
    /// filled as runs meet them: a run looks its statements up once per body rather than once per statement.
    /// </summary>
    public PreparedNode?[] Body(IReadOnlyList<Node> body) =>
        _bodies.TryGetValue(body, out PreparedNode?[]? slots) && slots.Length == body.Count
            ? slots
            : _bodies[body] = new PreparedNode?[body.Count];

    // Statements of the graph body whose values cannot change between runs: every identifier they read is assigned
    // (once) by an earlier such statement, so none reads a graph input or a symbol; the operator is a built-in other
    // than the input statements and scan (which runs a fragment body), or a plain assignment. Fragment invocations are
    // left out: a body may read symbols by name. None when constants are not kept (their values would hold weights).
    private HashSet<Node> FoldableStatements()
    {
        if (!_keepConstants)
        {
            return new HashSet<Node>(ReferenceEqualityComparer.Instance);
        }

        var assigned = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (Node node in _graph.Nodes)
        {
            foreach (string o in node.Outputs)
            {
                assigned[o] = assigned.GetValueOrDefault(o) + 1;
            }
        }

        var constant = new HashSet<string>(StringComparer.Ordinal);
        var foldable = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        foreach (Node node in _graph.Nodes)
        {
            if (!IsPureBuiltIn(node.Op) || node.Outputs.Any(o => assigned[o] != 1) || !node.References.All(constant.Contains))
            {
                continue;
            }

            foldable.Add(node);
            constant.UnionWith(node.Outputs);
        }

        return foldable;
    }

    private bool IsPureBuiltIn(string op)
    {
        if (op == Graph.AliasOp)
        {
            return true;
        }

        if (op is Graph.ExternalOp or "external" or ScanPlan.Op)
        {
            return false;
        }

        OperatorSchema? schema = _resolver.TryResolve(op);
        return schema is { Body: null };
    }
}
