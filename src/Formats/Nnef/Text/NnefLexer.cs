using System.Text;
using TorchToNnef.Errors;

namespace TorchToNnef.Formats.Nnef.Text;

/// <summary>
/// Splits NNEF text into tokens on demand, following tract's lexical rules: <c>#</c> comments to the end of the line,
/// identifiers <c>[A-Za-z_][A-Za-z0-9_]*</c> or tract's escaped <c>i"any text"</c>, numbers
/// <c>-?digits[.digits][e[+-]digits]</c> (the sign is a separate token here; the parser folds it), and strings in
/// <c>'</c> or <c>"</c> where a backslash escapes the next character and an unescaped quote of either kind is an error.
/// Errors are <see cref="InvalidInputFileException"/>s naming the file, line and column.
/// </summary>
internal sealed class NnefLexer
{
    private static readonly string[] TwoCharSymbols = ["->", "==", "!=", "<=", ">=", "&&", "||"];
    private const string OneCharSymbols = "()[]{},;:=<>+-*/^!?";

    private readonly string _text;
    private readonly string? _file;
    private readonly List<Token> _lookahead = [];
    private int _pos;
    private int _line = 1;
    private int _lineStart;

    public NnefLexer(string text, string? file)
    {
        _text = text;
        _file = file;
    }

    /// <summary>The file name used in error messages.</summary>
    public string? File => _file;

    /// <summary>The token <paramref name="k"/> positions ahead (0 = next) without consuming it.</summary>
    public Token Peek(int k = 0)
    {
        while (_lookahead.Count <= k)
        {
            _lookahead.Add(Scan());
        }

        return _lookahead[k];
    }

    /// <summary>Consumes and returns the next token.</summary>
    public Token Next()
    {
        Token t = Peek();
        _lookahead.RemoveAt(0);
        return t;
    }

    /// <summary>Consumes the symbol <paramref name="symbol"/> or fails.</summary>
    public Token Expect(string symbol)
    {
        Token t = Next();
        return t.Is(symbol) ? t : throw Error(t, $"expected '{symbol}', found {t.Describe()}");
    }

    /// <summary>Consumes the symbol if it is next.</summary>
    public bool Accept(string symbol)
    {
        if (Peek().Is(symbol))
        {
            Next();
            return true;
        }

        return false;
    }

    /// <summary>Consumes an identifier or fails.</summary>
    public Token ExpectIdentifier(string what)
    {
        Token t = Next();
        return t.Kind == TokenKind.Identifier ? t : throw Error(t, $"expected {what}, found {t.Describe()}");
    }

    /// <summary>
    /// Reads raw text up to (not including) the next <c>;</c> and consumes the <c>;</c>: tract takes the rest of an
    /// <c>extension</c> line verbatim (<c>tract_assert S+P &lt; 256</c>). Comments are dropped.
    /// </summary>
    public (string Text, int Line, int Column) ReadRawUntilSemicolon()
    {
        if (_lookahead.Count != 0)
        {
            throw new InvalidOperationException("Raw read with tokens pending.");
        }

        SkipSpaceAndComments();
        int line = _line;
        int column = _pos - _lineStart + 1;
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw Error(_line, _pos - _lineStart + 1, "unterminated extension: expected ';'");
            }

            char c = _text[_pos];
            if (c == ';')
            {
                _pos++;
                return (sb.ToString().Trim(), line, column);
            }

            if (c == '#')
            {
                SkipSpaceAndComments();
                sb.Append(' ');
                continue;
            }

            Advance();
            sb.Append(c);
        }
    }

    /// <summary>An error at the token's position.</summary>
    public InvalidInputFileException Error(Token at, string what) => Error(at.Line, at.Column, what);

    /// <summary>An error at a position.</summary>
    public InvalidInputFileException Error(int line, int column, string what) =>
        new(_file, null, $"line {line}, column {column}: {what}");

    private Token Scan()
    {
        SkipSpaceAndComments();
        int line = _line;
        int column = _pos - _lineStart + 1;
        if (_pos >= _text.Length)
        {
            return new Token(TokenKind.End, string.Empty, line, column);
        }

        char c = _text[_pos];
        if (c == 'i' && _pos + 1 < _text.Length && _text[_pos + 1] is '\'' or '"')
        {
            _pos++;
            char q = _text[_pos];
            return new Token(TokenKind.Identifier, ScanString(line, column), line, column, q);
        }

        if (char.IsAsciiLetter(c) || c == '_')
        {
            int start = _pos;
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
            {
                _pos++;
            }

            return new Token(TokenKind.Identifier, _text[start.._pos], line, column);
        }

        if (char.IsAsciiDigit(c))
        {
            return new Token(TokenKind.Number, ScanNumber(), line, column);
        }

        if (c is '\'' or '"')
        {
            return new Token(TokenKind.String, ScanString(line, column), line, column, c);
        }

        foreach (string s in TwoCharSymbols)
        {
            if (string.CompareOrdinal(_text, _pos, s, 0, 2) == 0)
            {
                _pos += 2;
                return new Token(TokenKind.Symbol, s, line, column);
            }
        }

        if (OneCharSymbols.Contains(c, StringComparison.Ordinal))
        {
            _pos++;
            return new Token(TokenKind.Symbol, c.ToString(), line, column);
        }

        throw Error(line, column, $"unexpected character '{Printable(c)}'");
    }

    private string ScanNumber()
    {
        int start = _pos;
        SkipDigits();
        if (_pos < _text.Length && _text[_pos] == '.')
        {
            _pos++;
            SkipDigits();
        }

        if (_pos < _text.Length && _text[_pos] is 'e' or 'E')
        {
            int save = _pos;
            _pos++;
            if (_pos < _text.Length && _text[_pos] is '+' or '-')
            {
                _pos++;
            }

            if (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
            {
                SkipDigits();
            }
            else
            {
                _pos = save;
            }
        }

        return _text[start.._pos];
    }

    private void SkipDigits()
    {
        while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
        {
            _pos++;
        }
    }

    private string ScanString(int line, int column)
    {
        char quote = _text[_pos];
        _pos++;
        var sb = new StringBuilder();
        while (true)
        {
            if (_pos >= _text.Length)
            {
                throw Error(line, column, "unterminated string literal");
            }

            char c = _text[_pos];
            if (c == quote)
            {
                _pos++;
                return sb.ToString();
            }

            if (c is '\'' or '"')
            {
                // tract's string grammar forbids either quote unescaped, whatever the delimiter.
                throw Error(_line, _pos - _lineStart + 1, $"unescaped {c} inside a string literal (write \\{c})");
            }

            if (c == '\\')
            {
                Advance();
                if (_pos >= _text.Length)
                {
                    throw Error(line, column, "unterminated string literal");
                }

                c = _text[_pos];
            }

            Advance();
            sb.Append(c);
        }
    }

    private void SkipSpaceAndComments()
    {
        while (_pos < _text.Length)
        {
            char c = _text[_pos];
            if (c is ' ' or '\t' or '\r' or '\n')
            {
                Advance();
            }
            else if (c == '#')
            {
                while (_pos < _text.Length && _text[_pos] is not ('\n' or '\r'))
                {
                    _pos++;
                }
            }
            else
            {
                return;
            }
        }
    }

    private void Advance()
    {
        if (_text[_pos] == '\n')
        {
            _line++;
            _lineStart = _pos + 1;
        }

        _pos++;
    }

    private static string Printable(char c) => char.IsControl(c) ? $"\\u{(int)c:X4}" : c.ToString();
}
