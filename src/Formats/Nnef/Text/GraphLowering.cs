using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>
/// Turns a parsed document into the IR: extension lines into registries, symbols, assertions and other extensions;
/// the <c>tract_core_properties</c> fragment into properties; other fragments and the graph body into nodes.
/// Infix operators and nested invocations become nodes of their own, named <c>&lt;target&gt;_&lt;op&gt;&lt;k&gt;</c>
/// (k counting per statement in evaluation order, operands left to right), so lowering is deterministic.
/// A statement whose right side is not an invocation (<c>y = x;</c>) becomes a <see cref="Graph.AliasOp"/> node.
/// </summary>
internal sealed class GraphLowering
{
    /// <summary>Name of the fragment whose first assignment holds the model properties.</summary>
    public const string PropertiesFragment = "tract_core_properties";

    private static readonly Dictionary<string, string> BinaryOps = new(StringComparer.Ordinal)
    {
        ["+"] = "add", ["-"] = "sub", ["*"] = "mul", ["/"] = "div", ["^"] = "pow",
        ["<"] = "lt", [">"] = "gt", ["<="] = "le", [">="] = "ge", ["=="] = "eq", ["!="] = "ne",
        ["&&"] = "and", ["||"] = "or",
    };

    private readonly string? _file;
    private readonly HashSet<string> _fragmentNames = new(StringComparer.Ordinal);

    private GraphLowering(string? file)
    {
        _file = file;
    }

    /// <summary>Builds the graph; <paramref name="bindings"/> maps each graph-body identifier to its IR names.</summary>
    public static Graph Build(Document doc, string? file, out Dictionary<string, List<string>> bindings) =>
        new GraphLowering(file).Lower(doc, out bindings);

    private Graph Lower(Document doc, out Dictionary<string, List<string>> bindings)
    {
        var graph = new Graph { Name = doc.Graph.Name };
        foreach (ExtensionDecl ext in doc.Extensions)
        {
            AddExtension(graph, ext);
        }

        foreach (FragmentDecl f in doc.Fragments)
        {
            if (!_fragmentNames.Add(f.Name))
            {
                throw Error(f.Line, f.Column, $"fragment '{f.Name}' is defined twice");
            }

            if (f.Name == PropertiesFragment && f.Body is not null)
            {
                ReadProperties(graph, f);
            }
            else
            {
                graph.Fragments.Add(LowerFragment(f));
            }
        }

        var scope = new LoweringScope(doc.Graph.Body, []);
        LowerBody(doc.Graph.Body, scope, graph.Nodes);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (string output in doc.Graph.Outputs)
        {
            if (!listed.Add(output))
            {
                throw Error(0, 0, $"graph output '{output}' is listed twice");
            }

            if (scope.Resolve(output) is null)
            {
                throw Error(0, 0, $"graph output '{output}' is never assigned");
            }

            // Other identifiers may be re-bound (tract's last binding wins), but an output assigned twice is almost
            // certainly a mistake, and which value is the model's output would depend on that rule.
            if (scope.Bindings.TryGetValue(output, out List<string>? bound) && bound.Count > 1)
            {
                throw Error(0, 0, $"graph output '{output}' is assigned more than once ({bound.Count} times)");
            }
        }

        foreach (string input in doc.Graph.Inputs)
        {
            if (scope.Resolve(input) is null)
            {
                throw Error(0, 0, $"graph input '{input}' is never defined (expected an external)");
            }
        }

        graph.Inputs.AddRange(doc.Graph.Inputs.Select(i => scope.Resolve(i)!));
        graph.Outputs.AddRange(doc.Graph.Outputs.Select(o => scope.Resolve(o)!));
        bindings = scope.Bindings;
        return graph;
    }

    private void AddExtension(Graph graph, ExtensionDecl ext)
    {
        int space = ext.Text.IndexOfAny([' ', '\t', '\r', '\n']);
        string name = space < 0 ? ext.Text : ext.Text[..space];
        string rest = space < 0 ? string.Empty : ext.Text[(space + 1)..].Trim();
        switch (name)
        {
            case "tract_registry" when rest.Length > 0:
                graph.Registries.Add(rest);
                break;
            case "tract_symbol" when rest.Length > 0:
                if (!NnefLiterals.IsIdentifier(rest))
                {
                    throw Error(ext.Line, ext.Column, $"tract_symbol needs one identifier, found '{(rest.Length <= 80 ? rest : rest[..80] + "...")}'");
                }

                graph.Symbols.Add(rest);
                break;
            case "tract_assert" when rest.Length > 0:
                try
                {
                    graph.Assertions.Add(Assertion.Parse(rest));
                }
                catch (FormatException e)
                {
                    throw Error(ext.Line, ext.Column, $"bad tract_assert: {e.Message}");
                }

                break;
            default:
                graph.OtherExtensions.Add(ext.Text);
                break;
        }
    }

    private void ReadProperties(Graph graph, FragmentDecl f)
    {
        if (f.Body!.Count == 0)
        {
            return;
        }

        Assignment first = f.Body[0];
        if (first.Right is not ArrayExpr list)
        {
            throw Error(first.Line, first.Column, $"{PropertiesFragment} must assign a list of (key, value) tuples");
        }

        foreach (Expr item in list.Items)
        {
            if (item is not TupleExpr { Items: [LiteralExpr { Value: StringLiteral key }, Expr value] })
            {
                throw Error(item.Line, item.Column, $"{PropertiesFragment} entries must be (\"key\", value) tuples");
            }

            graph.Properties.Add(new KeyValuePair<string, Arg>(key.Value, ConstantArg(value)));
        }
    }

    private Arg ConstantArg(Expr e) => e switch
    {
        LiteralExpr l => l.Value,
        ArrayExpr a => Arg.Array(a.Items.Select(ConstantArg)),
        TupleExpr t => Arg.Tuple(t.Items.Select(ConstantArg)),
        _ => throw Error(e.Line, e.Column, "expected a literal value"),
    };

    private Fragment LowerFragment(FragmentDecl f)
    {
        var fragment = new Fragment(f.Name) { Generic = f.Generic };
        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (ParameterDecl p in f.Parameters)
        {
            if (!names.Add(p.Name))
            {
                throw Error(f.Line, f.Column, $"fragment '{f.Name}' declares '{p.Name}' twice");
            }

            fragment.Parameters.Add(new FragmentParameter(p.Name, p.Type, p.Default is null ? null : ConstantArg(p.Default)));
        }

        foreach ((string name, string type) in f.Results)
        {
            if (!names.Add(name))
            {
                throw Error(f.Line, f.Column, $"fragment '{f.Name}' declares '{name}' twice");
            }

            fragment.Results.Add(new FragmentResult(name, type));
        }

        if (f.Body is null)
        {
            return fragment;
        }

        var scope = new LoweringScope(f.Body, f.Parameters.Select(p => p.Name));
        fragment.Body = [];
        LowerBody(f.Body, scope, fragment.Body);
        foreach ((string name, _) in f.Results)
        {
            if (scope.Resolve(name) != name)
            {
                throw Error(f.Line, f.Column, $"fragment '{f.Name}' never assigns its result '{name}'");
            }
        }

        return fragment;
    }

    private void LowerBody(IReadOnlyList<Assignment> body, LoweringScope scope, IList<Node> nodes)
    {
        foreach (Assignment a in body)
        {
            var ctx = new StatementContext(scope, nodes, a.Left.Names[0]);
            Node node = a.Right switch
            {
                CallExpr or BinaryExpr or UnaryExpr => BuildNode(a.Right, ctx),
                _ => new Node(Graph.AliasOp).With(LowerArg(a.Right, ctx)),
            };

            if (a.Left.Names.Distinct(StringComparer.Ordinal).Count() != a.Left.Names.Count)
            {
                throw Error(a.Line, a.Column, "the same identifier appears twice on the left of '='");
            }

            foreach (string name in a.Left.Names)
            {
                node.Outputs.Add(scope.Bind(name));
            }

            node.OutputForm = a.Left.Form;
            nodes.Add(node);
        }
    }

    private Node BuildNode(Expr e, StatementContext ctx)
    {
        switch (e)
        {
            case CallExpr c:
            {
                var node = new Node(c.Op, []) { Generic = c.Generic };
                foreach (Argument arg in c.Arguments)
                {
                    Arg value = LowerArg(arg.Value, ctx);
                    if (arg.Name is null)
                    {
                        node.With(value);
                    }
                    else
                    {
                        node.With(arg.Name, value);
                    }
                }

                return node;
            }

            case BinaryExpr b:
            {
                Arg left = LowerArg(b.Left, ctx);
                Arg right = LowerArg(b.Right, ctx);
                return new Node(BinaryOps[b.Op], []).With(left).With(right);
            }

            case UnaryExpr u:
                return new Node(u.Op == "!" ? "not" : "neg", []).With(LowerArg(u.Operand, ctx));
            default:
                throw new InvalidOperationException($"Not an operation: {e}");
        }
    }

    private Arg LowerArg(Expr e, StatementContext ctx)
    {
        switch (e)
        {
            case IdentExpr i:
                string? bound = ctx.Scope.Resolve(i.Name);
                if (bound is not null)
                {
                    return Arg.Ref(bound);
                }

                if (ctx.Scope.IsAssignedInBody(i.Name))
                {
                    throw Error(i.Line, i.Column, $"'{i.Name}' is used before it is assigned");
                }

                // Not a value of this scope: a symbol (tract_symbol, or one tract creates on the fly).
                return Arg.Ref(i.Name);
            case LiteralExpr l:
                return l.Value;
            case ArrayExpr a:
                return Arg.Array(a.Items.Select(x => LowerArg(x, ctx)).ToList());
            case TupleExpr t:
                return Arg.Tuple(t.Items.Select(x => LowerArg(x, ctx)).ToList());
            default:
                if (TryDimension(e, ctx.Scope) is Dim dim && dim.Symbols.Any())
                {
                    // Arithmetic on symbols and integers is a TDim constant to tract: kept as one dimension argument.
                    return Arg.Dim(dim);
                }

                Node node = BuildNode(e, ctx);
                string name = ctx.Scope.Fresh($"{ctx.Target}_{node.Op}{ctx.Counter++}");
                node.Outputs.Add(name);
                ctx.Nodes.Add(node);
                return Arg.Ref(name);
        }
    }

    /// <summary>
    /// The dimension an expression denotes when it only combines symbols (identifiers that are not values) and integer
    /// literals with <c>+ - * /</c> (division by a non-zero literal), prefix <c>-</c>, <c>min</c> and <c>max</c>; else null.
    /// </summary>
    private Dim? TryDimension(Expr e, LoweringScope scope)
    {
        try
        {
            return e switch
            {
                LiteralExpr { Value: IntLiteral i } => Dim.Of(i.Value),
                IdentExpr i when scope.Resolve(i.Name) is null && !scope.IsAssignedInBody(i.Name) => Dim.Symbol(i.Name),
                UnaryExpr { Op: "-" } u => TryDimension(u.Operand, scope) is Dim d ? -d : null,
                BinaryExpr { Op: "/" } b => TryDimension(b.Left, scope) is Dim l && TryDimension(b.Right, scope) is Dim r
                                                                    && r.TryGetConstant(out long q) && q != 0
                    ? l / q
                    : null,
                BinaryExpr b when b.Op is "+" or "-" or "*" => TryDimension(b.Left, scope) is Dim l && TryDimension(b.Right, scope) is Dim r
                    ? b.Op switch { "+" => l + r, "-" => l - r, _ => l * r }
                    : null,
                CallExpr { Op: "min" or "max", Generic: null, Arguments: [{ Name: null } x, { Name: null } y] } c when !_fragmentNames.Contains(c.Op) =>
                    TryDimension(x.Value, scope) is Dim a && TryDimension(y.Value, scope) is Dim b
                        ? c.Op == "min" ? Dim.Min(a, b) : Dim.Max(a, b)
                        : null,
                _ => null,
            };
        }
        catch (OverflowException)
        {
            return null;
        }
    }

    private InvalidInputFileException Error(int line, int column, string what) =>
        new(_file, null, line > 0 ? $"line {line}, column {column}: {what}" : what);

    private sealed class StatementContext(LoweringScope scope, IList<Node> nodes, string target)
    {
        public LoweringScope Scope { get; } = scope;

        public IList<Node> Nodes { get; } = nodes;

        public string Target { get; } = target;

        public int Counter { get; set; }
    }
}
