using System.Globalization;
using System.Text;

namespace TorchToNnef.Ir;

/// <summary>
/// A tensor dimension: a known integer or an expression over symbols (<c>S</c>, <c>P</c>, <c>S+P</c>, <c>2*S</c>), in the
/// arithmetic tract's TDim accepts: <c>+ - *</c>, division by an integer (truncating, as TDim), <c>min</c> and <c>max</c>.
/// A value is kept in a normal form, an integer-coefficient sum of products of factors (symbols, and the quotients,
/// minima and maxima that do not simplify), so that equal expressions compare equal and print the same way:
/// <c>S+1</c> equals <c>1+S</c>, <c>2*(S+P)</c> equals <c>2*P+2*S</c>, and both print as their canonical text.
/// </summary>
public sealed class Dim : IEquatable<Dim>, IComparable<Dim>
{
    private const int MaxTerms = 4096;

    private static readonly Dim Zero = new([]);

    // Terms sorted by monomial (the constant term, with no factors, last); no zero coefficient; no repeated monomial.
    private readonly DimTerm[] _terms;

    private Dim(DimTerm[] terms)
    {
        _terms = terms;
    }

    /// <summary>True when the dimension is a known integer.</summary>
    public bool IsConstant => _terms.Length == 0 || (_terms.Length == 1 && _terms[0].Factors.Length == 0);

    /// <summary>True when the dimension is exactly one symbol.</summary>
    public bool IsSymbol => TryGetSymbol(out _);

    /// <summary>Symbols that appear in the expression, each once, in order of first appearance in the canonical text.</summary>
    public IEnumerable<string> Symbols
    {
        get
        {
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var order = new List<string>();
            CollectSymbols(seen, order);
            return order;
        }
    }

    internal IReadOnlyList<DimTerm> Terms => _terms;

    // Dims are immutable, so the small constants every shape is made of (axis sizes 1, 2, ..., the -1 of a reshape)
    // are shared instead of allocated each time (shape inference makes thousands of them for one decoder).
    private const int FirstShared = -1;
    private static readonly Dim[] Shared = [.. Enumerable.Range(FirstShared, 130).Select(v => v == 0 ? Zero : new Dim([new DimTerm([], v)]))];

    /// <summary>A known dimension.</summary>
    public static Dim Of(long value) =>
        (ulong)(value - FirstShared) < (ulong)Shared.Length ? Shared[value - FirstShared] : new([new DimTerm([], value)]);

    /// <summary>A symbol such as <c>S</c>.</summary>
    /// <exception cref="ArgumentException">The name is empty.</exception>
    public static Dim Symbol(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        return FromFactor(new SymbolFactor(name));
    }

    /// <summary>Parses tract's dimension syntax, e.g. <c>S+P</c>, <c>2*S</c>, <c>(S+1)/2</c>, <c>min(S, 8)</c>.</summary>
    /// <exception cref="FormatException">Malformed text.</exception>
    public static Dim Parse(string text) => new DimParser(text).ParseWhole();

    /// <summary>The integer value when constant.</summary>
    public bool TryGetConstant(out long value)
    {
        if (IsConstant)
        {
            value = _terms.Length == 0 ? 0 : _terms[0].Coefficient;
            return true;
        }

        value = 0;
        return false;
    }

    /// <summary>The symbol's name when the dimension is exactly one symbol.</summary>
    public bool TryGetSymbol(out string name)
    {
        if (_terms is [{ Coefficient: 1, Factors: [SymbolFactor s] }])
        {
            name = s.Name;
            return true;
        }

        name = string.Empty;
        return false;
    }

    /// <summary>Evaluates with symbol values from <paramref name="resolve"/>.</summary>
    /// <exception cref="KeyNotFoundException">A symbol has no value (when <paramref name="resolve"/> throws it).</exception>
    /// <exception cref="OverflowException">The value does not fit in 64 bits.</exception>
    public long Evaluate(Func<string, long> resolve)
    {
        ArgumentNullException.ThrowIfNull(resolve);
        long sum = 0;
        foreach (DimTerm t in _terms)
        {
            long p = t.Coefficient;
            foreach (DimFactor f in t.Factors)
            {
                p = checked(p * f.Evaluate(resolve));
            }

            sum = checked(sum + p);
        }

        return sum;
    }

    /// <summary>Evaluates with a dictionary of symbol values.</summary>
    /// <exception cref="KeyNotFoundException">A symbol is not bound.</exception>
    public long Evaluate(IReadOnlyDictionary<string, long> symbols) =>
        Evaluate(s => symbols.TryGetValue(s, out long v) ? v : throw new KeyNotFoundException($"Symbol '{s}' is not bound."));

    /// <summary>The expression with the bound symbols replaced by their values (others kept), renormalized.</summary>
    public Dim Substitute(IReadOnlyDictionary<string, long> symbols)
    {
        ArgumentNullException.ThrowIfNull(symbols);
        Dim sum = Zero;
        foreach (DimTerm t in _terms)
        {
            Dim p = Of(t.Coefficient);
            foreach (DimFactor f in t.Factors)
            {
                p *= f.Substitute(symbols);
            }

            sum += p;
        }

        return sum;
    }

    /// <summary>Adds.</summary>
    public static Dim operator +(Dim a, Dim b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a._terms.Length == 0)
        {
            return b;
        }

        if (b._terms.Length == 0)
        {
            return a;
        }

        if (a.TryGetConstant(out long ca) && b.TryGetConstant(out long cb))
        {
            return Of(checked(ca + cb));
        }

        var merged = new List<DimTerm>(a._terms.Length + b._terms.Length);
        int i = 0;
        int j = 0;
        while (i < a._terms.Length || j < b._terms.Length)
        {
            int c = i == a._terms.Length ? 1 : j == b._terms.Length ? -1 : DimTerm.CompareMonomials(a._terms[i].Factors, b._terms[j].Factors);
            if (c < 0)
            {
                merged.Add(a._terms[i++]);
            }
            else if (c > 0)
            {
                merged.Add(b._terms[j++]);
            }
            else
            {
                long coefficient = checked(a._terms[i].Coefficient + b._terms[j].Coefficient);
                if (coefficient != 0)
                {
                    merged.Add(new DimTerm(a._terms[i].Factors, coefficient));
                }

                i++;
                j++;
            }
        }

        return new Dim([.. merged]);
    }

    /// <summary>Negates.</summary>
    public static Dim operator -(Dim a)
    {
        ArgumentNullException.ThrowIfNull(a);
        return new Dim([.. a._terms.Select(t => new DimTerm(t.Factors, checked(-t.Coefficient)))]);
    }

    /// <summary>Subtracts.</summary>
    public static Dim operator -(Dim a, Dim b) => a + (-b);

    /// <summary>Multiplies (distributing over sums).</summary>
    /// <exception cref="OverflowException">A coefficient overflows, or the product would have too many terms.</exception>
    public static Dim operator *(Dim a, Dim b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if ((long)a._terms.Length * b._terms.Length > MaxTerms)
        {
            // Shapes never need this; a hostile graph squaring sums of many symbols must not exhaust memory.
            throw new OverflowException($"Dimension product of {a._terms.Length} by {b._terms.Length} terms is too large.");
        }

        if (a.TryGetConstant(out long ca) && b.TryGetConstant(out long cb))
        {
            return Of(checked(ca * cb));
        }

        Dim sum = Zero;
        foreach (DimTerm x in a._terms)
        {
            var products = new List<DimTerm>(b._terms.Length);
            foreach (DimTerm y in b._terms)
            {
                products.Add(new DimTerm(DimTerm.MergeFactors(x.Factors, y.Factors), checked(x.Coefficient * y.Coefficient)));
            }

            products.Sort((p, q) => DimTerm.CompareMonomials(p.Factors, q.Factors));
            sum += new Dim([.. products]);
        }

        return sum;
    }

    /// <summary>
    /// Integer division truncating toward zero, as tract's TDim: exact when every coefficient is a multiple of the divisor,
    /// a constant when the dividend is one, else a quotient factor (with common factors of the coefficients and the
    /// divisor cancelled).
    /// </summary>
    /// <exception cref="DivideByZeroException">The divisor is 0.</exception>
    public static Dim operator /(Dim a, long divisor)
    {
        ArgumentNullException.ThrowIfNull(a);
        if (divisor == 0)
        {
            throw new DivideByZeroException("Dimension divided by zero.");
        }

        if (divisor < 0)
        {
            return -(a / checked(-divisor));
        }

        if (divisor == 1)
        {
            return a;
        }

        if (a.TryGetConstant(out long c))
        {
            return Of(c / divisor);
        }

        if (a._terms.All(t => t.Coefficient % divisor == 0))
        {
            return new Dim([.. a._terms.Select(t => new DimTerm(t.Factors, t.Coefficient / divisor))]);
        }

        if (a._terms[0].Coefficient < 0)
        {
            // Truncation is odd, -x/q = -(x/q): one form, with a positive leading coefficient inside the quotient.
            return -(-a / divisor);
        }

        long g = a._terms.Aggregate(divisor, (acc, t) => (long)System.Numerics.BigInteger.GreatestCommonDivisor(acc, t.Coefficient));
        Dim numerator = g == 1 ? a : new Dim([.. a._terms.Select(t => new DimTerm(t.Factors, t.Coefficient / g))]);
        return FromFactor(new QuotientFactor(numerator, divisor / g));
    }

    /// <summary>Implicit conversion from a known dimension.</summary>
    public static implicit operator Dim(long value) => Of(value);

    /// <summary>Equality of normal forms.</summary>
    public static bool operator ==(Dim? a, Dim? b) => a is null ? b is null : a.Equals(b);

    /// <summary>Inequality of normal forms.</summary>
    public static bool operator !=(Dim? a, Dim? b) => !(a == b);

    /// <summary>
    /// Minimum: a constant or one operand when the order is provable (with the symbols at least their
    /// <paramref name="lowerBounds"/>, 0 by default), else a <c>min</c> factor.
    /// </summary>
    public static Dim Min(Dim a, Dim b, IReadOnlyDictionary<string, long>? lowerBounds = null) => Extremum(a, b, max: false, lowerBounds);

    /// <summary>Maximum: a constant or one operand when the order is provable (see <see cref="Min"/>), else a <c>max</c> factor.</summary>
    public static Dim Max(Dim a, Dim b, IReadOnlyDictionary<string, long>? lowerBounds = null) => Extremum(a, b, max: true, lowerBounds);

    /// <summary>
    /// Compares <paramref name="a"/> with <paramref name="b"/> for every value of the symbols, each at least its lower
    /// bound from <paramref name="lowerBounds"/> (0 when not listed: dimensions are never negative). Returns the sign of
    /// <c>a - b</c> when it is the same for all such values, <c>0</c> only when they are equal, or null when it depends
    /// on the symbols or cannot be proven.
    /// </summary>
    public static int? Compare(Dim a, Dim b, IReadOnlyDictionary<string, long>? lowerBounds = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        Dim d = a - b;
        if (d.TryGetConstant(out long c))
        {
            return Math.Sign(c);
        }

        (_, bool above, _, bool below) = SignBounds(d, lowerBounds);
        return above ? 1 : below ? -1 : null;
    }

    /// <summary>True when <c>a &gt;= b</c> for every admissible value of the symbols (see <see cref="Compare"/>).</summary>
    public static bool ProvablyAtLeast(Dim a, Dim b, IReadOnlyDictionary<string, long>? lowerBounds = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        return SignBounds(a - b, lowerBounds).AtLeastZero;
    }

    /// <summary>
    /// Exact division by another dimension (polynomial division): the quotient when <paramref name="divisor"/> divides
    /// this expression with integer coefficients, e.g. <c>64*S / (16*S) = 4</c>, <c>(2*S+2*P)/(S+P) = 2</c>.
    /// </summary>
    public bool TryDivideExact(Dim divisor, out Dim quotient)
    {
        ArgumentNullException.ThrowIfNull(divisor);
        quotient = Zero;
        if (divisor._terms.Length == 0)
        {
            return false;
        }

        DimTerm lead = divisor._terms[0];
        Dim remainder = this;
        for (int guard = 0; remainder._terms.Length > 0; guard++)
        {
            if (guard > 4096)
            {
                return false;
            }

            DimTerm r = remainder._terms[0];
            if (r.Coefficient % lead.Coefficient != 0 || !DimTerm.TryDivideFactors(r.Factors, lead.Factors, out DimFactor[] rest))
            {
                return false;
            }

            var step = new Dim([new DimTerm(rest, r.Coefficient / lead.Coefficient)]);
            quotient += step;
            remainder -= step * divisor;
        }

        return true;
    }

    /// <inheritdoc />
    public bool Equals(Dim? other)
    {
        if (other is null || other._terms.Length != _terms.Length)
        {
            return false;
        }

        for (int i = 0; i < _terms.Length; i++)
        {
            if (_terms[i].Coefficient != other._terms[i].Coefficient || DimTerm.CompareMonomials(_terms[i].Factors, other._terms[i].Factors) != 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is Dim d && Equals(d);

    /// <inheritdoc />
    public override int GetHashCode()
    {
        var h = default(HashCode);
        foreach (DimTerm t in _terms)
        {
            h.Add(t.Coefficient);
            foreach (DimFactor f in t.Factors)
            {
                h.Add(f.GetHashCode());
            }
        }

        return h.ToHashCode();
    }

    /// <summary>A total order on normal forms (used to sort factors); not the numeric order.</summary>
    public int CompareTo(Dim? other)
    {
        if (other is null)
        {
            return 1;
        }

        for (int i = 0; i < Math.Min(_terms.Length, other._terms.Length); i++)
        {
            int c = DimTerm.CompareMonomials(_terms[i].Factors, other._terms[i].Factors);
            if (c == 0)
            {
                c = _terms[i].Coefficient.CompareTo(other._terms[i].Coefficient);
            }

            if (c != 0)
            {
                return c;
            }
        }

        return _terms.Length.CompareTo(other._terms.Length);
    }

    /// <summary>
    /// The canonical text, which <see cref="Parse"/> reads back to an equal value: terms in a fixed order (the constant
    /// last), <c>2*S</c> for coefficients, <c>P*S</c> for products, <c>(S+1)/2</c> for quotients, <c>min(a, b)</c>.
    /// </summary>
    public override string ToString()
    {
        if (_terms.Length == 0)
        {
            return "0";
        }

        // Text is read by two grammars: tract's NNEF applies a prefix minus to everything that follows it, so a sum
        // starts with a positive term when it has one ("8-S", not "-S+8"), and an all-negative sum is "-(P+S)".
        int lead = Array.FindIndex(_terms, t => t.Coefficient > 0);
        if (lead < 0 && _terms.Length > 1)
        {
            return $"-({-this})";
        }

        IEnumerable<DimTerm> ordered = lead <= 0 ? _terms : [_terms[lead], .. _terms.Where((_, k) => k != lead)];
        var sb = new StringBuilder();
        int i = -1;
        foreach (DimTerm t in ordered)
        {
            i++;
            long c = t.Coefficient;
            if (c < 0)
            {
                sb.Append('-');
            }
            else if (i > 0)
            {
                sb.Append('+');
            }

            ulong magnitude = c < 0 ? (ulong)(-(c + 1)) + 1 : (ulong)c;
            if (t.Factors.Length == 0)
            {
                sb.Append(magnitude.ToString(CultureInfo.InvariantCulture));
                continue;
            }

            bool first = true;
            if (magnitude != 1)
            {
                sb.Append(magnitude.ToString(CultureInfo.InvariantCulture));
                first = false;
            }

            foreach (DimFactor f in t.Factors)
            {
                if (!first)
                {
                    sb.Append('*');
                }

                // A quotient after other factors needs parentheses: "P*S/2" would read as (P*S)/2.
                sb.Append(first || f is not QuotientFactor ? f.ToString() : $"({f})");
                first = false;
            }
        }

        return sb.ToString();
    }

    internal static Dim FromFactor(DimFactor factor) => new([new DimTerm([factor], 1)]);

    internal void CollectSymbols(HashSet<string> seen, List<string> order)
    {
        foreach (DimTerm t in _terms)
        {
            foreach (DimFactor f in t.Factors)
            {
                f.CollectSymbols(seen, order);
            }
        }
    }

    internal Dim Replace(IReadOnlyDictionary<string, Dim> symbols)
    {
        Dim sum = Zero;
        foreach (DimTerm t in _terms)
        {
            Dim p = Of(t.Coefficient);
            foreach (DimFactor f in t.Factors)
            {
                p *= f.Replace(symbols);
            }

            sum += p;
        }

        return sum;
    }

    // What can be proven about the sign of d when every symbol is at least its lower bound (0 by default).
    private static (bool AtLeastZero, bool AboveZero, bool AtMostZero, bool BelowZero) SignBounds(Dim d, IReadOnlyDictionary<string, long>? lowerBounds)
    {
        if (lowerBounds is not null)
        {
            // Shift each bounded symbol: S = S' + lb with S' >= 0, so the test below applies to S'.
            var shift = new Dictionary<string, Dim>(StringComparer.Ordinal);
            foreach (string s in d.Symbols)
            {
                if (lowerBounds.TryGetValue(s, out long lb) && lb != 0)
                {
                    shift[s] = Symbol(s) + lb;
                }
            }

            if (shift.Count > 0)
            {
                d = d.Replace(shift);
            }
        }

        long constant = d._terms.Where(t => t.Factors.Length == 0).Sum(t => t.Coefficient);
        DimTerm[] variable = [.. d._terms.Where(t => t.Factors.Length > 0)];
        if (variable.Length == 0)
        {
            return (constant >= 0, constant > 0, constant <= 0, constant < 0);
        }

        // With every factor non-negative, a sum of terms of one sign is bounded by its constant term.
        if (variable.Any(t => t.Factors.Any(f => !f.IsNonNegative)))
        {
            return (false, false, false, false);
        }

        bool allPositive = variable.All(t => t.Coefficient > 0);
        bool allNegative = variable.All(t => t.Coefficient < 0);
        return (allPositive && constant >= 0, allPositive && constant > 0, allNegative && constant <= 0, allNegative && constant < 0);
    }

    private static Dim Extremum(Dim a, Dim b, bool max, IReadOnlyDictionary<string, long>? lowerBounds)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        if (a == b)
        {
            return a;
        }

        if (ProvablyAtLeast(a, b, lowerBounds))
        {
            return max ? a : b;
        }

        if (ProvablyAtLeast(b, a, lowerBounds))
        {
            return max ? b : a;
        }

        // Commutative: the operands are sorted so that min(S, P) and min(P, S) are one value.
        (Dim x, Dim y) = a.CompareTo(b) <= 0 ? (a, b) : (b, a);
        return FromFactor(new ExtremumFactor(max, x, y));
    }
}
