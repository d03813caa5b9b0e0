namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>Kinds of token in <c>graph.nnef</c> and <c>graph.quant</c> text.</summary>
internal enum TokenKind
{
    /// <summary>End of input.</summary>
    End,
    /// <summary>Identifier (plain, or tract's escaped <c>i"..."</c> form).</summary>
    Identifier,
    /// <summary>Numeric literal, kept as written.</summary>
    Number,
    /// <summary>String literal, unescaped.</summary>
    String,
    /// <summary>Operator or punctuation.</summary>
    Symbol,
}

/// <summary>One token with its position (1-based line and column) for error messages.</summary>
/// <param name="Kind">Token kind.</param>
/// <param name="Text">Identifier name, number text, unescaped string, or the symbol.</param>
/// <param name="Line">1-based line.</param>
/// <param name="Column">1-based column.</param>
/// <param name="Quote">For strings, the delimiter used (<c>'</c> or <c>"</c>); for escaped identifiers too.</param>
internal readonly record struct Token(TokenKind Kind, string Text, int Line, int Column, char Quote = '\0')
{
    /// <summary>True for the symbol <paramref name="symbol"/>.</summary>
    public bool Is(string symbol) => Kind == TokenKind.Symbol && Text == symbol;

    /// <summary>True for the plain identifier (keyword) <paramref name="word"/>.</summary>
    public bool IsWord(string word) => Kind == TokenKind.Identifier && Quote == '\0' && Text == word;

    /// <summary>Describes the token for messages.</summary>
    public string Describe() => Kind switch
    {
        TokenKind.End => "end of file",
        TokenKind.String => $"string '{Text}'",
        TokenKind.Number => $"number {Text}",
        TokenKind.Identifier => $"identifier '{Text}'",
        _ => $"'{Text}'",
    };
}
