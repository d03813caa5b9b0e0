namespace TorchToNnef.Ir;

/// <summary>
/// Folds the small shape computations exporters emit (<c>tract_core_shape_of</c> → <c>slice</c> → <c>squeeze</c> →
/// integer arithmetic → <c>tract_core_cast(to = 'tdim')</c>) wherever <see cref="ShapeInference"/> knows their result:
/// a TDim scalar whose value is a constant or an expression of declared symbols replaces the reads of that value
/// (to tract, a TDim scalar read is the same as the literal, symbol or dimension expression). Inside arrays, only
/// arguments the <see cref="OperatorCatalog"/> declares as integer lists are rewritten (shapes, repeats, slice bounds,
/// axes), never arrays tract would turn into tensors. A division whose result depends on the rounding rule (inexact)
/// is left as computed. Statements that are no longer needed are then removed (<see cref="DeadNodeElimination"/>).
/// </summary>
public static class ShapeConstantFolding
{
    /// <summary>Runs the pass; returns the number of reads replaced.</summary>
    public static int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);

        // What cannot be inferred (an unknown operator, a value computed from one) is simply not folded.
        GraphTypes types = ShapeInference.RunPartial(graph, out _);
        var resolver = new OperatorResolver(graph);
        var valueNames = new HashSet<string>(graph.Nodes.SelectMany(n => n.Outputs), StringComparer.Ordinal);
        var symbols = new HashSet<string>(graph.Symbols, StringComparer.Ordinal);
        var folded = new Dictionary<string, Dim>(StringComparer.Ordinal);
        foreach (Node n in graph.Nodes)
        {
            foreach (string o in n.Outputs)
            {
                if (types.TryGetType(o, out TensorType? t) && t.Type.Kind == DatumKind.TDim && t.Rank == 0
                    && types.KnownValues(o) is [Dim d]
                    && d.Symbols.All(s => symbols.Contains(s) && !valueNames.Contains(s))
                    && !IsInexactDivision(n, resolver, types))
                {
                    folded[o] = d;
                }
            }
        }

        Arg? Replacement(Arg a) => a is ValueRef r && folded.TryGetValue(r.Name, out Dim? d) ? Arg.Dim(d) : null;

        int replaced = 0;
        foreach (Node n in graph.Nodes)
        {
            OperatorSchema? schema = resolver.TryResolve(n.Op);
            IReadOnlyList<OperatorParameter> positional = schema?.Parameters.Where(p => !p.NamedOnly).ToList() ?? [];
            for (int i = 0; i < n.Inputs.Count; i++)
            {
                ParameterKind? kind = schema?.Form is OperatorForm.Primitive or OperatorForm.Fragment && i < positional.Count ? positional[i].Kind : null;
                n.Inputs[i] = Rewrite(n.Inputs[i], kind, Replacement, ref replaced);
            }

            foreach (string key in n.Attributes.Keys.ToList())
            {
                ParameterKind? kind = schema?.Form is OperatorForm.Primitive or OperatorForm.Fragment ? schema.Parameter(key)?.Kind : null;
                n.Attributes[key] = Rewrite(n.Attributes[key], kind, Replacement, ref replaced);
            }
        }

        if (replaced > 0)
        {
            DeadNodeElimination.Run(graph);
        }

        return replaced;
    }

    private static Arg Rewrite(Arg a, ParameterKind? kind, Func<Arg, Arg?> replacement, ref int replaced)
    {
        if (replacement(a) is Arg direct)
        {
            replaced++;
            return direct;
        }

        if (a is not ArrayArg arr || kind != ParameterKind.Integers)
        {
            return a;
        }

        var items = new List<Arg>(arr.Items.Count);
        int before = replaced;
        foreach (Arg item in arr.Items)
        {
            if (replacement(item) is Arg r)
            {
                items.Add(r);
                replaced++;
            }
            else
            {
                items.Add(item);
            }
        }

        return replaced == before ? a : Arg.Array(items);
    }

    // div(x, y) whose result times y is not x: integer division rounded the result.
    private static bool IsInexactDivision(Node n, OperatorResolver resolver, GraphTypes types)
    {
        if (n.Op != "div" || resolver.TryResolve(n.Op) is not { Form: OperatorForm.Binary } schema
            || types.KnownValues(n.Outputs[0]) is not [Dim q])
        {
            return false;
        }

        return Known(schema.Explicit(n, "x"), types) is not Dim x || Known(schema.Explicit(n, "y"), types) is not Dim y || q * y != x;
    }

    private static Dim? Known(Arg? a, GraphTypes types) => a switch
    {
        IntLiteral i => Dim.Of(i.Value),
        DimArg d => d.Value,
        ValueRef r when types.KnownValues(r.Name) is [Dim d] => d,
        ValueRef r when !types.TryGetType(r.Name, out _) => Dim.Symbol(r.Name),
        _ => null,
    };
}
