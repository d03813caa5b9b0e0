using TorchToNnef.Ir;

namespace TorchToNnef.Core.Tests;

/// <summary>
/// <see cref="Dim"/> normal form: equal expressions are equal values with one text; arithmetic, division, min/max and
/// exact polynomial division agree with a direct evaluation of the expression tree they were built from.
/// </summary>
public class DimNormalFormTests
{
    private static readonly Dim S = Dim.Symbol("S");
    private static readonly Dim P = Dim.Symbol("P");

    [Theory]
    [InlineData("S+1", "1+S", "S+1")]
    [InlineData("S+P", "P+S", "P+S")]
    [InlineData("2*(S+P)", "2*P+S+S", "2*P+2*S")]
    [InlineData("(S+P)*(S-P)", "S*S-P*P", "S*S-P*P")]
    [InlineData("S-S+3", "3", "3")]
    [InlineData("(2*S+2)/2", "S+1", "S+1")]
    [InlineData("(2*S+2)/4", "(S+1)/2", "(S+1)/2")]
    [InlineData("P*((S+1)/2)", "((1+S)/2)*P", "P*((S+1)/2)")]
    [InlineData("min(S, P)", "min(P, S)", "min(P, S)")]
    [InlineData("min(S, S+1)", "S", "S")]
    [InlineData("max(S, 0)", "S", "S")]
    [InlineData("-S+1", "1-S", "1-S")]
    [InlineData("-S-P", "-(P+S)", "-(P+S)")]
    [InlineData("min(8-S, 3)", "min(3, -S+8)", "min(8-S, 3)")]
    [InlineData("S/2*2", "2*(S/2)", "2*(S/2)")]
    [InlineData("(1-S)/2", "-((S-1)/2)", "-(S-1)/2")]
    public void EqualExpressionsAreOneValueWithOneText(string a, string b, string canonical)
    {
        Dim x = Dim.Parse(a);
        Dim y = Dim.Parse(b);
        Assert.Equal(x, y);
        Assert.Equal(x.GetHashCode(), y.GetHashCode());
        Assert.Equal(canonical, x.ToString());
        Assert.Equal(canonical, y.ToString());
        Assert.Equal(x, Dim.Parse(x.ToString()));
    }

    [Fact]
    public void DifferentExpressionsAreDifferent()
    {
        Assert.NotEqual(S, P);
        Assert.NotEqual(S + 1, S + 2);
        Assert.NotEqual(Dim.Parse("(S+1)/2"), Dim.Parse("S/2"));
        Assert.NotEqual(Dim.Min(S, P), Dim.Max(S, P));
        Assert.True(S == Dim.Symbol("S"));
        Assert.True(S != P);
    }

    [Fact]
    public void ConstantsAndSymbolsAreRecognized()
    {
        Assert.True((S - S + 4).TryGetConstant(out long c));
        Assert.Equal(4, c);
        Assert.True((S * 1 + 0).TryGetSymbol(out string name));
        Assert.Equal("S", name);
        Assert.False((S * 2).IsSymbol);
        Assert.False((S + P).IsConstant);
        Assert.Equal(["P", "S"], (S + P * S).Symbols);
        Assert.Equal("0", Dim.Of(0).ToString());
    }

    [Fact]
    public void DivisionTruncatesTowardZeroAsTract()
    {
        Assert.Equal(Dim.Of(-3), Dim.Of(-7) / 2);
        Assert.Equal(Dim.Of(3), Dim.Of(7) / 2);
        Dim q = (S + 1) / 2;
        var values = new Dictionary<string, long>();
        foreach (long s in new long[] { 0, 1, 2, 7, 8 })
        {
            values["S"] = s;
            Assert.Equal((s + 1) / 2, q.Evaluate(values));
        }

        Assert.Throws<DivideByZeroException>(() => S / 0);
        Assert.Equal(-(S / 2), S / -2);
    }

    [Fact]
    public void ProvenOrderSettlesMinMaxAndComparisons()
    {
        Assert.Equal(1, Dim.Compare(S + 1, S));
        Assert.Equal(-1, Dim.Compare(S, S + P + 1));
        Assert.Equal(0, Dim.Compare(S + P, P + S));
        Assert.Null(Dim.Compare(S, P));
        Assert.Null(Dim.Compare(S, 1));
        Assert.Equal(1, Dim.Compare(S + P, 0, new Dictionary<string, long> { ["S"] = 1 }));
        Assert.True(Dim.ProvablyAtLeast(S, 0));
        Assert.False(Dim.ProvablyAtLeast(S, 1));
        Assert.True(Dim.ProvablyAtLeast(S, 1, new Dictionary<string, long> { ["S"] = 1 }));
        Assert.Equal(S, Dim.Min(S, S + P));
        Assert.Equal(S + P, Dim.Max(S, S + P));
        Assert.Equal(Dim.Of(3), Dim.Min(3, 5));
    }

    [Theory]
    [InlineData("64*S", "16*S", "4")]
    [InlineData("2*S+2*P", "S+P", "2")]
    [InlineData("S*S+2*S*P+P*P", "S+P", "S+P")]
    [InlineData("S*S-P*P", "S-P", "S+P")]
    [InlineData("12", "4", "3")]
    [InlineData("4*S*P", "2*P", "2*S")]
    public void ExactDivisionFindsTheQuotient(string dividend, string divisor, string quotient)
    {
        Assert.True(Dim.Parse(dividend).TryDivideExact(Dim.Parse(divisor), out Dim q));
        Assert.Equal(Dim.Parse(quotient), q);
    }

    [Theory]
    [InlineData("S", "2")]
    [InlineData("S+1", "S")]
    [InlineData("3*S", "2*S")]
    [InlineData("S*S+1", "S+1")]
    [InlineData("S", "0")]
    public void InexactDivisionIsRefused(string dividend, string divisor) =>
        Assert.False(Dim.Parse(dividend).TryDivideExact(Dim.Parse(divisor), out _));

    [Fact]
    public void HugeProductsAreRefused()
    {
        // A sum of 40 symbols squares to 820 terms; squaring that again is refused, not computed.
        Dim sum = Enumerable.Range(0, 40).Aggregate(Dim.Of(0), (acc, i) => acc + Dim.Symbol($"S{i}"));
        Dim square = sum * sum;
        Assert.Equal(820, square.ToString().Split('+').Length);
        Assert.Throws<OverflowException>(() => square * square);
        Assert.Throws<OverflowException>(() => Dim.Of(long.MaxValue) + 1);
    }

    [Fact]
    public void RandomExpressionsEvaluateAsTheirTreeAndSurviveTheirText()
    {
        var random = new Random(20240611);
        for (int round = 0; round < 500; round++)
        {
            Expr e = RandomExpr(random, 4);
            Dim d = e.Build();
            Dim reparsed = Dim.Parse(d.ToString());
            Assert.Equal(d, reparsed);
            for (int k = 0; k < 5; k++)
            {
                var values = new Dictionary<string, long> { ["S"] = random.Next(0, 20), ["P"] = random.Next(0, 20), ["T"] = random.Next(0, 5) };
                long expected = e.Eval(values);
                Assert.True(expected == d.Evaluate(values), $"{e} = {expected} but {d} gives {d.Evaluate(values)} at S={values["S"]} P={values["P"]} T={values["T"]}");
                Assert.Equal(expected, reparsed.Evaluate(values));
            }
        }
    }

    private static Expr RandomExpr(Random r, int depth)
    {
        if (depth == 0 || r.Next(4) == 0)
        {
            return r.Next(3) == 0 ? new Leaf(null, r.Next(-3, 6)) : new Leaf(new[] { "S", "P", "T" }[r.Next(3)], 0);
        }

        return r.Next(7) switch
        {
            0 or 1 => new Node('+', RandomExpr(r, depth - 1), RandomExpr(r, depth - 1), 0),
            2 => new Node('-', RandomExpr(r, depth - 1), RandomExpr(r, depth - 1), 0),
            3 => new Node('*', RandomExpr(r, depth - 1), RandomExpr(r, depth - 1), 0),
            4 => new Node('/', RandomExpr(r, depth - 1), null, r.Next(1, 5) * (r.Next(4) == 0 ? -1 : 1)),
            5 => new Node('m', RandomExpr(r, depth - 1), RandomExpr(r, depth - 1), 0),
            _ => new Node('M', RandomExpr(r, depth - 1), RandomExpr(r, depth - 1), 0),
        };
    }

    // An independent model: the tree as built, evaluated directly with C# integer arithmetic.
    private abstract record Expr
    {
        public abstract long Eval(IReadOnlyDictionary<string, long> v);

        public abstract Dim Build();
    }

    private sealed record Leaf(string? Symbol, long Value) : Expr
    {
        public override long Eval(IReadOnlyDictionary<string, long> v) => Symbol is null ? Value : v[Symbol];

        public override Dim Build() => Symbol is null ? Dim.Of(Value) : Dim.Symbol(Symbol);
    }

    private sealed record Node(char Op, Expr A, Expr? B, long Divisor) : Expr
    {
        public override long Eval(IReadOnlyDictionary<string, long> v) => Op switch
        {
            '+' => A.Eval(v) + B!.Eval(v),
            '-' => A.Eval(v) - B!.Eval(v),
            '*' => A.Eval(v) * B!.Eval(v),
            '/' => A.Eval(v) / Divisor,
            'm' => Math.Min(A.Eval(v), B!.Eval(v)),
            _ => Math.Max(A.Eval(v), B!.Eval(v)),
        };

        public override Dim Build() => Op switch
        {
            '+' => A.Build() + B!.Build(),
            '-' => A.Build() - B!.Build(),
            '*' => A.Build() * B!.Build(),
            '/' => A.Build() / Divisor,
            'm' => Dim.Min(A.Build(), B!.Build()),
            _ => Dim.Max(A.Build(), B!.Build()),
        };
    }
}
