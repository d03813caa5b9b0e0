namespace TorchToNnef.Ir;

/// <summary>
/// A graph-level assertion on symbols (tract's <c>extension tract_assert</c>), optionally restricted to a named
/// scenario (<c>tg: S==1</c>).
/// </summary>
/// <param name="Scenario">Scenario name, or null for an assertion that always holds.</param>
/// <param name="Left">Left expression.</param>
/// <param name="Operator">One of <c>== &lt;= &gt;= &lt; &gt;</c>.</param>
/// <param name="Right">Right expression.</param>
public sealed record Assertion(string? Scenario, Dim Left, string Operator, Dim Right)
{
    /// <summary>Parses <c>[scenario:] expr op expr</c>; the scenario name is the text before the first colon, untrimmed.</summary>
    /// <exception cref="FormatException">Malformed text.</exception>
    public static Assertion Parse(string text)
    {
        string? scenario = null;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            scenario = text[..colon];
            text = text[(colon + 1)..];
        }

        (Dim left, string op, Dim right) = new DimParser(text.Trim()).ParseComparison();
        return new Assertion(scenario, left, op, right);
    }

    /// <summary>Checks the assertion with bound symbols.</summary>
    public bool Holds(IReadOnlyDictionary<string, long> symbols)
    {
        long l = Left.Evaluate(symbols);
        long r = Right.Evaluate(symbols);
        return Operator switch
        {
            "==" => l == r,
            "<=" => l <= r,
            ">=" => l >= r,
            "<" => l < r,
            ">" => l > r,
            _ => throw new InvalidOperationException($"Unknown assertion operator '{Operator}'."),
        };
    }

    /// <summary>Formats as tract writes it: <c>S+P &lt; 256</c> or <c>tg: S==1</c>.</summary>
    public override string ToString() =>
        Scenario is null ? $"{Left} {Operator} {Right}" : $"{Scenario}: {Left}{Operator}{Right}";
}
