using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// The identifiers visible to one body: the graph's, or a fragment invocation's (which sees only its parameters).
/// Identifiers that are not bound resolve to declared symbols, as in tract's <c>RValue::resolve</c>.
/// </summary>
internal sealed class Scope
{
    private readonly Dictionary<string, Operand> _values;
    private readonly EvaluationContext _context;

    /// <summary>An empty scope.</summary>
    public Scope(EvaluationContext context)
        : this(context, new Dictionary<string, Operand>(StringComparer.Ordinal))
    {
    }

    /// <summary>A scope over <paramref name="values"/>, an empty ordinal table (an evaluator's graph scope, kept between runs).</summary>
    public Scope(EvaluationContext context, Dictionary<string, Operand> values)
    {
        _context = context;
        _values = values;
    }

    public Operand this[string name]
    {
        get => Resolve(Arg.Ref(name));
        set
        {
            // Each binding holds a reference on pooled storage (see TensorPool) and on a weight opened by this run (see
            // LiveWeights); rebinding releases the old value.
            _context.Bound(value);
            if (_values.TryGetValue(name, out Operand? old))
            {
                _context.Unbound(old);
            }

            _values[name] = value;
        }
    }

    public bool Contains(string name) => _values.ContainsKey(name);

    public void Remove(string name)
    {
        if (_values.Remove(name, out Operand? old))
        {
            _context.Unbound(old);
        }
    }

    /// <summary>Drops every binding (a fragment's scope once its results are bound by the caller).</summary>
    public void Clear()
    {
        foreach (Operand value in _values.Values)
        {
            _context.Unbound(value);
        }

        _values.Clear();
    }

    /// <summary>Resolves an argument: identifiers to their value or symbol, literals with NNEF typing.</summary>
    public Operand Resolve(Arg arg) => arg switch
    {
        ValueRef r => _values.TryGetValue(r.Name, out Operand? v)
            ? v
            : _context.Symbols.TryGetValue(r.Name, out long s)
                ? new DimOperand(s)
                : throw new InvalidGraphException(null, $"'{r.Name}' is neither a value in scope nor a bound symbol"),
        IntLiteral i => new DimOperand(i.Value),
        DimArg d => new DimOperand(Evaluate(d.Value)),
        FloatLiteral f => new ScalarOperand((float)f.Value),
        BoolLiteral b => new BoolOperand(b.Value),
        StringLiteral s => new StringOperand(s.Value),
        ArrayArg a => new ArrayOperand(a.Items.Select(Resolve).ToList()),
        TupleArg t => new TupleOperand(t.Items.Select(Resolve).ToList()),
        _ => throw new InvalidGraphException(null, $"unsupported argument '{arg}'"),
    };

    /// <summary>
    /// The value of an argument that names no identifier (a literal, or an array or tuple of literals), resolved as
    /// <see cref="Resolve"/> would in any scope; null for any other argument. Operands are immutable, so one resolution
    /// serves every run.
    /// </summary>
    public static Operand? Literal(Arg arg) => arg switch
    {
        IntLiteral i => new DimOperand(i.Value),
        FloatLiteral f => new ScalarOperand((float)f.Value),
        BoolLiteral b => new BoolOperand(b.Value),
        StringLiteral s => new StringOperand(s.Value),
        ArrayArg a => Literals(a.Items) is List<Operand> items ? new ArrayOperand(items) : null,
        TupleArg t => Literals(t.Items) is List<Operand> items ? new TupleOperand(items) : null,
        _ => null,
    };

    private static List<Operand>? Literals(IReadOnlyList<Arg> items)
    {
        var result = new List<Operand>(items.Count);
        foreach (Arg item in items)
        {
            if (Literal(item) is not Operand o)
            {
                return null;
            }

            result.Add(o);
        }

        return result;
    }

    private long Evaluate(Dim d)
    {
        try
        {
            return d.Evaluate(_context.Symbols);
        }
        catch (KeyNotFoundException e)
        {
            throw new InvalidGraphException(null, $"dimension '{d}' cannot be evaluated: {e.Message}");
        }
    }
}
