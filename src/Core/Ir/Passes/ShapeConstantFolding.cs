namespace TorchToNnef.Ir;

/// <summary>
/// Folds the small shape computations exporters emit (<c>tract_core_shape_of</c> → <c>slice</c> → <c>squeeze</c>
/// → integer arithmetic) wherever the shapes involved are known statically: from variables, from externals
/// (constants and declared symbols), and through <c>unsqueeze</c>, <c>squeeze</c>, <c>transpose</c> and
/// shape-preserving unary operators. A scalar result that is a constant (or a single declared symbol) replaces
/// the reads of that value: a TDim scalar read is the same as an integer literal (or symbol) to tract. Inside
/// arrays, only arguments tract reads as integer lists are rewritten (shapes, repeats, slice bounds, axes), never
/// arrays it would turn into tensors. Statements that are no longer needed are then removed
/// (<see cref="DeadNodeElimination"/>).
/// </summary>
public static class ShapeConstantFolding
{
    private static readonly HashSet<string> ShapePreserving = new(StringComparer.Ordinal)
    {
        "tract_core_cast", "copy", Graph.AliasOp, "neg", "abs", "sign", "exp", "log", "sin", "cos", "tanh", "sigmoid",
        "relu", "sqrt", "rsqrt", "recip", "floor", "ceil", "round", "not", "sqr",
    };

    /// <summary>(operator, argument name, declared position) whose array items tract reads as integers.</summary>
    private static readonly (string Op, string Name, int Position)[] IntegerLists =
    [
        ("reshape", "shape", 1), ("tile", "repeats", 1), ("slice", "axes", 1), ("slice", "begin", 2), ("slice", "end", 3),
        ("slice", "stride", -1), ("squeeze", "axes", 1), ("unsqueeze", "axes", 1), ("transpose", "axes", 1),
    ];

    /// <summary>Runs the pass; returns the number of reads replaced by constants.</summary>
    public static int Run(Graph graph)
    {
        ArgumentNullException.ThrowIfNull(graph);
        var shapes = new Dictionary<string, Dim[]>(StringComparer.Ordinal);
        var vectors = new Dictionary<string, Dim[]>(StringComparer.Ordinal);
        var scalars = new Dictionary<string, Dim>(StringComparer.Ordinal);

        Dim? Scalar(Arg? a) => a switch
        {
            IntLiteral i => Dim.Of(i.Value),
            ValueRef r when scalars.TryGetValue(r.Name, out Dim? d) => d,
            _ => null,
        };

        foreach (Node n in graph.Nodes)
        {
            if (n.Outputs.Count != 1)
            {
                continue;
            }

            string output = n.Outputs[0];
            if (ShapeOf(graph, n, shapes) is Dim[] shape)
            {
                shapes[output] = shape;
            }

            switch (n.Op)
            {
                case "tract_core_shape_of" when n.GetArgument("input", 0) is ValueRef x && shapes.TryGetValue(x.Name, out Dim[]? s):
                    vectors[output] = s;
                    break;
                case "slice" when n.GetArgument("input", 0) is ValueRef v && vectors.TryGetValue(v.Name, out Dim[]? values)
                                  && SliceRange(n, values.Length) is (int b, int e):
                    vectors[output] = values[b..e];
                    break;
                case "squeeze" when n.GetArgument("input", 0) is ValueRef v && vectors.TryGetValue(v.Name, out Dim[]? values)
                                    && values.Length == 1 && Ints(n.GetArgument("axes", 1)) is [0]:
                    scalars[output] = values[0];
                    break;
                case "tract_core_cast" when n.GetArgument("to", 1) is StringLiteral { Value: "tdim" } && Scalar(n.GetArgument("input", 0)) is Dim d:
                    scalars[output] = d;
                    break;
                case Graph.AliasOp when Scalar(n.Inputs[0]) is Dim d:
                    scalars[output] = d;
                    break;
                case "add" or "sub" or "mul" or "min" or "max" or "div"
                    when n.Inputs.Count == 2 && Scalar(n.Inputs[0]) is Dim a && Scalar(n.Inputs[1]) is Dim b
                         && Arithmetic(n.Op, a, b) is Dim r:
                    scalars[output] = r;
                    break;
            }
        }

        var valueNames = new HashSet<string>(graph.Nodes.SelectMany(n => n.Outputs), StringComparer.Ordinal);
        Arg? Replacement(Arg a) =>
            a is ValueRef r && scalars.TryGetValue(r.Name, out Dim? d)
                ? d.TryGetConstant(out long c) ? Arg.Int(c)
                    : d.TryGetSymbol(out string sym) && graph.Symbols.Contains(sym) && !valueNames.Contains(sym) ? Arg.Ref(sym)
                    : null
                : null;

        int replaced = 0;
        foreach (Node n in graph.Nodes)
        {
            for (int i = 0; i < n.Inputs.Count; i++)
            {
                n.Inputs[i] = Rewrite(n, null, i, n.Inputs[i], Replacement, ref replaced);
            }

            foreach (string key in n.Attributes.Keys.ToList())
            {
                n.Attributes[key] = Rewrite(n, key, -2, n.Attributes[key], Replacement, ref replaced);
            }
        }

        if (replaced > 0)
        {
            DeadNodeElimination.Run(graph);
        }

        return replaced;
    }

    private static Arg Rewrite(Node n, string? name, int position, Arg a, Func<Arg, Arg?> replacement, ref int replaced)
    {
        if (replacement(a) is Arg direct)
        {
            replaced++;
            return direct;
        }

        if (a is not ArrayArg arr || !IsIntegerList(n.Op, name, position))
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

    private static bool IsIntegerList(string op, string? name, int position) =>
        IntegerLists.Any(l => l.Op == op && (name is null ? l.Position == position : l.Name == name));

    private static Dim? Arithmetic(string op, Dim a, Dim b)
    {
        if (op == "div")
        {
            // Only exact non-negative divisions: there the integer result does not depend on rounding rules.
            return a.TryGetConstant(out long x) && b.TryGetConstant(out long y) && x >= 0 && y > 0 && x % y == 0 ? Dim.Of(x / y) : null;
        }

        Dim r = op switch
        {
            "add" => a + b,
            "sub" => a - b,
            "mul" => a * b,
            "min" => Dim.Min(a, b),
            _ => Dim.Max(a, b),
        };
        return r;
    }

    private static Dim[]? ShapeOf(Graph graph, Node n, Dictionary<string, Dim[]> shapes)
    {
        Dim[]? Input() => n.GetArgument("input", 0) is ValueRef r && shapes.TryGetValue(r.Name, out Dim[]? s) ? s : null;
        switch (n.Op)
        {
            case Graph.ExternalOp:
            case "external":
                if ((n.GetAttribute("shape") ?? (n.Op == "external" ? n.Inputs.FirstOrDefault() : null)) is not ArrayArg dims)
                {
                    return null;
                }

                var result = new Dim[dims.Items.Count];
                for (int i = 0; i < result.Length; i++)
                {
                    switch (dims.Items[i])
                    {
                        case IntLiteral c:
                            result[i] = Dim.Of(c.Value);
                            break;
                        case ValueRef s:
                            result[i] = Dim.Symbol(s.Name);
                            break;
                        default:
                            return null;
                    }
                }

                return result;
            case Graph.VariableOp:
                return graph.Variables.TryGetValue(n.Name, out Variable? v) ? [.. v.Shape.Dims.ToArray().Select(Dim.Of)] : null;
            case "unsqueeze" when Input() is Dim[] s && Ints(n.GetArgument("axes", 1)) is long[] axes:
            {
                var list = s.ToList();
                foreach (long axis in axes)
                {
                    if (axis < 0 || axis > list.Count)
                    {
                        return null;
                    }

                    list.Insert((int)axis, Dim.Of(1));
                }

                return [.. list];
            }

            case "squeeze" when Input() is Dim[] s && Ints(n.GetArgument("axes", 1)) is long[] axes:
            {
                if (axes.Any(a => a < 0 || a >= s.Length || !s[a].Equals(Dim.Of(1))) || axes.Distinct().Count() != axes.Length)
                {
                    return null;
                }

                return [.. s.Where((_, i) => !axes.Contains((long)i))];
            }

            case "transpose" when Input() is Dim[] s && Ints(n.GetArgument("axes", 1)) is long[] perm:
                return perm.Length == s.Length && perm.Order().SequenceEqual(Enumerable.Range(0, s.Length).Select(i => (long)i))
                    ? [.. perm.Select(p => s[p])]
                    : null;
            default:
                if (ShapePreserving.Contains(n.Op) && n.Inputs.FirstOrDefault() is ValueRef x && shapes.TryGetValue(x.Name, out Dim[]? same))
                {
                    return same;
                }

                return null;
        }
    }

    /// <summary>[begin, end) of <c>slice(v, axes = [0], begin = [b], end = [e], stride = [1])</c> within a vector of <paramref name="length"/>.</summary>
    private static (int Begin, int End)? SliceRange(Node n, int length)
    {
        if (Ints(n.GetArgument("axes", 1)) is not [0] || Ints(n.GetArgument("begin", 2)) is not [long b] || Ints(n.GetArgument("end", 3)) is not [long e])
        {
            return null;
        }

        if (n.GetAttribute("stride") is Arg stride && Ints(stride) is not [1])
        {
            return null;
        }

        return b >= 0 && b <= e && e <= length ? ((int)b, (int)e) : null;
    }

    private static long[]? Ints(Arg? a) =>
        a is ArrayArg arr && arr.Items.All(i => i is IntLiteral) ? [.. arr.Items.Cast<IntLiteral>().Select(i => i.Value)] : null;
}
