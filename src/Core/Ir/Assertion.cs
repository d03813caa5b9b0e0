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
    /// <summary>The text the assertion was parsed from, kept so that it is written back as it was read; null when built.</summary>
    public string? Text { get; init; }

    /// <summary>Parses <c>[scenario:] expr op expr</c>; the scenario name is the text before the first colon, untrimmed.</summary>
    /// <exception cref="FormatException">Malformed text.</exception>
    public static Assertion Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string source = text;
        string? scenario = null;
        int colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            scenario = text[..colon];
            text = text[(colon + 1)..];
        }

        (Dim left, string op, Dim right) = new DimParser(text.Trim()).ParseComparison();
        return new Assertion(scenario, left, op, right) { Text = source };
    }

    /// <summary>Equality of meaning: same scenario, operator and (normalized) expressions, however they were written.</summary>
    public bool Equals(Assertion? other) =>
        other is not null && Scenario == other.Scenario && Operator == other.Operator && Left == other.Left && Right == other.Right;

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Scenario, Operator, Left, Right);

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

    /// <summary>
    /// The text it was parsed from, else the canonical form as tract writes it: <c>P+S &lt; 256</c> or <c>tg: S==1</c>.
    /// </summary>
    public override string ToString() =>
        Text ?? (Scenario is null ? $"{Left} {Operator} {Right}" : $"{Scenario}: {Left}{Operator}{Right}");
}
