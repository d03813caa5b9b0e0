namespace TorchToNnef.Ir;

/// <summary>
/// Producers and consumers of every value of a graph body, built in one pass: which node defines a value (and where
/// it stands in the body) and which nodes read it. A snapshot: rebuild it after editing the body or node arguments.
/// </summary>
public sealed class GraphIndex
{
    private readonly Dictionary<string, int> _producer = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<Node>> _consumers = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<Node> _nodes;

    private GraphIndex(IReadOnlyList<Node> nodes)
    {
        _nodes = nodes;
        for (int i = 0; i < nodes.Count; i++)
        {
            Node n = nodes[i];
            foreach (string r in n.References.Distinct(StringComparer.Ordinal))
            {
                if (!_consumers.TryGetValue(r, out List<Node>? list))
                {
                    _consumers[r] = list = [];
                }

                list.Add(n);
            }

            foreach (string o in n.Outputs)
            {
                // The first definition wins, as a validator reports the second one.
                _producer.TryAdd(o, i);
            }
        }
    }

    /// <summary>Indexes the body of <paramref name="graph"/>.</summary>
    public static GraphIndex Build(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        return new GraphIndex(graph.Nodes);
    }

    /// <summary>Indexes a list of nodes (for example a fragment body).</summary>
    public static GraphIndex Build(IReadOnlyList<Node> nodes)
    {
        ArgumentNullException.ThrowIfNull(nodes);
        return new GraphIndex(nodes);
    }

    /// <summary>Every value defined by the body.</summary>
    public IEnumerable<string> Values => _producer.Keys;

    /// <summary>The node defining <paramref name="value"/>, or null.</summary>
    public Node? Producer(string value) => _producer.TryGetValue(value, out int i) ? _nodes[i] : null;

    /// <summary>Position in the body of the node defining <paramref name="value"/>, or -1.</summary>
    public int ProducerPosition(string value) => _producer.TryGetValue(value, out int i) ? i : -1;

    /// <summary>The nodes reading <paramref name="value"/> (each once, in body order); empty when none.</summary>
    public IReadOnlyList<Node> Consumers(string value) => _consumers.TryGetValue(value, out List<Node>? list) ? list : [];
}
