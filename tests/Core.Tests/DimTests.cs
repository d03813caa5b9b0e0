using TorchToNnef.Ir;

namespace TorchToNnef.Core.Tests;

public class DimTests
{
    [Theory]
    [InlineData("S+P", 7, 5, 12)]
    [InlineData("2*S - 1", 7, 5, 13)]
    [InlineData("(S+P)/2", 7, 6, 6)]
    [InlineData("min(S, P) + max(S, 3)", 2, 9, 5)]
    [InlineData("S-(P-1)", 10, 4, 7)]
    public void ParsesAndEvaluates(string text, long s, long p, long expected)
    {
        Dim d = Dim.Parse(text);
        Assert.Equal(expected, d.Evaluate(new Dictionary<string, long> { ["S"] = s, ["P"] = p }));
        // Printing then parsing gives the same value (precedence preserved).
        Assert.Equal(expected, Dim.Parse(d.ToString()).Evaluate(new Dictionary<string, long> { ["S"] = s, ["P"] = p }));
    }

    [Fact]
    public void FoldsConstants()
    {
        Assert.True((Dim.Of(2) + Dim.Of(3)).TryGetConstant(out long v));
        Assert.Equal(5, v);
        Assert.Equal("S", (Dim.Symbol("S") + 0).ToString());
        // The canonical order puts symbols in ordinal order, whatever the order they were added in.
        Assert.Equal("P+S", (Dim.Symbol("S") + Dim.Symbol("P")).ToString());
    }

    [Theory]
    [InlineData("S+")]
    [InlineData("S / P")]
    [InlineData("3 $ 4")]
    [InlineData("min(S)")]
    public void RejectsMalformed(string text) => Assert.Throws<FormatException>(() => Dim.Parse(text));

    [Fact]
    public void AssertionsParseWithScenario()
    {
        Assertion a = Assertion.Parse("tg: S==1");
        Assert.Equal("tg", a.Scenario);
        Assert.True(a.Holds(new Dictionary<string, long> { ["S"] = 1 }));
        Assertion b = Assertion.Parse("S+P < 256");
        Assert.Null(b.Scenario);
        Assert.False(b.Holds(new Dictionary<string, long> { ["S"] = 200, ["P"] = 56 }));
        Assert.Throws<FormatException>(() => Assertion.Parse("S != 1"));
    }
}
