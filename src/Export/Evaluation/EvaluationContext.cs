using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation;

/// <summary>
/// State of one run: the graph, bound symbols, fed inputs, and the resolution of operator names (tract's
/// <c>wire_invocation</c>: a document fragment with a body wins, then the activated registries, <c>tract_core</c>
/// before <c>tract_nnef</c>).
/// </summary>
internal sealed class EvaluationContext
{
    private readonly List<Scope> _finishedFragments = [];
    private readonly PreparedGraph _prepared;
    private int _depth;

    public EvaluationContext(Graph graph, EvaluationOptions options, Dictionary<string, long> symbols, Dictionary<string, TensorValue> inputs, TensorPool pool, WeightCache weights, PreparedGraph prepared)
    {
        Graph = graph;
        Options = options;
        Symbols = symbols;
        Inputs = inputs;
        Pool = pool;
        Weights = weights;
        _prepared = prepared;
        ParallelOptions = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism > 0 ? options.MaxDegreeOfParallelism : -1, CancellationToken = options.Cancellation };
    }

    public Graph Graph { get; }

    public EvaluationOptions Options { get; }

    public Dictionary<string, long> Symbols { get; }

    /// <summary>Fed inputs keyed by the identifier their external statement defines.</summary>
    public Dictionary<string, TensorValue> Inputs { get; }

    public ParallelOptions ParallelOptions { get; }

    /// <summary>Storage reuse for this run's intermediate values.</summary>
    public TensorPool Pool { get; }

    /// <summary>The evaluator's weights, opened once and kept.</summary>
    public WeightCache Weights { get; }

    /// <summary>Runs <paramref name="body"/> in <paramref name="scope"/>; <paramref name="release"/> drops values after their last use.</summary>
    public void RunBody(IReadOnlyList<Node> body, Scope scope, string path, IReadOnlyDictionary<int, List<string>>? release = null)
    {
        for (int i = 0; i < body.Count; i++)
        {
            Options.Cancellation.ThrowIfCancellationRequested();
            Node node = body[i];
            string where = path.Length == 0 ? node.Name : $"{path} > {node.Name}";
            try
            {
                RunNode(node, scope, path, where);
            }
            catch (TorchToNnefException e) when (e.TensorName is null || !e.TensorName.StartsWith(where, StringComparison.Ordinal))
            {
                throw Located(e, where, node);
            }
            catch (Exception e) when (e is ArithmeticException or ArgumentException or InvalidOperationException or IndexOutOfRangeException or InvalidCastException)
            {
                throw new InvalidGraphException(where, $"{node.Op}: {e.Message}");
            }

            if (release is not null && release.TryGetValue(i, out List<string>? dead))
            {
                foreach (string name in dead)
                {
                    scope.Remove(name);
                }
            }

            if (path.Length == 0 && Options.Progress is { } progress)
            {
                progress.Report(new EvaluationProgress(i + 1, body.Count, node.Name));
            }
        }
    }

    private void RunNode(Node node, Scope scope, string path, string where)
    {
        PreparedNode prepared = _prepared[node];
        DatumType?[] quant = prepared.OutputTypes;
        Operand result = prepared.Schema is null ? Alias(node, scope, quant) : Invoke(node, prepared, scope, path);
        List<TensorOperand> values;
        if (node.Outputs.Count == 1)
        {
            values = [Coerce.ToTensor(result, node.Name)];
        }
        else
        {
            values = Coerce.ToTensors(result, node.Name);
            if (values.Count != node.Outputs.Count)
            {
                throw new InvalidGraphException(null, $"assignment of {node.Outputs.Count} identifiers received {values.Count} value(s)");
            }
        }

        for (int k = 0; k < values.Count; k++)
        {
            // wire_body: a graph.quant type on an assigned identifier adds a final cast (TDim through f32).
            if (quant[k] is DatumType q && values[k].Value.Type != q)
            {
                TensorValue v = values[k].Value;
                if (v.Type.Kind == DatumKind.TDim)
                {
                    v = Cast.To(v, DatumType.F32);
                }

                values[k] = new TensorOperand(Cast.To(v, q), values[k].IsConst && v.ElementCount < 16);
            }

            scope[node.Outputs[k]] = values[k];
            if (Options.ValueComputed is { } observer)
            {
                // The observer may keep the value: its storage leaves the pool rather than being reused under it.
                Pool.Forget(values[k]);
                observer(ValuePath.Of(path, node.Outputs[k]), values[k].Value);
            }
        }

        // Fragment scopes of this node are released only now that the caller holds their results.
        if (_finishedFragments.Count > 0)
        {
            Scope[] finished = [.. _finishedFragments];
            _finishedFragments.Clear();
            foreach (Scope inner in finished)
            {
                inner.Clear();
            }
        }
    }

    private Operand Alias(Node node, Scope scope, DatumType?[] quant)
    {
        if (node.Inputs.Count != 1)
        {
            throw new InvalidGraphException(null, "a plain assignment takes exactly one value");
        }

        Operand value = scope.Resolve(node.Inputs[0]);
        if (node.Inputs[0] is ValueRef && value is TensorOperand t && quant.Length > 0 && quant[0] is DatumType q && t.Value.Type != q)
        {
            if (t.Value.Type.Unquantized != q.Unquantized)
            {
                throw new InvalidGraphException(null, $"mismatched types: graph.quant expects {q}, got {t.Value.Type}");
            }

            return new TensorOperand(Cast.To(t.Value, q), t.IsConst);
        }

        return value;
    }

    /// <summary>Evaluates one invocation in <paramref name="scope"/>: the catalog (or a document fragment) says what the operator is.</summary>
    private Operand Invoke(Node node, PreparedNode prepared, Scope scope, string path)
    {
        if (prepared.Implementation is not OpImpl implementation)
        {
            return InvokeFragment(node, prepared, scope, path);
        }

        var invocation = new Invocation(this, node, prepared, scope);
        if (Options.OperatorTimed is not { } timed)
        {
            return implementation(invocation);
        }

        long start = System.Diagnostics.Stopwatch.GetTimestamp();
        Operand result = implementation(invocation);
        timed(ValuePath.Of(path, node.Name), node.Op, System.Diagnostics.Stopwatch.GetElapsedTime(start));
        return result;
    }

    private TupleOperand InvokeFragment(Node node, PreparedNode prepared, Scope callerScope, string path)
    {
        OperatorSchema schema = prepared.Schema!;
        Fragment fragment = schema.Body!;
        if (_depth >= Options.MaxFragmentDepth)
        {
            throw new InvalidGraphException(null, $"fragments nest deeper than {Options.MaxFragmentDepth} levels (recursive fragment '{fragment.Name}'?)");
        }

        var call = new Invocation(this, node, prepared, callerScope);
        var inner = new Scope(this);
        foreach (OperatorParameter p in schema.Parameters)
        {
            inner[p.Name] = call.Find(p.Name) ?? throw new InvalidGraphException(null, $"fragment '{fragment.Name}' expects argument '{p.Name}'");
        }

        _depth++;
        try
        {
            RunBody(fragment.Body!, inner, ValuePath.FragmentScope(path, node, fragment.Name));
        }
        finally
        {
            _depth--;
        }

        var results = new TupleOperand(fragment.Results.Select(r => inner.Contains(r.Name)
            ? inner[r.Name]
            : throw new InvalidGraphException(null, $"fragment '{fragment.Name}' does not assign its result '{r.Name}'")).ToList());
        _finishedFragments.Add(inner);
        return results;
    }

    private static TorchToNnefException Located(TorchToNnefException e, string where, Node node)
    {
        string what = e is InvalidGraphException && e.TensorName is not null ? $"'{e.TensorName}': {Strip(e)}" : Strip(e);
        return e switch
        {
            UnsupportedFeatureException => new UnsupportedFeatureException(null, where, $"{node.Op}: {what}"),
            VerificationFailedException => e,
            InvalidInputFileException f => new InvalidInputFileException(f.FilePath, where, $"{node.Op}: {f.Reason}", f),
            _ => new InvalidGraphException(where, $"{node.Op}: {what}"),
        };
    }

    private static string Strip(TorchToNnefException e)
    {
        string m = e.Message;
        string prefix = e.TensorName is null ? string.Empty : $"node '{e.TensorName}': ";
        if (prefix.Length > 0 && m.StartsWith(prefix, StringComparison.Ordinal))
        {
            return m[prefix.Length..];
        }

        string tensorPrefix = e.TensorName is null ? string.Empty : $"tensor '{e.TensorName}': ";
        return tensorPrefix.Length > 0 && m.StartsWith(tensorPrefix, StringComparison.Ordinal) ? m[tensorPrefix.Length..] : m;
    }
}
