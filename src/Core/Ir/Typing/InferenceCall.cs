using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>Computes the result of one operator invocation from static operands (see <see cref="OperatorSchema"/>).</summary>
internal delegate StaticOperand InferenceRule(InferenceCall call);

/// <summary>
/// One operator call being inferred, the static counterpart of the evaluator's invocation: arguments are bound through
/// the schema and converted the same way, tensor inputs are noted so the result is constant exactly when tract would
/// fold the node (every tensor input constant with fewer than 16 elements), and the <c>graph.quant</c> types of the
/// assigned identifiers are at hand.
/// </summary>
internal sealed class InferenceCall
{
    private readonly StaticScope _scope;
    private bool _allInputsFoldable = true;
    private int _inputCount;

    public InferenceCall(ShapeInference engine, Node node, OperatorSchema schema, StaticScope scope, DatumType?[] outputTypes)
    {
        Engine = engine;
        Node = node;
        Schema = schema;
        _scope = scope;
        OutputTypes = outputTypes;
    }

    public ShapeInference Engine { get; }

    public Graph Graph => Engine.Graph;

    public Node Node { get; }

    /// <summary>True when the node is a statement of the graph body (not of a fragment body).</summary>
    public bool InGraphBody => ReferenceEquals(_scope, Engine.RootScope);

    public OperatorSchema Schema { get; }

    public DatumType?[] OutputTypes { get; }

    /// <summary>The <c>graph.quant</c> type of the first assigned identifier, if any.</summary>
    public DatumType? OutputQuant => OutputTypes.Length > 0 ? OutputTypes[0] : null;

    /// <summary>Lower bounds of symbols from the graph's unconditional assertions.</summary>
    public IReadOnlyDictionary<string, long> LowerBounds => Engine.LowerBounds;

    /// <summary>Resolves an argument written in the invocation (an item of a tuple argument, say) in the caller's scope.</summary>
    public StaticOperand Resolve(Arg argument) => _scope.Resolve(argument);

    public StaticOperand? Find(string name) => Schema.Argument(Node, name) is Arg a ? _scope.Resolve(a) : null;

    public StaticOperand Get(string name) =>
        Find(name) ?? throw new InvalidGraphException(null, $"expected argument '{name}'");

    public StaticOperand Positional(int index)
    {
        return OperatorSchema.ArgumentAt(Node, index) is Arg a ? _scope.Resolve(a) : throw new InvalidGraphException(null, $"expected at least {index + 1} argument(s)");
    }

    public StaticTensor Tensor(string name) => Input(StaticCoerce.ToTensor(Get(name), name));

    public StaticTensor PositionalTensor(int index) => Input(StaticCoerce.ToTensor(Positional(index), $"argument {index}"));

    public List<StaticTensor> Tensors(string name) => [.. StaticCoerce.ToTensors(Get(name), name).Select(Input)];

    /// <summary>Notes a tensor as an input of the node for constant folding.</summary>
    public StaticTensor Input(StaticTensor t)
    {
        _inputCount++;
        if (!t.IsConst || t.Count is not < 16 || t.DType.Kind == DatumKind.BlockQuant)
        {
            _allInputsFoldable = false;
        }

        return t;
    }

    /// <summary>An integer argument known statically (possibly symbolic).</summary>
    public Dim Dim(string name) =>
        StaticCoerce.ToDim(Get(name), name) ?? throw Unknown(name);

    /// <summary>An integer argument that must be a known constant (an axis, a count).</summary>
    public long Long(string name) =>
        Dim(name).TryGetConstant(out long v) ? v : throw new InvalidGraphException(null, $"argument '{name}' must be a known integer, got {Dim(name)}");

    public int Int(string name) => checked((int)Long(name));

    /// <summary>A list of integers, each known statically (possibly symbolic).</summary>
    public Dim[] Dims(string name) => Dims(Get(name), name);

    public static Dim[] Dims(StaticOperand operand, string name)
    {
        Dim?[] items = StaticCoerce.ToDims(operand, name) ?? throw Unknown(name);
        return items.Any(i => i is null) ? throw Unknown(name) : [.. items.Select(i => i!)];
    }

    /// <summary>A list of integers that must be known constants (axes).</summary>
    public int[] Ints(string name) => Ints(Get(name), name);

    public static int[] Ints(StaticOperand operand, string name) =>
        [.. Dims(operand, name).Select(d => d.TryGetConstant(out long v) && v is >= int.MinValue and <= int.MaxValue
            ? (int)v
            : throw new InvalidGraphException(null, $"argument '{name}' must list known integers, got {d}"))];

    public double? Float(string name) => StaticCoerce.ToFloat(Get(name), name);

    public bool Bool(string name) => StaticCoerce.ToBool(Get(name), name) ?? throw Unknown(name);

    public string String(string name) => StaticCoerce.ToStringValue(Get(name), name) ?? throw Unknown(name);

    /// <summary>(before, after) pairs, each known.</summary>
    public (long Before, long After)[] Pairs(string name)
    {
        StaticOperand operand = Get(name);
        IReadOnlyList<StaticOperand> items = operand switch
        {
            StaticArray a => a.Items,
            StaticTuple t => t.Items,
            _ => throw new InvalidGraphException(null, $"argument '{name}' must be a list of pairs"),
        };
        return [.. items.Select(i => Ints(i, name) is [int b, int a] ? ((long)b, (long)a) : throw new InvalidGraphException(null, $"argument '{name}' must hold (before, after) pairs"))];
    }

    /// <summary>Wraps a result, constant when tract would have folded the node.</summary>
    public StaticTensor Result(DatumType type, IReadOnlyList<Dim> shape, Dim[]? values = null) =>
        Result(new TensorType(type, shape), values);

    public StaticTensor Result(TensorType type, Dim[]? values = null)
    {
        bool isConst = _inputCount > 0 && _allInputsFoldable;
        bool keep = values is not null && StaticCoerce.TracksValues(type.Type) && type.ElementCount.TryGetConstant(out long n) && n == values.Length && n <= StaticCoerce.MaxTrackedElements;
        return new StaticTensor(type, isConst, keep ? values : null);
    }

    /// <summary>A result tract always holds as a constant (variables, shapes).</summary>
    public static StaticTensor Constant(TensorType type, Dim[]? values = null) => new(type, true, values is not null && StaticCoerce.TracksValues(type.Type) ? values : null);

    private static InvalidGraphException Unknown(string name) =>
        new(null, $"argument '{name}' is not known statically (it must be a literal, a symbol or computed from shapes)");
}
