using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Checks that a graph is well formed in NNEF's sense, where the body order is the execution order: every value is
/// defined once, every read refers to a value defined earlier (or to a symbol), graph inputs are externals, outputs
/// exist, variable nodes and <see cref="Graph.Variables"/> agree, and fragment bodies only read their parameters
/// and earlier values, no output is listed twice, and no fragment invokes itself, directly or through others (tract
/// would recurse without end). Errors name the node and the value.
/// </summary>
public static class GraphValidator
{
    private static readonly HashSet<string> ExternalOps = new(StringComparer.Ordinal) { Graph.ExternalOp, "external" };

    /// <summary>Validates <paramref name="graph"/>.</summary>
    /// <exception cref="InvalidGraphException">The first problem found.</exception>
    public static void Validate(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var definedAt = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            foreach (string o in graph.Nodes[i].Outputs)
            {
                if (!definedAt.TryAdd(o, i))
                {
                    throw new InvalidGraphException(o, $"value defined twice (statements #{definedAt[o]} and #{i})");
                }
            }
        }

        var symbols = new HashSet<string>(graph.Symbols, StringComparer.Ordinal);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            Node n = graph.Nodes[i];
            if (n.Outputs.Count == 0)
            {
                throw new InvalidGraphException(n.Op, $"statement #{i} defines no value");
            }

            bool implicitSymbols = ExternalOps.Contains(n.Op);
            foreach (string r in n.References)
            {
                if (definedAt.TryGetValue(r, out int at))
                {
                    if (at >= i)
                    {
                        throw new InvalidGraphException(
                            n.Name,
                            at == i ? $"reads its own output '{r}' (cycle)" : $"reads '{r}' before it is defined (statement #{at}): the body is not in execution order or has a cycle");
                    }
                }
                else if (!symbols.Contains(r) && !implicitSymbols)
                {
                    throw new InvalidGraphException(n.Name, $"reads unknown value '{r}' (not defined, not a declared symbol)");
                }
            }

            if (n.Op == Graph.VariableOp && !graph.Variables.ContainsKey(n.Name))
            {
                throw new InvalidGraphException(n.Name, "variable has no data");
            }
        }

        foreach (string input in graph.Inputs)
        {
            if (!definedAt.TryGetValue(input, out int at) || !ExternalOps.Contains(graph.Nodes[at].Op))
            {
                throw new InvalidGraphException(input, "graph input is not defined by an external");
            }
        }

        var outputs = new HashSet<string>(StringComparer.Ordinal);
        foreach (string output in graph.Outputs)
        {
            if (!definedAt.ContainsKey(output))
            {
                throw new InvalidGraphException(output, "graph output is never defined");
            }

            if (!outputs.Add(output))
            {
                throw new InvalidGraphException(output, "graph output is listed twice");
            }
        }

        foreach (string name in graph.Variables.Keys)
        {
            if (!definedAt.TryGetValue(name, out int at) || graph.Nodes[at].Op != Graph.VariableOp)
            {
                throw new InvalidGraphException(name, "has data in Graph.Variables but no variable node");
            }
        }

        foreach (Fragment f in graph.Fragments)
        {
            ValidateFragment(f, symbols);
        }

        CheckFragmentsDoNotRecurse(graph.Fragments);
    }

    /// <summary>
    /// Reorders the body so that every value is defined before it is read, keeping the original order wherever the
    /// dependencies allow (a stable topological sort).
    /// </summary>
    /// <exception cref="InvalidGraphException">A cycle (named by the values on it) or a value defined twice.</exception>
    public static void SortTopologically(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var producer = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            foreach (string o in graph.Nodes[i].Outputs)
            {
                if (!producer.TryAdd(o, i))
                {
                    throw new InvalidGraphException(o, "value defined twice");
                }
            }
        }

        int count = graph.Nodes.Count;
        var deps = new List<int>[count];
        var users = new List<int>[count];
        int[] pending = new int[count];
        for (int i = 0; i < count; i++)
        {
            users[i] ??= [];
            deps[i] = [.. graph.Nodes[i].References.Where(producer.ContainsKey).Select(r => producer[r]).Distinct()];
            pending[i] = deps[i].Count;
            foreach (int d in deps[i])
            {
                (users[d] ??= []).Add(i);
            }
        }

        var ready = new PriorityQueue<int, int>();
        for (int i = 0; i < count; i++)
        {
            if (pending[i] == 0)
            {
                ready.Enqueue(i, i);
            }
        }

        var order = new List<Node>(count);
        while (ready.TryDequeue(out int i, out _))
        {
            order.Add(graph.Nodes[i]);
            foreach (int u in users[i])
            {
                if (--pending[u] == 0)
                {
                    ready.Enqueue(u, u);
                }
            }
        }

        if (order.Count != count)
        {
            throw new InvalidGraphException(null, "cycle between " + DescribeCycle(graph, deps, pending));
        }

        graph.Nodes.Clear();
        graph.Nodes.AddRange(order);
    }

    private static string DescribeCycle(Graph graph, List<int>[] deps, int[] pending)
    {
        // Walk dependencies among the blocked nodes until one repeats: that loop is a cycle.
        int start = Array.FindIndex(pending, p => p > 0);
        var path = new List<int>();
        var seenAt = new Dictionary<int, int>();
        int current = start;
        while (!seenAt.ContainsKey(current))
        {
            seenAt[current] = path.Count;
            path.Add(current);
            current = deps[current].First(d => pending[d] > 0);
        }

        IEnumerable<int> loop = path.Skip(seenAt[current]);
        return string.Join(" <- ", loop.Select(i => $"'{graph.Nodes[i].Name}'")) + $" <- '{graph.Nodes[current].Name}'";
    }

    private static void CheckFragmentsDoNotRecurse(List<Fragment> fragments)
    {
        var byName = new Dictionary<string, Fragment>(StringComparer.Ordinal);
        foreach (Fragment f in fragments)
        {
            if (!byName.TryAdd(f.Name, f))
            {
                throw new InvalidGraphException(f.Name, "fragment is defined twice");
            }
        }

        // Depth-first walk of "invokes" edges, iterative so that a long chain cannot exhaust the stack; a fragment
        // met again while it is still on the path closes a cycle.
        var finished = new HashSet<string>(StringComparer.Ordinal);
        var onPath = new List<string>();
        var onPathSet = new HashSet<string>(StringComparer.Ordinal);
        var stack = new Stack<(Fragment Fragment, int Next)>();
        foreach (Fragment root in fragments)
        {
            if (root.Body is null || finished.Contains(root.Name))
            {
                continue;
            }

            stack.Push((root, 0));
            onPath.Add(root.Name);
            onPathSet.Add(root.Name);
            while (stack.TryPop(out (Fragment Fragment, int Next) top))
            {
                List<Node> body = top.Fragment.Body!;
                if (top.Next == body.Count)
                {
                    onPath.RemoveAt(onPath.Count - 1);
                    onPathSet.Remove(top.Fragment.Name);
                    finished.Add(top.Fragment.Name);
                    continue;
                }

                stack.Push((top.Fragment, top.Next + 1));
                string callee = ScanPlan.BodyOf(body[top.Next]) ?? body[top.Next].Op;
                if (!byName.TryGetValue(callee, out Fragment? next) || next.Body is null || finished.Contains(callee))
                {
                    continue;
                }

                if (onPathSet.Contains(callee))
                {
                    int at = onPath.IndexOf(callee);
                    throw new InvalidGraphException(callee, $"recursive fragment: {string.Join(" -> ", onPath.Skip(at).Append(callee))}");
                }

                stack.Push((next, 0));
                onPath.Add(callee);
                onPathSet.Add(callee);
            }
        }
    }

    private static void ValidateFragment(Fragment f, HashSet<string> symbols)
    {
        if (f.Body is null)
        {
            return;
        }

        var bound = new HashSet<string>(f.Parameters.Select(p => p.Name), StringComparer.Ordinal);
        foreach (Node n in f.Body)
        {
            foreach (string r in n.References)
            {
                if (!bound.Contains(r) && !symbols.Contains(r))
                {
                    throw new InvalidGraphException(n.Name, $"in fragment '{f.Name}': reads '{r}', which is not a parameter or an earlier value");
                }
            }

            foreach (string o in n.Outputs)
            {
                if (!bound.Add(o))
                {
                    throw new InvalidGraphException(o, $"in fragment '{f.Name}': value defined twice");
                }
            }
        }

        foreach (FragmentResult r in f.Results)
        {
            if (!bound.Contains(r.Name))
            {
                throw new InvalidGraphException(r.Name, $"fragment '{f.Name}' never assigns this result");
            }
        }
    }
}
