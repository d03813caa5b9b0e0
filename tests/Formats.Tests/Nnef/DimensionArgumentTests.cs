using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// Dimension expressions are arguments of their own (<see cref="DimArg"/>): the reader turns infix arithmetic on
/// symbols and integers into one, the writer prints it infix as tract does, and the pair round-trips.
/// </summary>
public class DimensionArgumentTests
{
    private static Graph Parse(string body) =>
        GraphText.Parse($"version 1.0;\nextension tract_symbol S;\nextension tract_symbol P;\n\ngraph g(x) -> (y)\n{{\n{body}\n}}\n", "t.nnef");

    [Fact]
    public void InfixArithmeticOnSymbolsIsOneDimensionArgument()
    {
        Graph g = Parse(
            "    x = tract_core_external(shape = [1, S + P, 2 * S, (S + 1) / 2, min(S, 4), 8 - S, S], datum_type = 'f32');\n" +
            "    y = tile(x, repeats = [1, 1, 1, 1, 1, 1, P * S]);");
        ArrayArg shape = Assert.IsType<ArrayArg>(g.Nodes[0].GetAttribute("shape"));
        Assert.Equal(
            [Arg.Int(1), new DimArg(Dim.Parse("P+S")), new DimArg(Dim.Parse("2*S")), new DimArg(Dim.Parse("(S+1)/2")),
             new DimArg(Dim.Parse("min(S, 4)")), new DimArg(Dim.Parse("8-S")), Arg.Ref("S")],
            shape.Items);
        Assert.Equal(new DimArg(Dim.Parse("S*P")), ((ArrayArg)g.Nodes[1].GetAttribute("repeats")!).Items[6]);
        // tract's prefix minus applies to everything after it: -S + 8 is -(S+8).
        Assert.Equal(new DimArg(Dim.Parse("-(S+8)")), ((ArrayArg)Parse("    x = tract_core_external(shape = [-S + 8], datum_type = 'f32');\n    y = copy(x);").Nodes[0].GetAttribute("shape")!).Items[0]);
        // No node was made for the arithmetic.
        Assert.Equal(["tract_core_external", "tile"], g.Nodes.Select(n => n.Op));
        Assert.Equal(
            [Dim.Of(1), Dim.Parse("S+P"), Dim.Parse("2*S"), Dim.Parse("(S+1)/2"), Dim.Parse("min(4, S)"), Dim.Parse("8-S"), Dim.Symbol("S")],
            g.GetInputShape("x"));
    }

    [Fact]
    public void ArithmeticOnValuesOrOnlyOnIntegersStaysAnOperator()
    {
        Graph g = Parse(
            "    x = tract_core_external(shape = [S], datum_type = 'i64');\n" +
            "    n = tract_core_shape_of(x);\n" +
            "    y = tile(x, repeats = [n + S, 2 * 3]);");
        Assert.Equal(["tract_core_external", "tract_core_shape_of", "add", "mul", "tile"], g.Nodes.Select(n => n.Op));
        Assert.Equal([Arg.Ref("n"), Arg.Ref("S")], g.Nodes[2].Inputs);
    }

    [Fact]
    public void DimensionArgumentsRoundTripThroughTheWriter()
    {
        var g = new Graph();
        g.Registries.Add("tract_core");
        g.AddInput("x", DType.F32, [Dim.Of(1), Dim.Symbol("S") + Dim.Symbol("P"), Dim.Symbol("S") * 2]);
        g.Nodes.Add(new Node("tile", "y").With(Arg.Ref("x")).With("repeats", Arg.Dims(Dim.Of(1), (Dim.Symbol("S") + 1) / 2, Dim.Min(Dim.Symbol("S"), 3))));
        g.Outputs.Add("y");
        Assert.Equal(["P", "S"], g.Symbols);

        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("o"));
        string text = File.ReadAllText(tmp.File(Path.Combine("o", "graph.nnef")));
        Assert.Contains("x = tract_core_external(shape = [1, P+S, 2*S], datum_type = 'f32');", text, StringComparison.Ordinal);
        Assert.Contains("repeats = [1, (S+1)/2, min(S, 3)]", text, StringComparison.Ordinal);
        GraphAssert.Equal(g, NnefArchive.Read(tmp.File("o")));
    }

    [Fact]
    public void ArgDimHasOneFormPerValue()
    {
        Assert.Equal(Arg.Int(3), Arg.Dim(Dim.Symbol("S") - Dim.Symbol("S") + 3));
        Assert.Equal(Arg.Ref("S"), Arg.Dim(Dim.Parse("2*S - S")));
        Assert.Equal(Arg.Dim(Dim.Parse("S+1")), Arg.Dim(Dim.Parse("1+S")));
        Assert.Throws<ArgumentException>(() => new DimArg(Dim.Symbol("S")));
        Assert.Throws<ArgumentException>(() => new DimArg(Dim.Of(2)));
        Assert.Equal(["P", "S"], new DimArg(Dim.Parse("S+P")).References);
    }
}
