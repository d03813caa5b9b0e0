using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// One operator call being evaluated: reads arguments the way tract's <c>ResolvedInvocation::get_named_arg</c> does
/// (a named argument first, then a positional one if every argument up to the parameter's position is positional,
/// then the declared default), converts them, and tracks the tensor inputs so the result can be marked constant when
/// tract would have folded the node (every input constant with fewer than 16 elements).
/// </summary>
internal sealed class Invocation
{
    private readonly OperatorSchema _schema;
    private readonly PreparedNode _prepared;
    private bool _allInputsFoldable = true;
    private int _inputCount;

    public Invocation(EvaluationContext context, Node node, PreparedNode prepared, Scope scope)
    {
        Context = context;
        Node = node;
        _schema = prepared.Schema!;
        _prepared = prepared;
        Scope = scope;
        OutputTypes = prepared.OutputTypes;
    }

    public EvaluationContext Context { get; }

    public Node Node { get; }

    public Scope Scope { get; }

    /// <summary>Types from <c>graph.quant</c> for the assigned identifiers (null where there is no entry).</summary>
    public DatumType?[] OutputTypes { get; }

    /// <summary>The <c>graph.quant</c> type of the first assigned identifier, if any.</summary>
    public DatumType? OutputQuant => OutputTypes.Length > 0 ? OutputTypes[0] : null;

    /// <summary>The statement's <see cref="PreparedNode.OperatorState"/>: an operator's plan kept from an earlier run.</summary>
    public object? State
    {
        get => _prepared.OperatorState;
        set => _prepared.OperatorState = value;
    }

    /// <summary>Every argument in writing order (positional ones first), as tract's <c>invocation.arguments</c>.</summary>
    public IReadOnlyList<Arg> ArgumentsInOrder => _prepared.ArgumentsInOrder;

    /// <summary>Resolves an argument by declared name (bound as the catalog says), or null when absent with no default.</summary>
    public Operand? Find(string name)
    {
        // Declared parameters were bound when the statement was prepared, literals resolved; other names as tract does.
        if (_prepared.TryParameter(name, out Arg? bound, out Operand? literal))
        {
            return literal ?? (bound is null ? null : Scope.Resolve(bound));
        }

        return _schema.Argument(Node, name) is Arg a ? Scope.Resolve(a) : null;
    }

    /// <summary>Resolves a required argument.</summary>
    public Operand Get(string name) =>
        Find(name) ?? throw new InvalidGraphException(null, $"expected argument '{name}'");

    /// <summary>The argument at <paramref name="index"/> in writing order (binary and unary operators read these).</summary>
    public Operand Positional(int index)
    {
        IReadOnlyList<Arg> args = _prepared.ArgumentsInOrder;
        return index < args.Count
            ? _prepared.PositionalLiterals[index] ?? Scope.Resolve(args[index])
            : throw new InvalidGraphException(null, $"expected at least {index + 1} argument(s)");
    }

    /// <summary>A tensor argument, noted as an input of the node.</summary>
    public TensorValue Tensor(string name) => Input(Coerce.ToTensor(Get(name), name));

    /// <summary>A tensor argument given by position.</summary>
    public TensorOperand PositionalTensor(int index)
    {
        TensorOperand t = Coerce.ToTensor(Positional(index), $"argument {index}");
        Input(t);
        return t;
    }

    /// <summary>Notes a tensor as an input for constant folding and returns its value.</summary>
    public TensorValue Input(TensorOperand t)
    {
        _inputCount++;
        if (!t.IsConst || t.Value.ElementCount >= 16 || t.Value.Type.Kind == DatumKind.BlockQuant)
        {
            _allInputsFoldable = false;
        }

        return t.Value;
    }

    public List<TensorValue> Tensors(string name) => Coerce.ToTensors(Get(name), name).Select(Input).ToList();

    public long Long(string name) => Coerce.ToLong(Get(name), name);

    public int Int(string name) => checked((int)Long(name));

    public int[] Ints(string name) => Coerce.ToInts(Get(name), name);

    public long[] Longs(string name) => Coerce.ToLongs(Get(name), name);

    public float Float(string name) => Coerce.ToFloat(Get(name), name);

    public bool Bool(string name) => Coerce.ToBool(Get(name), name);

    public string String(string name) => Coerce.ToStringValue(Get(name), name);

    public (int Before, int After)[] Pairs(string name) => Coerce.ToPairs(Get(name), name);

    /// <summary>Wraps an operator result, constant when tract would have folded the node.</summary>
    public TensorOperand Result(TensorValue value) => new(value, _inputCount > 0 && _allInputsFoldable);

    /// <summary>Wraps a result that tract always holds as a constant (variables, shapes).</summary>
    public static TensorOperand Constant(TensorValue value) => new(value, true);
}
