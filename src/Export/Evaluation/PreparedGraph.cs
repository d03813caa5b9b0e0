using System.Collections.Concurrent;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// What a statement needs that does not depend on the values fed: its operator resolved (a document fragment or the
/// catalog's built-in and the evaluator's implementation of it), the <c>graph.quant</c> types of the identifiers it
/// assigns, and its arguments in writing order. Worked out the first time a run meets the statement and reused by
/// every later run, so a run of an evaluator that is already prepared only evaluates.
/// </summary>
internal sealed class PreparedNode
{
    private PreparedNode(OperatorSchema? schema, OpImpl? implementation, DatumType?[] outputTypes, IReadOnlyList<Arg> argumentsInOrder)
    {
        Schema = schema;
        Implementation = implementation;
        OutputTypes = outputTypes;
        ArgumentsInOrder = argumentsInOrder;
    }

    /// <summary>The operator's schema; null for a plain assignment (<see cref="Graph.AliasOp"/>).</summary>
    public OperatorSchema? Schema { get; }

    /// <summary>The evaluator's implementation of a built-in; null for a fragment run from its body, or an assignment.</summary>
    public OpImpl? Implementation { get; }

    /// <summary><c>graph.quant</c> types of the assigned identifiers (null where there is no entry). Never written to.</summary>
    public DatumType?[] OutputTypes { get; }

    /// <summary>Every argument in writing order (positional ones first).</summary>
    public IReadOnlyList<Arg> ArgumentsInOrder { get; }

    /// <summary>Resolves <paramref name="node"/> in <paramref name="graph"/> (throws as resolution does for an unknown operator).</summary>
    public static PreparedNode Create(Graph graph, OperatorResolver resolver, Node node)
    {
        DatumType?[] quant = node.Outputs.Select(o => graph.Quantization.TryGetValue(o, out QuantInfo? q) ? q.ToDatumType(o) : (DatumType?)null).ToArray();
        IReadOnlyList<Arg> arguments = OperatorSchema.ArgumentsInOrder(node);
        if (node.Op == Graph.AliasOp)
        {
            return new PreparedNode(null, null, quant, arguments);
        }

        OperatorSchema schema = resolver.Resolve(node.Op);
        return new PreparedNode(schema, schema.Body is null ? Registries.ImplementationOf(schema) : null, quant, arguments);
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
    private ConcurrentDictionary<Node, PreparedNode> _nodes = new(ReferenceEqualityComparer.Instance);
    private (int Fragments, int Registries) _seen;

    public PreparedGraph(Graph graph)
    {
        _graph = graph;
        _resolver = new OperatorResolver(graph);
        _seen = (graph.Fragments.Count, graph.Registries.Count);
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
                return _nodes.GetOrAdd(node, n => PreparedNode.Create(_graph, _resolver, n));
            }
        }
    }
}
