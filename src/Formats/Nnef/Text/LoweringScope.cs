namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>
/// Name bookkeeping for one body (the graph's, or one fragment's, which sees only its parameters). NNEF lets an
/// identifier be assigned several times, each read seeing the latest binding; the IR needs unique value names, so
/// every binding but the last gets a fresh name (<c>x__1</c>, <c>x__2</c>, ...) and reads are redirected to the
/// binding current at that point. Generated names never collide with any identifier written in the body.
/// </summary>
internal sealed class LoweringScope
{
    private readonly Dictionary<string, string> _current = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _remaining = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _seen = new(StringComparer.Ordinal);
    private readonly HashSet<string> _parameters = new(StringComparer.Ordinal);
    private readonly HashSet<string> _used = new(StringComparer.Ordinal);

    /// <summary>Prepares a scope for <paramref name="body"/> with the given parameters already bound.</summary>
    public LoweringScope(IReadOnlyList<Assignment> body, IEnumerable<string> parameters)
    {
        foreach (string p in parameters)
        {
            _parameters.Add(p);
            _current[p] = p;
            _used.Add(p);
        }

        foreach (Assignment a in body)
        {
            foreach (string n in a.Left.Names)
            {
                _remaining[n] = _remaining.GetValueOrDefault(n) + 1;
                _used.Add(n);
            }

            CollectIdentifiers(a.Right);
        }
    }

    /// <summary>Every IR name each source identifier was bound to, in order.</summary>
    public Dictionary<string, List<string>> Bindings { get; } = new(StringComparer.Ordinal);

    /// <summary>The IR name a read of <paramref name="name"/> refers to now, or null when it is not bound (yet).</summary>
    public string? Resolve(string name) => _current.GetValueOrDefault(name);

    /// <summary>True when <paramref name="name"/> is assigned somewhere in the body (before or after this point).</summary>
    public bool IsAssignedInBody(string name) => _remaining.ContainsKey(name);

    /// <summary>Binds the next assignment of <paramref name="name"/>; returns its IR name.</summary>
    public string Bind(string name)
    {
        int left = --_remaining[name];
        int index = _seen[name] = _seen.GetValueOrDefault(name) + 1;
        string ir = left == 0 && !_parameters.Contains(name) ? name : Fresh($"{name}__{index}");
        _current[name] = ir;
        if (!Bindings.TryGetValue(name, out List<string>? list))
        {
            Bindings[name] = list = [];
        }

        list.Add(ir);
        return ir;
    }

    /// <summary>A name not used anywhere in the body, derived from <paramref name="wanted"/>.</summary>
    public string Fresh(string wanted)
    {
        if (_used.Add(wanted))
        {
            return wanted;
        }

        for (int k = 1; ; k++)
        {
            string candidate = $"{wanted}_{k}";
            if (_used.Add(candidate))
            {
                return candidate;
            }
        }
    }

    private void CollectIdentifiers(Expr e)
    {
        switch (e)
        {
            case IdentExpr i:
                _used.Add(i.Name);
                break;
            case ArrayExpr a:
                a.Items.ToList().ForEach(CollectIdentifiers);
                break;
            case TupleExpr t:
                t.Items.ToList().ForEach(CollectIdentifiers);
                break;
            case BinaryExpr b:
                CollectIdentifiers(b.Left);
                CollectIdentifiers(b.Right);
                break;
            case UnaryExpr u:
                CollectIdentifiers(u.Operand);
                break;
            case CallExpr c:
                foreach (Argument arg in c.Arguments)
                {
                    CollectIdentifiers(arg.Value);
                }

                break;
        }
    }
}
