using System.Globalization;

namespace TorchToNnef.Ir;

/// <summary>Recursive-descent parser for <see cref="Dim"/> expressions and <see cref="Assertion"/> comparisons.</summary>
internal ref struct DimParser
{
    // Bound on parentheses/prefix-minus nesting: a hostile expression read from a file must fail with a
    // FormatException, not overflow the stack.
    private const int MaxNesting = 64;

    private readonly string _text;
    private int _pos;
    private int _depth;

    public DimParser(string text)
    {
        _text = text;
        _pos = 0;
        _depth = 0;
    }

    public Dim ParseWhole()
    {
        Dim d = ParseSum();
        SkipSpace();
        if (_pos != _text.Length)
        {
            throw Error("unexpected text");
        }

        return d;
    }

    public (Dim Left, string Op, Dim Right) ParseComparison()
    {
        Dim left = ParseSum();
        SkipSpace();
        string op;
        if (Peek("==") || Peek("<=") || Peek(">="))
        {
            op = _text.Substring(_pos, 2);
            _pos += 2;
        }
        else if (Peek("<") || Peek(">"))
        {
            op = _text.Substring(_pos, 1);
            _pos += 1;
        }
        else
        {
            throw Error("expected ==, <=, >=, < or >");
        }

        Dim right = ParseSum();
        SkipSpace();
        if (_pos != _text.Length)
        {
            throw Error("unexpected text");
        }

        return (left, op, right);
    }

    private Dim ParseSum()
    {
        Dim acc = ParseProduct();
        while (true)
        {
            SkipSpace();
            if (Peek("+"))
            {
                _pos++;
                acc += ParseProduct();
            }
            else if (Peek("-"))
            {
                _pos++;
                acc -= ParseProduct();
            }
            else
            {
                return acc;
            }
        }
    }

    private Dim ParseProduct()
    {
        Dim acc = ParseAtom();
        while (true)
        {
            SkipSpace();
            if (Peek("*"))
            {
                _pos++;
                acc *= ParseAtom();
            }
            else if (Peek("/"))
            {
                _pos++;
                SkipSpace();
                if (!ParseAtom().TryGetConstant(out long divisor))
                {
                    throw Error("division is only by an integer");
                }

                acc /= divisor;
            }
            else
            {
                return acc;
            }
        }
    }

    private Dim ParseAtom()
    {
        if (++_depth > MaxNesting)
        {
            throw Error($"nested deeper than {MaxNesting} levels");
        }

        Dim atom = ParseAtomBody();
        _depth--;
        return atom;
    }

    private Dim ParseAtomBody()
    {
        SkipSpace();
        if (_pos >= _text.Length)
        {
            throw Error("unexpected end");
        }

        char c = _text[_pos];
        if (c == '(')
        {
            _pos++;
            Dim inner = ParseSum();
            Expect(')');
            return inner;
        }

        if (c == '-')
        {
            _pos++;
            return Dim.Of(0) - ParseAtom();
        }

        if (char.IsAsciiDigit(c))
        {
            int start = _pos;
            while (_pos < _text.Length && char.IsAsciiDigit(_text[_pos]))
            {
                _pos++;
            }

            return Dim.Of(long.Parse(_text.AsSpan(start, _pos - start), NumberStyles.None, CultureInfo.InvariantCulture));
        }

        if (char.IsAsciiLetter(c) || c == '_')
        {
            int start = _pos;
            while (_pos < _text.Length && (char.IsAsciiLetterOrDigit(_text[_pos]) || _text[_pos] == '_'))
            {
                _pos++;
            }

            string name = _text[start.._pos];
            SkipSpace();
            if ((name is "min" or "max") && Peek("("))
            {
                _pos++;
                Dim a = ParseSum();
                Expect(',');
                Dim b = ParseSum();
                Expect(')');
                return name == "min" ? Dim.Min(a, b) : Dim.Max(a, b);
            }

            return Dim.Symbol(name);
        }

        throw Error($"unexpected character '{c}'");
    }

    private void Expect(char c)
    {
        SkipSpace();
        if (_pos >= _text.Length || _text[_pos] != c)
        {
            throw Error($"expected '{c}'");
        }

        _pos++;
    }

    private readonly bool Peek(string s) => string.CompareOrdinal(_text, _pos, s, 0, s.Length) == 0;

    private void SkipSpace()
    {
        while (_pos < _text.Length && char.IsWhiteSpace(_text[_pos]))
        {
            _pos++;
        }
    }

    private readonly FormatException Error(string what) =>
        new($"Bad dimension expression '{Excerpt(_text)}' at {_pos}: {what}.");

    // Messages quote the expression; a hostile one can be megabytes long, so only its start is echoed.
    private static string Excerpt(string text) => text.Length <= 80 ? text : string.Concat(text.AsSpan(0, 80), "...");
}
