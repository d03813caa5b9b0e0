using System.Globalization;

namespace TorchToNnef.Ir;

/// <summary>
/// An argument of a node, as NNEF writes it: a literal, a reference to a value (or a symbol), or an array or tuple
/// of arguments. NNEF does not separate tensor inputs from attributes; which arguments are tensors is decided by the
/// operator. Nested invocations are lowered by loaders into separate nodes, so an argument never contains a call.
/// </summary>
public abstract record Arg
{
    /// <summary>Reference to the value (or symbol) named <paramref name="name"/>.</summary>
    public static Arg Ref(string name) => new ValueRef(name);

    /// <summary>Integer literal.</summary>
    public static Arg Int(long value) => new IntLiteral(value);

    /// <summary>Float literal (tract reads float literals as f32).</summary>
    public static Arg Float(double value) => new FloatLiteral(value);

    /// <summary>Boolean literal.</summary>
    public static Arg Bool(bool value) => new BoolLiteral(value);

    /// <summary>String literal (also used for dtype names such as <c>'f32'</c>).</summary>
    public static Arg String(string value) => new StringLiteral(value);

    /// <summary>Array of arguments.</summary>
    public static Arg Array(params IEnumerable<Arg> items) => new ArrayArg([.. items]);

    /// <summary>Array of integer literals.</summary>
    public static Arg Ints(params IEnumerable<long> items) => new ArrayArg([.. items.Select(Int)]);

    /// <summary>Tuple of arguments.</summary>
    public static Arg Tuple(params IEnumerable<Arg> items) => new TupleArg([.. items]);

    /// <summary>
    /// A dimension in its one canonical argument form, as tract writes a TDim: an integer literal when known, a
    /// reference to the symbol when it is one symbol, else a <see cref="DimArg"/> expression (written infix,
    /// <c>S + P</c>).
    /// </summary>
    public static Arg Dim(Dim value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.TryGetConstant(out long c))
        {
            return Int(c);
        }

        return value.TryGetSymbol(out string s) ? Ref(s) : new DimArg(value);
    }

    /// <summary>Array of dimensions, each in its canonical form (see <see cref="Dim(Ir.Dim)"/>).</summary>
    public static Arg Dims(params IEnumerable<Dim> items) => new ArrayArg([.. items.Select(Dim)]);

    /// <summary>Names of all values referenced by this argument, depth first.</summary>
    public virtual IEnumerable<string> References => [];
}

/// <summary>Reference to a value or a symbolic dimension by identifier.</summary>
public sealed record ValueRef(string Name) : Arg
{
    /// <inheritdoc />
    public override IEnumerable<string> References => [Name];

    /// <inheritdoc />
    public override string ToString() => Name;
}

/// <summary>Integer literal.</summary>
public sealed record IntLiteral(long Value) : Arg
{
    /// <inheritdoc />
    public override string ToString() => Value.ToString(CultureInfo.InvariantCulture);
}

/// <summary>Float literal; kept as a double so a literal read from text round-trips exactly.</summary>
public sealed record FloatLiteral(double Value) : Arg
{
    /// <inheritdoc />
    public override string ToString() => Value.ToString("R", CultureInfo.InvariantCulture);
}

/// <summary>Boolean literal.</summary>
public sealed record BoolLiteral(bool Value) : Arg
{
    /// <inheritdoc />
    public override string ToString() => Value ? "true" : "false";
}

/// <summary>String literal.</summary>
public sealed record StringLiteral(string Value) : Arg
{
    /// <inheritdoc />
    public override string ToString() => $"'{Value}'";
}

/// <summary>
/// A dimension expression over symbols (<c>S+P</c>, <c>2*S</c>, <c>(S+1)/2</c>) used as an argument: a TDim constant to
/// tract. Built by <see cref="Arg.Dim"/>, which keeps constants and single symbols in their literal and reference forms
/// so that each dimension has one argument form.
/// </summary>
public sealed record DimArg : Arg
{
    /// <summary>Wraps an expression that is neither a constant nor a single symbol (use <see cref="Arg.Dim"/>).</summary>
    /// <exception cref="ArgumentException">The value is a constant or a single symbol.</exception>
    public DimArg(Dim value)
    {
        ArgumentNullException.ThrowIfNull(value);
        if (value.IsConstant || value.IsSymbol)
        {
            throw new ArgumentException($"'{value}' is written as a literal or a symbol reference, not as an expression.", nameof(value));
        }

        Value = value;
    }

    /// <summary>The expression.</summary>
    public Dim Value { get; }

    /// <summary>The symbols the expression reads.</summary>
    public override IEnumerable<string> References => Value.Symbols;

    /// <inheritdoc />
    public override string ToString() => Value.ToString();
}

/// <summary>Array <c>[a, b]</c>.</summary>
public sealed record ArrayArg(IReadOnlyList<Arg> Items) : Arg
{
    /// <inheritdoc />
    public override IEnumerable<string> References => Items.SelectMany(i => i.References);

    /// <inheritdoc />
    public bool Equals(ArrayArg? other) => other is not null && Items.SequenceEqual(other.Items);

    /// <inheritdoc />
    public override int GetHashCode() => Items.Aggregate(17, (h, i) => HashCode.Combine(h, i));

    /// <inheritdoc />
    public override string ToString() => "[" + string.Join(", ", Items) + "]";
}

/// <summary>Tuple <c>(a, b)</c>.</summary>
public sealed record TupleArg(IReadOnlyList<Arg> Items) : Arg
{
    /// <inheritdoc />
    public override IEnumerable<string> References => Items.SelectMany(i => i.References);

    /// <inheritdoc />
    public bool Equals(TupleArg? other) => other is not null && Items.SequenceEqual(other.Items);

    /// <inheritdoc />
    public override int GetHashCode() => Items.Aggregate(19, (h, i) => HashCode.Combine(h, i));

    /// <inheritdoc />
    public override string ToString() => "(" + string.Join(", ", Items) + ")";
}
