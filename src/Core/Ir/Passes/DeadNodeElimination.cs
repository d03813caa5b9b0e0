namespace TorchToNnef.Ir;

/// <summary>
/// Removes statements whose values never reach a graph output, with their variables and <c>graph.quant</c> entries,
/// and fragments no remaining statement invokes (directly or through other fragments). Graph inputs are kept even
/// when unused, so the signature does not change.
/// </summary>
public static class DeadNodeElimination
{
    /// <summary>Runs the pass; returns the number of statements removed.</summary>
    public static int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        GraphIndex index = graph.Index();
        var live = new HashSet<Node>(ReferenceEqualityComparer.Instance);
        var work = new Stack<Node>();
        void Mark(string value)
        {
            if (index.Producer(value) is Node p && live.Add(p))
            {
                work.Push(p);
            }
        }

        graph.Outputs.ForEach(Mark);
        graph.Inputs.ForEach(Mark);
        while (work.TryPop(out Node? n))
        {
            foreach (string r in n.References)
            {
                Mark(r);
            }
        }

        var removed = graph.Nodes.Where(n => !live.Contains(n)).ToList();
        graph.Nodes.RemoveAll(n => !live.Contains(n));
        foreach (string o in removed.SelectMany(n => n.Outputs))
        {
            graph.Variables.Remove(o);
            graph.Quantization.Remove(o);
        }

        RemoveUnusedFragments(graph);
        return removed.Count;
    }

    private static void RemoveUnusedFragments(Graph graph)
    {
        var byName = graph.Fragments.GroupBy(f => f.Name, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        var used = new HashSet<string>(StringComparer.Ordinal);
        var work = new Stack<string>(graph.Nodes.SelectMany(Invoked).Where(byName.ContainsKey));
        while (work.TryPop(out string? name))
        {
            if (used.Add(name) && byName[name].Body is List<Node> body)
            {
                foreach (string op in body.SelectMany(Invoked).Where(byName.ContainsKey))
                {
                    work.Push(op);
                }
            }
        }

        graph.Fragments.RemoveAll(f => !used.Contains(f.Name));
    }

    // A node runs the fragment it is named after, and a scan also runs its body fragment.
    private static IEnumerable<string> Invoked(Node n) => ScanPlan.BodyOf(n) is string body ? [n.Op, body] : [n.Op];
}
