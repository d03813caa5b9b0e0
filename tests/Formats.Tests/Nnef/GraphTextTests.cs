using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Tests.Nnef;

public class GraphTextTests
{
    private static Graph Parse(string body, string head = "") =>
        GraphText.Parse($"version 1.0;\n{head}\ngraph g(x) -> (y)\n{{\n    x = external(shape = [1]);\n{body}\n}}\n", "t.nnef");

    [Fact]
    public void InfixOperatorsFollowTractPrecedenceAndKeepOperandOrder()
    {
        Graph g = Parse("    y = x + x * 2.0 ^ 3.0 - 1.0;");
        // tract folds ^ tighter than * tighter than + -, left-associative: (x + (x * (2 ^ 3))) - 1
        Assert.Equal(["external", "pow", "mul", "add", "sub"], g.Nodes.Select(n => n.Op));
        Assert.Equal([Arg.Float(2), Arg.Float(3)], g.Nodes[1].Inputs);
        Assert.Equal([Arg.Ref("x"), Arg.Ref(g.Nodes[1].Outputs[0])], g.Nodes[2].Inputs);
        Assert.Equal([Arg.Ref("x"), Arg.Ref(g.Nodes[2].Outputs[0])], g.Nodes[3].Inputs);
        Assert.Equal([Arg.Ref(g.Nodes[3].Outputs[0]), Arg.Float(1)], g.Nodes[4].Inputs);
        Assert.Equal(["y"], g.Nodes[4].Outputs);
        Assert.Equal(["y_pow0", "y_mul1", "y_add2"], g.Nodes.Skip(1).Take(3).Select(n => n.Outputs[0]));
    }

    [Fact]
    public void GeneratedNamesAvoidEveryIdentifierOfTheBody()
    {
        Graph g = Parse("    y_add0 = copy(x);\n    y = y_add0 + relu(x);");
        Assert.Equal(["x", "y_add0", "y_relu0", "y"], g.Nodes.Select(n => n.Outputs[0]));
        Graph h = Parse("    y_relu0 = copy(x);\n    y = y_relu0 + relu(x);");
        Assert.Equal(["x", "y_relu0", "y_relu0_1", "y"], h.Nodes.Select(n => n.Outputs[0]));
    }

    [Fact]
    public void NegativeNumbersAreLiteralsAndPrefixMinusOnValuesIsNeg()
    {
        Graph g = Parse("    a = add(x, -2);\n    b = add(x, - 1.5e-3);\n    y = -a;");
        Assert.Equal(Arg.Int(-2), g.Nodes[1].Inputs[1]);
        Assert.Equal(Arg.Float(-1.5e-3), g.Nodes[2].Inputs[1]);
        Assert.Equal("neg", g.Nodes[3].Op);
        Assert.Equal([Arg.Ref("a")], g.Nodes[3].Inputs);
    }

    [Fact]
    public void LiteralsStringsAndEscapesAreDecoded()
    {
        Graph g = Parse("    y = f(x, 'a\\'b', \"c\\\\d\", true, false, 3, 3.0, 1., [1, 2], (1, 'x'), i\"odd.name\");");
        Node n = g.Nodes[1];
        Assert.Equal(
            [Arg.Ref("x"), Arg.String("a'b"), Arg.String("c\\d"), Arg.Bool(true), Arg.Bool(false), Arg.Int(3), Arg.Float(3), Arg.Float(1),
             Arg.Ints(1, 2), Arg.Tuple(Arg.Int(1), Arg.String("x")), Arg.Ref("odd.name")],
            n.Inputs);
    }

    [Fact]
    public void GenericInvocationIsNotAComparison()
    {
        Graph g = Parse("    v = variable<scalar>(label = 'v', shape = []);\n    y = x < v;");
        Assert.Equal("scalar", g.Nodes[1].Generic);
        Assert.Equal("lt", g.Nodes[2].Op);
    }

    [Fact]
    public void TupleArrayAndPlainOutputGroupsAreKept()
    {
        Graph g = Parse("    (a, b) = split(x);\n    [c, d] = split(a);\n    e, y = split(b);");
        Assert.Equal(OutputForm.Tuple, g.Nodes[1].OutputForm);
        Assert.Equal(["a", "b"], g.Nodes[1].Outputs);
        Assert.Equal(OutputForm.Array, g.Nodes[2].OutputForm);
        Assert.Equal(OutputForm.Plain, g.Nodes[3].OutputForm);
        Assert.Equal(["e", "y"], g.Nodes[3].Outputs);
    }

    [Fact]
    public void PlainBindingBecomesAnAliasNode()
    {
        Graph g = Parse("    y = x;");
        Assert.Equal(Graph.AliasOp, g.Nodes[1].Op);
        Assert.Equal([Arg.Ref("x")], g.Nodes[1].Inputs);
    }

    [Fact]
    public void ReassignmentRenamesEarlierBindingsAndRedirectsReads()
    {
        Graph g = Parse("    s = relu(x);\n    a = copy(s);\n    s = relu(a);\n    s = copy(s);\n    y = copy(s);");
        Assert.Equal(["x", "s__1", "a", "s__2", "s", "y"], g.Nodes.Select(n => n.Outputs[0]));
        Assert.Equal([Arg.Ref("s__1")], g.Nodes[2].Inputs);
        Assert.Equal([Arg.Ref("s__2")], g.Nodes[4].Inputs);
        Assert.Equal([Arg.Ref("s")], g.Nodes[5].Inputs);
    }

    [Fact]
    public void FragmentsHaveTheirOwnScopeTypesAndDefaults()
    {
        const string frag = """
            fragment f<? = scalar>( a: tensor<?>, n: integer[] = [1, 2], t: (string, tensor<scalar>)[] ) -> ( out: tensor<?> )
            {
              x = a * 2.0;   # comment with 'quote
              out = x + a;
            }
            fragment decl( a: scalar ) -> ( b: scalar );
            """;
        Graph g = Parse("    y = f(x);", frag);
        Fragment f = g.Fragments[0];
        Assert.Equal("? = scalar", f.Generic);
        Assert.Equal(
            [new FragmentParameter("a", "tensor<?>"), new FragmentParameter("n", "integer[]", Arg.Ints(1, 2)), new FragmentParameter("t", "(string, tensor<scalar>)[]")],
            f.Parameters);
        Assert.Equal([new FragmentResult("out", "tensor<?>")], f.Results);
        Assert.Equal(["x", "out"], f.Body!.Select(n => n.Outputs[0]));
        Assert.Null(g.Fragments[1].Body);
    }

    [Fact]
    public void PropertiesFragmentBecomesProperties()
    {
        const string props = """
            fragment tract_core_properties(
            ) -> (properties: (string, tensor<scalar>)[])
            {
              properties = [
                ("k", "v # not a comment"),
                ("n", 3)
              ];
            }
            """;
        Graph g = Parse("    y = copy(x);", props);
        Assert.Empty(g.Fragments);
        Assert.Equal([new("k", Arg.String("v # not a comment")), new KeyValuePair<string, Arg>("n", Arg.Int(3))], g.Properties);
    }

    [Fact]
    public void ExtensionsAreSortedIntoRegistriesSymbolsAssertionsAndOthers()
    {
        Graph g = Parse("    y = copy(x);", "extension tract_registry tract_core;\nextension tract_symbol S;\nextension tract_assert S+1 <= 8;\nextension KHR_enable_operator_expressions;");
        Assert.Equal(["tract_core"], g.Registries);
        Assert.Equal(["S"], g.Symbols);
        Assert.Equal("S+1 <= 8", g.Assertions.Single().ToString());
        Assert.Equal(["KHR_enable_operator_expressions"], g.OtherExtensions);
    }

    [Theory]
    [InlineData("    y = f(x) $;", "line 6, column 14: unexpected character '$'")]
    [InlineData("    y = f(x, 'a\"b');", "unescaped \"")]
    [InlineData("    y = f(x, 'abc);\n", "unterminated string literal")]
    [InlineData("    y = f(x,);", "expected an expression")]
    [InlineData("    y = f(a = x, x);", "positional argument cannot follow")]
    [InlineData("    y = f(a = x, a = x);", "argument 'a' given twice")]
    [InlineData("    y = f(z);\n    z = copy(x);", "'z' is used before it is assigned")]
    [InlineData("    y = f(x, 99999999999999999999);", "does not fit 64 bits")]
    [InlineData("    y = f(x, 1e999);", "out of range")]
    [InlineData("    z = copy(x);", "graph output 'y' is never assigned")]
    [InlineData("    y, y = f(x);", "appears twice")]
    [InlineData("    y = f(x)", "expected ';'")]
    public void MalformedTextIsRejectedWithPosition(string body, string message)
    {
        var e = Assert.Throws<InvalidInputFileException>(() => Parse(body));
        Assert.Contains(message, e.Message);
        Assert.StartsWith("t.nnef: ", e.Message);
    }

    [Theory]
    [InlineData("    y = x[0];", "subscript")]
    [InlineData("    y = [for i in x yield i];", "comprehension")]
    [InlineData("    y = x if true else x;", "'if'")]
    public void SyntaxTractCannotLoadIsUnsupported(string body, string message)
    {
        var e = Assert.Throws<UnsupportedFeatureException>(() => Parse(body));
        Assert.Contains(message, e.Message);
    }

    [Fact]
    public void DocumentStructureErrorsNameTheProblem()
    {
        Assert.Contains("expected 'version'", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse("graph g() -> () {}")).Message);
        Assert.Contains("unterminated extension", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse("version 1.0;\nextension tract_registry")).Message);
        Assert.Contains("bad tract_assert", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse("version 1.0;\nextension tract_assert S != 1;\ngraph g() -> () {}")).Message);
        Assert.Contains("after the graph", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse("version 1.0;\ngraph g() -> () {}\nx")).Message);
        Assert.Contains("defined twice", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse("version 1.0;\nfragment f(a: scalar) -> (b: scalar);\nfragment f(a: scalar) -> (b: scalar);\ngraph g() -> () {}")).Message);
        Assert.Contains("never assigns its result", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse("version 1.0;\nfragment f(a: scalar) -> (b: scalar) { c = copy(a); }\ngraph g() -> () {}")).Message);
        Assert.Contains("never defined", Assert.Throws<InvalidInputFileException>(() => GraphText.Parse("version 1.0;\ngraph g(a) -> () {}")).Message);
    }
}
