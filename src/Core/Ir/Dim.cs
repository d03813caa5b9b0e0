using System.Globalization;

namespace TorchToNnef.Ir;

/// <summary>
/// A tensor dimension that is either a known integer or an expression over symbols (<c>S</c>, <c>P</c>, <c>S+P</c>),
/// in the arithmetic tract accepts: <c>+ - *</c>, division by an integer, <c>min</c>, <c>max</c>, parentheses.
/// Constant sub-expressions are folded when built, so <c>Dim.Of(2) + Dim.Of(3)</c> is the constant 5.
/// </summary>
public abstract record Dim
{
    /// <summary>A known dimension.</summary>
    public static Dim Of(long value) => new ConstantDim(value);

    /// <summary>A symbol such as <c>S</c>.</summary>
    public static Dim Symbol(string name) => new SymbolDim(name);

    /// <summary>True when the dimension is a known integer.</summary>
    public bool IsConstant => this is ConstantDim;

    /// <summary>The integer value when constant.</summary>
    public bool TryGetConstant(out long value)
    {
        if (this is ConstantDim c)
        {
            value = c.Value;
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>Evaluates with symbol values from <paramref name="resolve"/>.</summary>
    /// <exception cref="KeyNotFoundException">A symbol has no value.</exception>
    public abstract long Evaluate(Func<string, long> resolve);

    /// <summary>Evaluates with a dictionary of symbol values.</summary>
    public long Evaluate(IReadOnlyDictionary<string, long> symbols) =>
        Evaluate(s => symbols.TryGetValue(s, out long v) ? v : throw new KeyNotFoundException($"Symbol '{s}' is not bound."));

    /// <summary>Symbols that appear in the expression.</summary>
    public abstract IEnumerable<string> Symbols { get; }

    /// <summary>Adds, folding constants.</summary>
    public static Dim operator +(Dim a, Dim b) => Fold('+', a, b);

    /// <summary>Subtracts, folding constants.</summary>
    public static Dim operator -(Dim a, Dim b) => Fold('-', a, b);

    /// <summary>Multiplies, folding constants.</summary>
    public static Dim operator *(Dim a, Dim b) => Fold('*', a, b);

    /// <summary>Integer division (toward zero, as tract's TDim), folding constants.</summary>
    public static Dim operator /(Dim a, long divisor) => Fold('/', a, Of(divisor));

    /// <summary>Implicit conversion from a known dimension.</summary>
    public static implicit operator Dim(long value) => Of(value);

    /// <summary>Minimum of two dimensions.</summary>
    public static Dim Min(Dim a, Dim b) => FoldCall("min", a, b);

    /// <summary>Maximum of two dimensions.</summary>
    public static Dim Max(Dim a, Dim b) => FoldCall("max", a, b);

    /// <summary>Parses tract's dimension syntax, e.g. <c>S+P</c>, <c>2*S</c>, <c>min(S, 8)</c>.</summary>
    /// <exception cref="FormatException">Malformed text.</exception>
    public static Dim Parse(string text) => new DimParser(text).ParseWhole();

    internal abstract int Precedence { get; }

    private static Dim Fold(char op, Dim a, Dim b)
    {
        if (a is ConstantDim x && b is ConstantDim y)
        {
            return Of(op switch
            {
                '+' => checked(x.Value + y.Value),
                '-' => checked(x.Value - y.Value),
                '*' => checked(x.Value * y.Value),
                _ => y.Value == 0 ? throw new DivideByZeroException("Dimension divided by zero.") : x.Value / y.Value,
            });
        }

        if (b is ConstantDim { Value: 0 } && op is '+' or '-')
        {
            return a;
        }

        if (a is ConstantDim { Value: 0 } && op == '+')
        {
            return b;
        }

        if (b is ConstantDim { Value: 1 } && op is '*' or '/')
        {
            return a;
        }

        if (a is ConstantDim { Value: 1 } && op == '*')
        {
            return b;
        }

        return new BinaryDim(op, a, b);
    }

    private static Dim FoldCall(string fn, Dim a, Dim b)
    {
        if (a is ConstantDim x && b is ConstantDim y)
        {
            return Of(fn == "min" ? Math.Min(x.Value, y.Value) : Math.Max(x.Value, y.Value));
        }

        return new CallDim(fn, a, b);
    }
}

/// <summary>A known dimension.</summary>
public sealed record ConstantDim(long Value) : Dim
{
    /// <inheritdoc />
    public override long Evaluate(Func<string, long> resolve) => Value;

    /// <inheritdoc />
    public override IEnumerable<string> Symbols => [];

    internal override int Precedence => 3;

    /// <inheritdoc />
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>A named symbol.</summary>
public sealed record SymbolDim(string Name) : Dim
{
    /// <inheritdoc />
    public override long Evaluate(Func<string, long> resolve) => resolve(Name);

    /// <inheritdoc />
    public override IEnumerable<string> Symbols => [Name];

    internal override int Precedence => 3;

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>A binary expression: <c>+ - * /</c>.</summary>
public sealed record BinaryDim(char Op, Dim Left, Dim Right) : Dim
{
    /// <inheritdoc />
    public override long Evaluate(Func<string, long> resolve)
    {
        long l = Left.Evaluate(resolve);
        long r = Right.Evaluate(resolve);
        return Op switch
        {
            '+' => checked(l + r),
            '-' => checked(l - r),
            '*' => checked(l * r),
            _ => r == 0 ? throw new DivideByZeroException("Dimension divided by zero.") : l / r,
        };
    }

    /// <inheritdoc />
    public override IEnumerable<string> Symbols => Left.Symbols.Concat(Right.Symbols).Distinct();

    internal override int Precedence => Op is '+' or '-' ? 1 : 2;

    /// <inheritdoc />
    public override string ToString()
    {
        string l = Left.Precedence < Precedence ? $"({Left})" : Left.ToString();
        // Right operand of a non-commutative or same-level operator needs parentheses to keep left associativity.
        string r = Right.Precedence < Precedence || (Right.Precedence == Precedence && Op is '-' or '/')
            ? $"({Right})"
            : Right.ToString();
        return l + Op + r;
    }
}

/// <summary><c>min(a, b)</c> or <c>max(a, b)</c>.</summary>
public sealed record CallDim(string Function, Dim A, Dim B) : Dim
{
    /// <inheritdoc />
    public override long Evaluate(Func<string, long> resolve)
    {
        long a = A.Evaluate(resolve);
        long b = B.Evaluate(resolve);
        return Function == "min" ? Math.Min(a, b) : Math.Max(a, b);
    }

    /// <inheritdoc />
    public override IEnumerable<string> Symbols => A.Symbols.Concat(B.Symbols).Distinct();

    internal override int Precedence => 3;

    /// <inheritdoc />
    public override string ToString() => $"{Function}({A}, {B})";
}
