using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.Ir;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// Hostile nesting must be a clear error, not a stack overflow (which would kill the process with no message).
/// Each case is far deeper than the bound and far deeper than the stack could take by recursion.
/// </summary>
public class GraphTextNestingTests
{
    private const int Hostile = 200_000;

    public static TheoryData<string, string> HostileBodies() => new()
    {
        { "parentheses", "y = add(x, " + new string('(', Hostile) + "x" + new string(')', Hostile) + ");" },
        { "arrays", "y = add(x, " + new string('[', Hostile) + "0.0" + new string(']', Hostile) + ");" },
        { "calls", "y = " + string.Concat(Enumerable.Repeat("neg(", Hostile)) + "x" + new string(')', Hostile) + ";" },
        { "prefix operators", "y = " + string.Concat(Enumerable.Repeat("- ", Hostile)) + "x;" },
        { "operator chain", "y = x" + string.Concat(Enumerable.Repeat(" + x", Hostile)) + ";" },
        { "power chain", "y = x" + string.Concat(Enumerable.Repeat(" ^ 2.0", Hostile)) + ";" },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public void DeepExpressionsAreRejectedWithTheirPosition(string kind, string body)
    {
        var e = Assert.Throws<InvalidInputFileException>(() => Parse(body));
        Assert.Contains("nested deeper than", e.Message);
        Assert.Contains("deep.nnef", e.Message);
        Assert.False(string.IsNullOrEmpty(kind));
    }

    [Fact]
    public void DeepFragmentParameterTypesAreRejected()
    {
        string type = new string('(', Hostile) + "scalar" + new string(')', Hostile);
        string text = $"version 1.0;\nfragment f(a: {type}) -> (b: scalar)\n{{\n    b = a;\n}}\ngraph g(x) -> (y)\n{{\n    x = external(shape = [1]);\n    y = copy(x);\n}}\n";
        var e = Assert.Throws<InvalidInputFileException>(() => GraphText.Parse(text, "deep.nnef"));
        Assert.Contains("nested deeper than", e.Message);
    }

    [Fact]
    public void NestingUpToTheBoundStillParses()
    {
        // A chain and a bracket nest just inside the limit are legal and lower to the expected nodes.
        int n = NnefParser.MaxNesting - 2;
        Graph chain = Parse("y = x" + string.Concat(Enumerable.Repeat(" + x", n)) + ";");
        Assert.Equal(n, chain.Nodes.Count(node => node.Op == "add"));
        Graph nested = Parse("y = add(x, " + new string('[', n - 2) + "0.0" + new string(']', n - 2) + ");");
        Arg arg = nested.Nodes.Single(node => node.Op == "add").Inputs[1];
        int depth = 0;
        while (arg is ArrayArg a)
        {
            depth++;
            arg = Assert.Single(a.Items);
        }

        Assert.Equal(n - 2, depth);
        Assert.Equal(Arg.Float(0.0), arg);
    }

    [Fact]
    public void DeepDimensionExpressionsAreAFormatError()
    {
        // Assertions and symbolic shapes come from extension lines of the file.
        string deep = new string('(', Hostile) + "S" + new string(')', Hostile) + " >= 1";
        Assert.Throws<FormatException>(() => Assertion.Parse(deep));
        Assert.Throws<FormatException>(() => Dim.Parse(string.Concat(Enumerable.Repeat("-", Hostile)) + "S"));
        Assert.Equal(3, Dim.Parse("((((S))))").Evaluate(new Dictionary<string, long> { ["S"] = 3 }));
    }

    [Fact]
    public void ExtensionErrorsQuoteOnlyTheStartOfHostileText()
    {
        string assert = "version 1.0;\nextension tract_assert " + new string('(', Hostile) + "S" + new string(')', Hostile)
            + " >= 1;\ngraph g(x) -> (y)\n{\n    x = external(shape = [1]);\n    y = copy(x);\n}\n";
        var e = Assert.Throws<InvalidInputFileException>(() => GraphText.Parse(assert, "deep.nnef"));
        Assert.Contains("tract_assert", e.Message);
        Assert.True(e.Message.Length < 400, $"message of {e.Message.Length} chars");

        string symbol = "version 1.0;\nextension tract_symbol S P;\ngraph g(x) -> (y)\n{\n    x = external(shape = [1]);\n    y = copy(x);\n}\n";
        var s = Assert.Throws<InvalidInputFileException>(() => GraphText.Parse(symbol, "sym.nnef"));
        Assert.Contains("tract_symbol needs one identifier", s.Message);
    }

    private static Graph Parse(string statement) =>
        GraphText.Parse($"version 1.0;\ngraph g(x) -> (y)\n{{\n    x = external(shape = [1]);\n    {statement}\n}}\n", "deep.nnef");
}
