using TorchToNnef.Errors;

namespace TorchToNnef.Ir;

/// <summary>
/// Appends statements to a graph body or a fragment body and types each one as it is added, so a shape mistake is an
/// error when the statement is built, naming it, not when tract loads the file. Operators are checked against the
/// <see cref="OperatorCatalog"/> (parameter names, arity); the registry an operator needs is activated on first use;
/// value names are generated unique (from a hint, or the operator name). Helpers cover the operators exporters emit;
/// <see cref="Call"/> reaches any operator or fragment. Axes may be negative (counted from the end): the helpers
/// write them non-negative, as tract wants them.
/// </summary>
public abstract class BodyBuilder
{
    private readonly ShapeInference _inference;

    private protected BodyBuilder(Graph root, Graph body, NameScope names)
    {
        Root = root;
        Body = body;
        Names = names;
        _inference = new ShapeInference(body);
    }

    /// <summary>The graph being built (registries, fragments and symbols live here).</summary>
    private protected Graph Root { get; }

    /// <summary>The graph whose <see cref="Graph.Nodes"/> receive this builder's statements.</summary>
    private protected Graph Body { get; }

    private protected NameScope Names { get; }

    private protected ShapeInference Inference => _inference;

    /// <summary>The type of a value of this body.</summary>
    /// <exception cref="KeyNotFoundException">No such value.</exception>
    public TensorType TypeOf(string value) => _inference.TypeOf(value);

    /// <summary>The integer elements of a value when they are known statically (shapes and arithmetic on them), else null.</summary>
    public IReadOnlyList<Dim>? KnownValues(GraphValue value)
    {
        ArgumentNullException.ThrowIfNull(value);
        return _inference.Types.KnownValuesAt(value.Name);
    }

    /// <summary>
    /// Appends <c>op(positional..., name = value...)</c> and returns its results, typed. The operator is a document
    /// fragment or a catalog operator (its registry is activated); named arguments must be declared parameters.
    /// </summary>
    /// <param name="op">Operator or fragment name.</param>
    /// <param name="positional">Positional arguments.</param>
    /// <param name="named">Named arguments, in writing order.</param>
    /// <param name="name">Hint for the result names (default: the operator name).</param>
    /// <param name="results">Number of results, for operators whose count depends on their input (<c>unstack</c>).</param>
    /// <exception cref="InvalidGraphException">Unknown parameter, missing argument, or a type or shape conflict, naming the statement.</exception>
    /// <exception cref="UnsupportedFeatureException">No registry defines the operator.</exception>
    public IReadOnlyList<GraphValue> Call(string op, IEnumerable<Arg> positional, IEnumerable<KeyValuePair<string, Arg>>? named = null, string? name = null, int? results = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(op);
        ArgumentNullException.ThrowIfNull(positional);
        OperatorSchema schema = Resolve(op);
        List<Arg> inputs = [.. positional];
        List<KeyValuePair<string, Arg>> attributes = named is null ? [] : [.. named];
        CheckArguments(schema, inputs, attributes);

        int count = results ?? schema.ResultCount;
        if (count < 1)
        {
            throw new InvalidGraphException(null, $"'{op}' returns a number of values that depends on its input: pass 'results'");
        }

        string hint = name ?? (op.StartsWith("tract_core_", StringComparison.Ordinal) ? op["tract_core_".Length..] : op);
        IReadOnlyList<string> resultNames = schema.Body is Fragment f && f.Results.Count == count && count > 1
            ? [.. f.Results.Select(r => Names.Fresh($"{hint}_{r.Name}"))]
            : count == 1 ? [Names.Fresh(hint)] : [.. Enumerable.Range(0, count).Select(i => Names.Fresh($"{hint}_{i}"))];
        var node = new Node(op, resultNames);
        node.Inputs.AddRange(inputs);
        foreach ((string key, Arg value) in attributes)
        {
            node.With(key, value);
        }

        return Emit(node);
    }

    /// <summary><see cref="Call"/> for an operator with one result.</summary>
    public GraphValue Apply(string op, IEnumerable<Arg> positional, IEnumerable<KeyValuePair<string, Arg>>? named = null, string? name = null) =>
        Call(op, positional, named, name)[0];

    /// <summary>A one-input element-wise operator (<c>exp</c>, <c>neg</c>, <c>sigmoid</c>, ...).</summary>
    public GraphValue Unary(string op, GraphValue x, string? name = null) => Apply(op, [x], null, name);

    /// <summary>
    /// A binary operator (<c>add</c>, <c>mul</c>, <c>lt</c>, ...) with tract's operand typing and broadcasting. The
    /// operands must have the same rank unless one is a scalar: tract aligns ranks on the left (a lower-rank operand
    /// gets trailing unit axes), unlike numpy, so a rank mismatch is almost always a mistake; align explicitly with
    /// <see cref="AlignRank"/> (numpy's right alignment) or use <see cref="Call"/>.
    /// </summary>
    /// <exception cref="InvalidGraphException">Ranks differ, or the operands do not broadcast.</exception>
    public GraphValue Binary(string op, Arg a, Arg b, string? name = null)
    {
        if (RankOf(a) is int ra && RankOf(b) is int rb && ra != rb && ra > 0 && rb > 0)
        {
            throw new InvalidGraphException(
                null,
                $"'{op}' of {a} (rank {ra}) and {b} (rank {rb}): tract would append unit axes to the lower rank; align the ranks explicitly (AlignRank gives numpy's right alignment)");
        }

        return Apply(op, [a, b], null, name);
    }

    /// <summary>
    /// <paramref name="x"/> with leading unit axes up to <paramref name="rank"/> (numpy's right-aligned broadcasting,
    /// as ONNX and PyTorch broadcast); <paramref name="x"/> itself when its rank is already that.
    /// </summary>
    public GraphValue AlignRank(GraphValue x, int rank, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        if (x.Rank > rank)
        {
            throw new InvalidGraphException(x.Name, $"cannot align {x} to the lower rank {rank}");
        }

        return x.Rank == rank ? x : Apply("unsqueeze", [x], [new("axes", Arg.Ints(Enumerable.Range(0, rank - x.Rank).Select(i => (long)i)))], name ?? x.Name + "_aligned");
    }

    /// <summary><c>a + b</c>.</summary>
    public GraphValue Add(Arg a, Arg b, string? name = null) => Binary("add", a, b, name);

    /// <summary><c>a - b</c>.</summary>
    public GraphValue Sub(Arg a, Arg b, string? name = null) => Binary("sub", a, b, name);

    /// <summary><c>a * b</c>.</summary>
    public GraphValue Mul(Arg a, Arg b, string? name = null) => Binary("mul", a, b, name);

    /// <summary><c>a / b</c>.</summary>
    public GraphValue Div(Arg a, Arg b, string? name = null) => Binary("div", a, b, name);

    /// <summary><c>-x</c>.</summary>
    public GraphValue Neg(GraphValue x, string? name = null) => Unary("neg", x, name);

    /// <summary><c>exp(x)</c>.</summary>
    public GraphValue Exp(GraphValue x, string? name = null) => Unary("exp", x, name);

    /// <summary><c>1 / sqrt(x)</c>.</summary>
    public GraphValue Rsqrt(GraphValue x, string? name = null) => Unary("rsqrt", x, name);

    /// <summary><c>sigmoid(x)</c>.</summary>
    public GraphValue Sigmoid(GraphValue x, string? name = null) => Unary("sigmoid", x, name);

    /// <summary><c>select(condition, t, f)</c>.</summary>
    public GraphValue Select(Arg condition, Arg t, Arg f, string? name = null) => Apply("select", [condition, t, f], null, name);

    /// <summary><c>matmul(a, b)</c>: last two axes multiplied, leading axes broadcast, ranks equal.</summary>
    public GraphValue MatMul(GraphValue a, GraphValue b, bool transposeA = false, bool transposeB = false, string? name = null) =>
        Apply("matmul", [a, b], [new("transposeA", Arg.Bool(transposeA)), new("transposeB", Arg.Bool(transposeB))], name);

    /// <summary>NNEF <c>linear(input, filter, bias)</c>: <c>input · filterᵀ + bias</c> (filter rank-aligned with the input).</summary>
    public GraphValue Linear(GraphValue input, GraphValue filter, Arg? bias = null, string? name = null) =>
        Apply("linear", [input, filter, bias ?? Arg.Float(0.0)], null, name);

    /// <summary><c>tract_core_einsum([inputs], expr, acc)</c>.</summary>
    public GraphValue Einsum(string expr, DatumType acc, IReadOnlyList<GraphValue> inputs, string? name = null) =>
        Apply("tract_core_einsum", [], [new("inputs", Arg.Array(inputs.Select(i => i.ToArg()))), new("expr", Arg.String(expr)), new("acc", Arg.String(TypeName(acc)))], name);

    /// <summary>
    /// <c>reshape(x, shape)</c>: dimensions may be symbolic; <c>0</c> keeps the input dimension and one <c>-1</c> is
    /// inferred, as tract (and ONNX) read them.
    /// </summary>
    public GraphValue Reshape(GraphValue x, IReadOnlyList<Dim> shape, string? name = null) =>
        Apply("reshape", [x], [new("shape", Arg.Dims(shape))], name);

    /// <summary><c>transpose(x, axes)</c> (a permutation; negative axes allowed).</summary>
    public GraphValue Transpose(GraphValue x, IReadOnlyList<int> axes, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Apply("transpose", [x], [new("axes", Axes(axes, x.Rank))], name);
    }

    /// <summary><c>squeeze(x, axes)</c>: removes axes of size 1 (negative axes allowed).</summary>
    public GraphValue Squeeze(GraphValue x, IReadOnlyList<int> axes, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Apply("squeeze", [x], [new("axes", Axes(axes, x.Rank))], name);
    }

    /// <summary><c>unsqueeze(x, axes)</c>: inserts axes of size 1 (negative axes count from the end of the result).</summary>
    public GraphValue Unsqueeze(GraphValue x, IReadOnlyList<int> axes, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(axes);
        return Apply("unsqueeze", [x], [new("axes", Axes(axes, x.Rank + axes.Count))], name);
    }

    /// <summary><c>concat([values], axis)</c> (negative axis allowed).</summary>
    public GraphValue Concat(IReadOnlyList<GraphValue> values, int axis, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Count == 0)
        {
            throw new ArgumentException("concat needs at least one value.", nameof(values));
        }

        return Apply("concat", [Arg.Array(values.Select(v => v.ToArg()))], [new("axis", Arg.Int(Axis(axis, values[0].Rank)))], name);
    }

    /// <summary>
    /// <c>slice(x, axes, begin, end, stride)</c>: on each listed axis, elements <c>[begin, end)</c> every
    /// <c>stride</c>-th. Bounds may be symbolic; write them non-negative and within the axis (tract versions differ on
    /// negative ones).
    /// </summary>
    public GraphValue Slice(GraphValue x, IReadOnlyList<int> axes, IReadOnlyList<Dim> begin, IReadOnlyList<Dim> end, IReadOnlyList<long>? stride = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        List<KeyValuePair<string, Arg>> named = [new("axes", Axes(axes, x.Rank)), new("begin", Arg.Dims(begin)), new("end", Arg.Dims(end))];
        if (stride is not null)
        {
            named.Add(new("stride", Arg.Ints(stride)));
        }

        return Apply("slice", [x], named, name);
    }

    /// <summary><c>tile(x, repeats)</c> (repeats may be symbolic).</summary>
    public GraphValue Tile(GraphValue x, IReadOnlyList<Dim> repeats, string? name = null) =>
        Apply("tile", [x], [new("repeats", Arg.Dims(repeats))], name);

    /// <summary><c>tract_core_broadcast(x, shape)</c>: numpy broadcasting to <paramref name="shape"/>.</summary>
    public GraphValue Broadcast(GraphValue x, IReadOnlyList<Dim> shape, string? name = null) =>
        Apply("tract_core_broadcast", [x], [new("shape", Arg.Dims(shape))], name);

    /// <summary>
    /// <c>tract_core_gather(table, indices, axis)</c>: rows of <paramref name="table"/>; <paramref name="datumType"/>
    /// is required for a Q4_0 table (the float type of the result).
    /// </summary>
    public GraphValue Gather(GraphValue table, GraphValue indices, int axis = 0, DatumType? datumType = null, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(table);
        List<KeyValuePair<string, Arg>> named = [new("axis", Arg.Int(Axis(axis, table.Rank)))];
        if (datumType is DatumType dt)
        {
            named.Add(new("datum_type", Arg.String(TypeName(dt))));
        }

        return Apply("tract_core_gather", [table, indices], named, name);
    }

    /// <summary><c>tract_core_cast(x, to)</c>.</summary>
    public GraphValue Cast(GraphValue x, DatumType to, string? name = null) =>
        Apply("tract_core_cast", [x], [new("to", Arg.String(TypeName(to)))], name);

    /// <summary><c>tract_core_shape_of(x)</c>: the shape as a TDim vector (its elements are known statically).</summary>
    public GraphValue ShapeOf(GraphValue x, string? name = null) => Apply("tract_core_shape_of", [x], null, name);

    /// <summary><c>tract_core_range(start, end, step)</c>.</summary>
    public GraphValue Range(Arg start, Arg end, Arg step, string? name = null) => Apply("tract_core_range", [start, end], [new("step", step)], name);

    /// <summary><c>softmax(x, axes)</c> (negative axes allowed).</summary>
    public GraphValue Softmax(GraphValue x, IReadOnlyList<int> axes, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Apply("softmax", [x], [new("axes", Axes(axes, x.Rank))], name);
    }

    /// <summary>A reduction keeping the reduced axes with size 1: <c>sum_reduce</c>, <c>mean_reduce</c>, <c>max_reduce</c>, ...</summary>
    public GraphValue Reduce(string op, GraphValue x, IReadOnlyList<int> axes, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Apply(op, [x], [new("axes", Axes(axes, x.Rank))], name);
    }

    /// <summary><c>tract_core_trilu(x, k, upper)</c>: zeroes below (upper) or above the k-th diagonal of the last two axes.</summary>
    public GraphValue Trilu(GraphValue x, long k, bool upper, string? name = null) =>
        Apply("tract_core_trilu", [x], [new("k", Arg.Int(k)), new("upper", Arg.Bool(upper))], name);

    /// <summary>The name tract parses for a type (<c>f32</c>, <c>tdim</c>, <c>QU8(Z:0 S:0.5)</c>).</summary>
    public static string TypeName(DatumType type) =>
        type.IsQuantized ? type.ToString() : type.Kind switch
        {
            DatumKind.BlockQuant => throw new ArgumentException("Q4_0 is not a type an operator can produce.", nameof(type)),
            DatumKind.TDim => "tdim",
            DatumKind.Bool => "bool",
            DatumKind.String => "string",
            _ => type.Kind.ToString().ToLowerInvariant(),
        };

    private int? RankOf(Arg a) => a switch
    {
        ValueRef r when Inference.Types.TryGetType(r.Name, out TensorType? t) => t.Rank,
        IntLiteral or FloatLiteral or BoolLiteral or DimArg => 0,
        _ => null,
    };

    /// <summary>Appends a node to the body and types it; on failure the body is left as it was.</summary>
    private protected IReadOnlyList<GraphValue> Emit(Node node)
    {
        Body.Nodes.Add(node);
        IReadOnlyList<TensorType> types;
        try
        {
            types = _inference.Add(node);
        }
        catch
        {
            Body.Nodes.RemoveAt(Body.Nodes.Count - 1);
            throw;
        }

        var values = new GraphValue[node.Outputs.Count];
        for (int i = 0; i < values.Length; i++)
        {
            values[i] = new GraphValue(this, node.Outputs[i], types[i]);
        }

        return values;
    }

    /// <summary>The schema of <paramref name="op"/>, activating the registry it needs in the graph.</summary>
    private protected OperatorSchema Resolve(string op)
    {
        for (int i = Root.Fragments.Count - 1; i >= 0; i--)
        {
            Fragment f = Root.Fragments[i];
            if (f.Name == op && f.Body is not null)
            {
                return OperatorSchema.FromFragment(f);
            }
        }

        OperatorSchema schema = OperatorCatalog.Resolve(op, Root.Registries) ?? OperatorCatalog.FindAny(op)
            ?? throw new UnsupportedFeatureException(null, null, $"unknown operator '{op}' (not in the catalog, not a fragment of this graph)");
        ActivateRegistry(schema.Registry);
        return schema;
    }

    private protected virtual void ActivateRegistry(string registry)
    {
        if (registry != OperatorCatalog.NnefRegistry && registry != OperatorSchema.DocumentRegistry && !Root.Registries.Contains(registry))
        {
            Root.Registries.Add(registry);
        }
    }

    // Loops rather than sets: this runs for every statement built, over a handful of parameters.
    private static void CheckArguments(OperatorSchema schema, List<Arg> positional, List<KeyValuePair<string, Arg>> named)
    {
        IReadOnlyList<OperatorParameter> parameters = schema.Parameters;
        int declared = 0;
        for (int i = 0; i < parameters.Count; i++)
        {
            declared += parameters[i].NamedOnly ? 0 : 1;
        }

        if (positional.Count > declared)
        {
            throw new InvalidGraphException(null, $"'{schema.Name}' takes {declared} positional argument(s), got {positional.Count}");
        }

        for (int i = 0; i < named.Count; i++)
        {
            string key = named[i].Key;
            if (schema.Parameter(key) is null)
            {
                throw new InvalidGraphException(null, $"'{schema.Name}' has no parameter '{key}' ({schema})");
            }

            if (IsGiven(schema, positional.Count, named, i, key))
            {
                throw new InvalidGraphException(null, $"'{schema.Name}': argument '{key}' is given twice");
            }
        }

        if (schema.Form is OperatorForm.Binary or OperatorForm.UnitElementWise && named.Count > 0)
        {
            throw new InvalidGraphException(null, $"'{schema.Name}' reads its operands by position: pass them positionally");
        }

        for (int i = 0; i < parameters.Count; i++)
        {
            OperatorParameter p = parameters[i];
            if (p.IsRequired && !IsGiven(schema, positional.Count, named, named.Count, p.Name))
            {
                throw new InvalidGraphException(null, $"'{schema.Name}' needs argument '{p.Name}' ({schema})");
            }
        }
    }

    // True when `name` is bound by one of the first `positionalCount` positional arguments or by one of the first
    // `namedCount` named ones.
    private static bool IsGiven(OperatorSchema schema, int positionalCount, List<KeyValuePair<string, Arg>> named, int namedCount, string name)
    {
        int position = 0;
        for (int k = 0; k < schema.Parameters.Count; k++)
        {
            OperatorParameter p = schema.Parameters[k];
            if (p.NamedOnly)
            {
                continue;
            }

            if (position++ >= positionalCount)
            {
                break;
            }

            if (string.Equals(p.Name, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        for (int i = 0; i < namedCount; i++)
        {
            if (string.Equals(named[i].Key, name, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    private static Arg Axes(IReadOnlyList<int> axes, int rank)
    {
        ArgumentNullException.ThrowIfNull(axes);
        return Arg.Ints(axes.Select(a => (long)Axis(a, rank)));
    }

    private static int Axis(int axis, int rank) => axis < 0 ? axis + rank : axis;
}
