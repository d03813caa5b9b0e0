using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Identifiers visible to one body during inference: the graph's, or one fragment invocation's (its parameters only).
/// An identifier that is not a value is a symbol when the graph knows it as one (declared, or used in an input shape).
/// </summary>
internal sealed class StaticScope(ISet<string> symbols)
{
    private readonly Dictionary<string, StaticOperand> _values = new(StringComparer.Ordinal);

    public StaticOperand this[string name]
    {
        get => _values[name];
        set => _values[name] = value;
    }

    public bool TryGet(string name, out StaticOperand value) => _values.TryGetValue(name, out value!);

    public StaticOperand Resolve(Arg arg) => arg switch
    {
        ValueRef r => _values.TryGetValue(r.Name, out StaticOperand? v)
            ? v
            : symbols.Contains(r.Name)
                ? new StaticDim(Dim.Symbol(r.Name))
                : throw new InvalidGraphException(null, $"'{r.Name}' is neither a value in scope nor a symbol"),
        IntLiteral i => new StaticDim(Dim.Of(i.Value)),
        DimArg d => new StaticDim(d.Value),
        FloatLiteral f => new StaticFloat(f.Value),
        BoolLiteral b => new StaticBool(b.Value),
        StringLiteral s => new StaticString(s.Value),
        ArrayArg a => new StaticArray([.. a.Items.Select(Resolve)]),
        TupleArg t => new StaticTuple([.. t.Items.Select(Resolve)]),
        _ => throw new InvalidGraphException(null, $"unsupported argument '{arg}'"),
    };
}
