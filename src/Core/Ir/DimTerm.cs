using System.Globalization;

namespace TorchToNnef.Ir;

/// <summary>One term of a <see cref="Dim"/>: an integer coefficient times a product of factors (sorted, with repeats).</summary>
internal readonly record struct DimTerm(DimFactor[] Factors, long Coefficient)
{
    /// <summary>Order of monomials: lexicographic on the sorted factors, a prefix first; the constant (no factor) last.</summary>
    public static int CompareMonomials(DimFactor[] a, DimFactor[] b)
    {
        if (a.Length == 0 || b.Length == 0)
        {
            return a.Length == b.Length ? 0 : a.Length == 0 ? 1 : -1;
        }

        for (int i = 0; i < Math.Min(a.Length, b.Length); i++)
        {
            int c = a[i].CompareTo(b[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return a.Length.CompareTo(b.Length);
    }

    /// <summary>The sorted union (with repeats) of two sorted factor lists: the product of two monomials.</summary>
    public static DimFactor[] MergeFactors(DimFactor[] a, DimFactor[] b)
    {
        var merged = new DimFactor[a.Length + b.Length];
        int i = 0;
        int j = 0;
        int k = 0;
        while (i < a.Length || j < b.Length)
        {
            merged[k++] = j == b.Length || (i < a.Length && a[i].CompareTo(b[j]) <= 0) ? a[i++] : b[j++];
        }

        return merged;
    }

    /// <summary>Removes the factors of <paramref name="divisor"/> (with multiplicity) from <paramref name="factors"/>, if all are there.</summary>
    public static bool TryDivideFactors(DimFactor[] factors, DimFactor[] divisor, out DimFactor[] rest)
    {
        var remaining = new List<DimFactor>(factors);
        foreach (DimFactor d in divisor)
        {
            int at = remaining.FindIndex(f => f.CompareTo(d) == 0);
            if (at < 0)
            {
                rest = [];
                return false;
            }

            remaining.RemoveAt(at);
        }

        rest = [.. remaining];
        return true;
    }
}

/// <summary>A factor of a <see cref="Dim"/> term: a symbol, or an operation that does not distribute (quotient, min, max).</summary>
internal abstract class DimFactor : IComparable<DimFactor>
{
    /// <summary>Rank of the factor kind in the canonical order: symbols first.</summary>
    protected abstract int KindOrder { get; }

    /// <summary>True when the factor is never negative for non-negative symbols.</summary>
    public abstract bool IsNonNegative { get; }

    public abstract long Evaluate(Func<string, long> resolve);

    public abstract Dim Substitute(IReadOnlyDictionary<string, long> symbols);

    public abstract Dim Replace(IReadOnlyDictionary<string, Dim> symbols);

    public abstract void CollectSymbols(HashSet<string> seen, List<string> order);

    public int CompareTo(DimFactor? other)
    {
        if (other is null)
        {
            return 1;
        }

        int c = KindOrder.CompareTo(other.KindOrder);
        return c != 0 ? c : CompareSameKind(other);
    }

    public override bool Equals(object? obj) => obj is DimFactor f && CompareTo(f) == 0;

    public abstract override int GetHashCode();

    protected abstract int CompareSameKind(DimFactor other);
}

/// <summary>A named symbol.</summary>
internal sealed class SymbolFactor(string name) : DimFactor
{
    public string Name { get; } = name;

    public override bool IsNonNegative => true;

    protected override int KindOrder => 0;

    public override long Evaluate(Func<string, long> resolve) => resolve(Name);

    public override Dim Substitute(IReadOnlyDictionary<string, long> symbols) =>
        symbols.TryGetValue(Name, out long v) ? Dim.Of(v) : Dim.FromFactor(this);

    public override Dim Replace(IReadOnlyDictionary<string, Dim> symbols) =>
        symbols.TryGetValue(Name, out Dim? d) ? d : Dim.FromFactor(this);

    public override void CollectSymbols(HashSet<string> seen, List<string> order)
    {
        if (seen.Add(Name))
        {
            order.Add(Name);
        }
    }

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Name);

    public override string ToString() => Name;

    protected override int CompareSameKind(DimFactor other) => string.CompareOrdinal(Name, ((SymbolFactor)other).Name);
}

/// <summary><c>(numerator)/divisor</c> truncated toward zero, for a numerator whose coefficients the divisor does not all divide.</summary>
internal sealed class QuotientFactor(Dim numerator, long divisor) : DimFactor
{
    public Dim Numerator { get; } = numerator;

    public long Divisor { get; } = divisor;

    public override bool IsNonNegative => Numerator.Terms.All(t => t.Coefficient >= 0 && t.Factors.All(f => f.IsNonNegative));

    protected override int KindOrder => 1;

    public override long Evaluate(Func<string, long> resolve) => Numerator.Evaluate(resolve) / Divisor;

    public override Dim Substitute(IReadOnlyDictionary<string, long> symbols) => Numerator.Substitute(symbols) / Divisor;

    public override Dim Replace(IReadOnlyDictionary<string, Dim> symbols) => Numerator.Replace(symbols) / Divisor;

    public override void CollectSymbols(HashSet<string> seen, List<string> order) => Numerator.CollectSymbols(seen, order);

    public override int GetHashCode() => HashCode.Combine(Numerator, Divisor);

    public override string ToString()
    {
        string d = Divisor.ToString(CultureInfo.InvariantCulture);
        return Numerator.TryGetSymbol(out string s) ? $"{s}/{d}" : $"({Numerator})/{d}";
    }

    protected override int CompareSameKind(DimFactor other)
    {
        var q = (QuotientFactor)other;
        int c = Divisor.CompareTo(q.Divisor);
        return c != 0 ? c : Numerator.CompareTo(q.Numerator);
    }
}

/// <summary><c>min(a, b)</c> or <c>max(a, b)</c> whose order depends on the symbols; operands sorted canonically.</summary>
internal sealed class ExtremumFactor(bool isMax, Dim a, Dim b) : DimFactor
{
    public bool IsMax { get; } = isMax;

    public Dim A { get; } = a;

    public Dim B { get; } = b;

    public override bool IsNonNegative => IsMax
        ? Dim.ProvablyAtLeast(A, 0) || Dim.ProvablyAtLeast(B, 0)
        : Dim.ProvablyAtLeast(A, 0) && Dim.ProvablyAtLeast(B, 0);

    protected override int KindOrder => IsMax ? 3 : 2;

    public override long Evaluate(Func<string, long> resolve)
    {
        long x = A.Evaluate(resolve);
        long y = B.Evaluate(resolve);
        return IsMax ? Math.Max(x, y) : Math.Min(x, y);
    }

    public override Dim Substitute(IReadOnlyDictionary<string, long> symbols) => Combine(A.Substitute(symbols), B.Substitute(symbols));

    public override Dim Replace(IReadOnlyDictionary<string, Dim> symbols) => Combine(A.Replace(symbols), B.Replace(symbols));

    public override void CollectSymbols(HashSet<string> seen, List<string> order)
    {
        A.CollectSymbols(seen, order);
        B.CollectSymbols(seen, order);
    }

    public override int GetHashCode() => HashCode.Combine(IsMax, A, B);

    public override string ToString() => $"{(IsMax ? "max" : "min")}({A}, {B})";

    protected override int CompareSameKind(DimFactor other)
    {
        var e = (ExtremumFactor)other;
        int c = A.CompareTo(e.A);
        return c != 0 ? c : B.CompareTo(e.B);
    }

    private Dim Combine(Dim x, Dim y) => IsMax ? Dim.Max(x, y) : Dim.Min(x, y);
}
