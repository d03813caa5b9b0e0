using System.Globalization;
using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>
/// Recursive-descent parser for the <c>graph.nnef</c> dialect tract accepts (tract <c>nnef/src/ast/parse.rs</c>):
/// <c>version</c>, <c>extension</c> lines, fragment definitions, one <c>graph</c>. Expressions keep tract's
/// precedence (<c>^</c> above <c>* /</c> above <c>+ -</c> above comparisons above <c>&amp;&amp; ||</c>); a prefix
/// <c>-</c>/<c>!</c> on a non-literal applies to the whole expression after it, as in tract. Subscripts,
/// comprehensions and <c>if/else</c> are parsed by tract but cannot be wired by it, so they are rejected here.
/// </summary>
internal sealed class NnefParser
{
    private static readonly HashSet<string> TypeNames = new(StringComparer.Ordinal)
    {
        "integer", "scalar", "logical", "string", "complex",
    };

    /// <summary>
    /// Deepest nesting of expressions (or types) accepted. Real graphs nest a handful of levels; the bound turns a
    /// hostile file with thousands of nested brackets into a clear error instead of a stack overflow, which would
    /// kill the process without any message.
    /// </summary>
    internal const int MaxNesting = 128;

    private readonly NnefLexer _lex;
    private int _depth;

    public NnefParser(string text, string? file)
    {
        _lex = new NnefLexer(text, file);
    }

    /// <summary>Parses a whole document.</summary>
    public Document ParseDocument()
    {
        Token v = _lex.Next();
        if (!v.IsWord("version"))
        {
            throw _lex.Error(v, $"expected 'version', found {v.Describe()}");
        }

        Token number = _lex.Next();
        if (number.Kind != TokenKind.Number)
        {
            throw _lex.Error(number, $"expected a version number, found {number.Describe()}");
        }

        _lex.Expect(";");

        var extensions = new List<ExtensionDecl>();
        while (_lex.Peek().IsWord("extension"))
        {
            _lex.Next();
            (string text, int line, int column) = _lex.ReadRawUntilSemicolon();
            if (text.Length == 0)
            {
                throw _lex.Error(line, column, "empty extension");
            }

            extensions.Add(new ExtensionDecl(text, line, column));
        }

        var fragments = new List<FragmentDecl>();
        while (_lex.Peek().IsWord("fragment"))
        {
            fragments.Add(ParseFragment());
        }

        Token g = _lex.Peek();
        if (!g.IsWord("graph"))
        {
            throw _lex.Error(g, $"expected 'fragment' or 'graph', found {g.Describe()}");
        }

        GraphDecl graph = ParseGraph();
        Token end = _lex.Next();
        if (end.Kind != TokenKind.End)
        {
            throw _lex.Error(end, $"unexpected {end.Describe()} after the graph definition");
        }

        return new Document(number.Text, extensions, fragments, graph);
    }

    /// <summary>The lexer, for parsers of related syntaxes (graph.quant).</summary>
    internal NnefLexer Lexer => _lex;

    private FragmentDecl ParseFragment()
    {
        Token kw = _lex.Next();
        Token name = _lex.ExpectIdentifier("a fragment name");
        string? generic = null;
        if (_lex.Accept("<"))
        {
            _lex.Expect("?");
            generic = "?";
            if (_lex.Accept("="))
            {
                generic = "? = " + ParseTypeName();
            }

            _lex.Expect(">");
        }

        _lex.Expect("(");
        var parameters = new List<ParameterDecl>();
        if (!_lex.Peek().Is(")"))
        {
            do
            {
                Token p = _lex.ExpectIdentifier("a parameter name");
                _lex.Expect(":");
                string type = ParseType();
                Expr? def = _lex.Accept("=") ? ParseLiteralExpr() : null;
                parameters.Add(new ParameterDecl(p.Text, type, def));
            }
            while (_lex.Accept(","));
        }

        _lex.Expect(")");
        _lex.Expect("->");
        _lex.Expect("(");
        var results = new List<(string, string)>();
        if (!_lex.Peek().Is(")"))
        {
            do
            {
                Token r = _lex.ExpectIdentifier("a result name");
                _lex.Expect(":");
                results.Add((r.Text, ParseType()));
            }
            while (_lex.Accept(","));
        }

        _lex.Expect(")");
        IReadOnlyList<Assignment>? body = _lex.Accept(";") ? null : ParseBody();
        return new FragmentDecl(name.Text, generic, parameters, results, body, kw.Line, kw.Column);
    }

    private GraphDecl ParseGraph()
    {
        _lex.Next();
        Token name = _lex.ExpectIdentifier("the graph name");
        _lex.Expect("(");
        List<string> inputs = ParseIdentifierList();
        _lex.Expect(")");
        _lex.Expect("->");
        _lex.Expect("(");
        List<string> outputs = ParseIdentifierList();
        _lex.Expect(")");
        return new GraphDecl(name.Text, inputs, outputs, ParseBody());
    }

    private List<string> ParseIdentifierList()
    {
        var ids = new List<string>();
        if (_lex.Peek().Is(")"))
        {
            return ids;
        }

        do
        {
            ids.Add(_lex.ExpectIdentifier("an identifier").Text);
        }
        while (_lex.Accept(","));
        return ids;
    }

    private List<Assignment> ParseBody()
    {
        _lex.Expect("{");
        var body = new List<Assignment>();
        while (!_lex.Accept("}"))
        {
            Token start = _lex.Peek();
            if (start.Kind == TokenKind.End)
            {
                throw _lex.Error(start, "unterminated body: expected '}'");
            }

            LValue left = ParseLValue();
            _lex.Expect("=");
            Expr right = ParseExpr();
            _lex.Expect(";");
            body.Add(new Assignment(left, right, start.Line, start.Column));
        }

        return body;
    }

    private LValue ParseLValue()
    {
        var groups = new List<LValue>();
        do
        {
            groups.Add(ParseInnerLValue());
        }
        while (_lex.Accept(","));

        if (groups.Count == 1)
        {
            return groups[0];
        }

        if (groups.Any(g => g.Form != OutputForm.Plain || g.Names.Count != 1))
        {
            throw _lex.Error(_lex.Peek(), "nested output groups are not supported");
        }

        return new LValue([.. groups.Select(g => g.Names[0])], OutputForm.Plain);
    }

    private LValue ParseInnerLValue()
    {
        Token t = _lex.Peek();
        if (t.Is("[") || t.Is("("))
        {
            _lex.Next();
            string close = t.Is("[") ? "]" : ")";
            var names = new List<string>();
            if (!_lex.Peek().Is(close))
            {
                do
                {
                    Token n = _lex.Peek();
                    if (n.Kind != TokenKind.Identifier)
                    {
                        throw _lex.Error(n, n.Is("[") || n.Is("(")
                            ? "nested output groups are not supported"
                            : $"expected an identifier, found {n.Describe()}");
                    }

                    names.Add(_lex.Next().Text);
                }
                while (_lex.Accept(","));
            }

            _lex.Expect(close);
            return new LValue(names, t.Is("[") ? OutputForm.Array : OutputForm.Tuple);
        }

        return new LValue([_lex.ExpectIdentifier("an identifier on the left of '='").Text], OutputForm.Plain);
    }

    /// <summary>Full expression (tract's <c>rvalue</c>).</summary>
    public Expr ParseExpr()
    {
        Enter();
        Expr e = ParseBinary(0);
        Token t = _lex.Peek();
        if (t.IsWord("if") || t.IsWord("in"))
        {
            throw new UnsupportedFeatureException(_lex.File, null, $"line {t.Line}, column {t.Column}: '{t.Text}' expressions cannot be loaded by tract");
        }

        _depth--;
        return e;
    }

    private void Enter()
    {
        if (++_depth > MaxNesting)
        {
            throw _lex.Error(_lex.Peek(), $"expressions or types nested deeper than {MaxNesting} levels");
        }
    }

    // Precedence levels from loosest to tightest, as tract folds them.
    private static readonly string[][] Levels =
    [
        ["||", "&&"],
        ["==", "!=", "<", ">", "<=", ">="],
        ["+", "-"],
        ["*", "/"],
        ["^"],
    ];

    private Expr ParseBinary(int level)
    {
        if (level == Levels.Length)
        {
            return ParsePostfix();
        }

        Expr left = ParseBinary(level + 1);
        while (true)
        {
            Token t = _lex.Peek();
            if (t.Kind != TokenKind.Symbol || Array.IndexOf(Levels[level], t.Text) < 0)
            {
                return left;
            }

            _lex.Next();
            Expr right = ParseBinary(level + 1);
            left = new BinaryExpr(t.Text, left, right, t.Line, t.Column);

            // Operator chains fold into a left-deep tree without recursing here; bound its height too.
            if (left.Depth > MaxNesting)
            {
                throw _lex.Error(t, $"expression nested deeper than {MaxNesting} levels");
            }
        }
    }

    private Expr ParsePostfix()
    {
        Expr atom = ParseAtom();
        Token t = _lex.Peek();
        if (t.Is("["))
        {
            throw new UnsupportedFeatureException(_lex.File, null, $"line {t.Line}, column {t.Column}: subscript expressions cannot be loaded by tract");
        }

        return atom;
    }

    private Expr ParseAtom()
    {
        Token t = _lex.Peek();
        switch (t.Kind)
        {
            case TokenKind.Number:
                _lex.Next();
                return new LiteralExpr(NumberLiteral(t, negative: false), t.Line, t.Column);
            case TokenKind.String:
                _lex.Next();
                return new LiteralExpr(Arg.String(t.Text), t.Line, t.Column);
            case TokenKind.Identifier:
                return ParseIdentifierAtom();
            case TokenKind.Symbol:
                break;
            default:
                throw _lex.Error(t, $"expected an expression, found {t.Describe()}");
        }

        if (t.Is("-") || t.Is("+") || t.Is("!"))
        {
            _lex.Next();
            Token n = _lex.Peek();
            if (t.Text != "!" && n.Kind == TokenKind.Number)
            {
                _lex.Next();
                return new LiteralExpr(NumberLiteral(n, negative: t.Is("-")), t.Line, t.Column);
            }

            if (t.Is("-") && n.IsWord("inf"))
            {
                _lex.Next();
                return new LiteralExpr(Arg.Float(double.NegativeInfinity), t.Line, t.Column);
            }

            // tract applies a prefix operator to the whole expression that follows it.
            Expr operand = ParseExpr();
            return t.Is("+") ? operand : new UnaryExpr(t.Text, operand, t.Line, t.Column);
        }

        if (t.Is("("))
        {
            _lex.Next();
            var items = new List<Expr>();
            if (!_lex.Peek().Is(")"))
            {
                do
                {
                    items.Add(ParseExpr());
                }
                while (_lex.Accept(","));
            }

            _lex.Expect(")");
            return items.Count == 1 ? items[0] : new TupleExpr(items, t.Line, t.Column);
        }

        if (t.Is("["))
        {
            _lex.Next();
            if (_lex.Peek().IsWord("for"))
            {
                throw new UnsupportedFeatureException(_lex.File, null, $"line {t.Line}, column {t.Column}: comprehension expressions cannot be loaded by tract");
            }

            var items = new List<Expr>();
            if (!_lex.Peek().Is("]"))
            {
                do
                {
                    items.Add(ParseExpr());
                }
                while (_lex.Accept(","));
            }

            _lex.Expect("]");
            return new ArrayExpr(items, t.Line, t.Column);
        }

        throw _lex.Error(t, $"expected an expression, found {t.Describe()}");
    }

    private Expr ParseIdentifierAtom()
    {
        Token id = _lex.Next();
        if (id.Quote == '\0')
        {
            switch (id.Text)
            {
                case "true":
                    return new LiteralExpr(Arg.Bool(true), id.Line, id.Column);
                case "false":
                    return new LiteralExpr(Arg.Bool(false), id.Line, id.Column);
                case "inf":
                    return new LiteralExpr(Arg.Float(double.PositiveInfinity), id.Line, id.Column);
            }
        }

        string? generic = null;
        if (_lex.Peek().Is("<") && IsGenericAhead())
        {
            _lex.Next();
            generic = ParseTypeName();
            _lex.Expect(">");
        }

        if (!_lex.Peek().Is("("))
        {
            return new IdentExpr(id.Text, id.Line, id.Column);
        }

        _lex.Next();
        var args = new List<Argument>();
        bool named = false;
        if (!_lex.Peek().Is(")"))
        {
            do
            {
                Token a = _lex.Peek();
                if (a.Kind == TokenKind.Identifier && _lex.Peek(1).Is("="))
                {
                    _lex.Next();
                    _lex.Next();
                    if (args.Any(x => x.Name == a.Text))
                    {
                        throw _lex.Error(a, $"argument '{a.Text}' given twice");
                    }

                    args.Add(new Argument(a.Text, ParseExpr()));
                    named = true;
                }
                else if (named)
                {
                    throw _lex.Error(a, "a positional argument cannot follow a named one");
                }
                else
                {
                    args.Add(new Argument(null, ParseExpr()));
                }
            }
            while (_lex.Accept(","));
        }

        _lex.Expect(")");
        return new CallExpr(id.Text, generic, args, id.Line, id.Column);
    }

    /// <summary>True when the tokens ahead are <c>&lt; typename &gt; (</c> (a generic invocation, not a comparison).</summary>
    private bool IsGenericAhead()
    {
        Token name = _lex.Peek(1);
        bool isType = (name.Kind == TokenKind.Identifier && TypeNames.Contains(name.Text)) || name.Is("?");
        return isType && _lex.Peek(2).Is(">") && _lex.Peek(3).Is("(");
    }

    private string ParseTypeName()
    {
        Token t = _lex.Next();
        if (t.Is("?") || (t.Kind == TokenKind.Identifier && TypeNames.Contains(t.Text)))
        {
            return t.Text;
        }

        throw _lex.Error(t, $"expected a type name (integer, scalar, logical, string or ?), found {t.Describe()}");
    }

    private string ParseType()
    {
        Enter();
        string type;
        Token t = _lex.Peek();
        if (t.Is("("))
        {
            _lex.Next();
            var items = new List<string>();
            if (!_lex.Peek().Is(")"))
            {
                do
                {
                    items.Add(ParseType());
                }
                while (_lex.Accept(","));
            }

            _lex.Expect(")");
            type = "(" + string.Join(", ", items) + ")";
        }
        else if (t.IsWord("tensor"))
        {
            _lex.Next();
            _lex.Expect("<");
            type = "tensor<" + ParseTypeName() + ">";
            _lex.Expect(">");
        }
        else
        {
            type = ParseTypeName();
        }

        while (_lex.Peek().Is("[") && _lex.Peek(1).Is("]"))
        {
            _lex.Next();
            _lex.Next();
            type += "[]";
        }

        _depth--;
        return type;
    }

    private Expr ParseLiteralExpr()
    {
        Expr e = ParseAtom();
        return IsLiteralTree(e) ? e : throw _lex.Error(e.Line, e.Column, "a parameter default must be a literal");
    }

    private static bool IsLiteralTree(Expr e) => e switch
    {
        LiteralExpr => true,
        ArrayExpr a => a.Items.All(IsLiteralTree),
        TupleExpr t => t.Items.All(IsLiteralTree),
        _ => false,
    };

    private Arg NumberLiteral(Token t, bool negative)
    {
        string text = negative ? "-" + t.Text : t.Text;
        if (t.Text.AsSpan().IndexOfAny(".eE") >= 0)
        {
            return double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out double d) && double.IsFinite(d)
                ? Arg.Float(d)
                : throw _lex.Error(t, $"number {text} is out of range");
        }

        return long.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v)
            ? Arg.Int(v)
            : throw _lex.Error(t, $"integer {text} does not fit 64 bits");
    }
}
