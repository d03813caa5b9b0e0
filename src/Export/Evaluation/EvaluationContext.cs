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

    // Fragment scopes already cleared, reused by the next invocations of this run (one dictionary per nesting level).
    private readonly Stack<Scope> _spareScopes = new();
    private readonly PreparedGraph _prepared;
    private int _depth;

    public EvaluationContext(Graph graph, EvaluationOptions options, Dictionary<string, long> symbols, Dictionary<string, TensorValue> inputs, TensorPool pool, WeightCache weights, PreparedGraph prepared, Kernels.Q40PanelStore? panels = null)
    {
        Graph = graph;
        Options = options;
        Symbols = symbols;
        Inputs = inputs;
        Pool = pool;
        Weights = weights;
        // Released weights' panels are reused only when no observer may have kept a weight's value.
        LiveWeights = options.ReleaseWeightsAfterUse ? new LiveWeights(options.ValueComputed is null ? panels : null) : null;
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

    /// <summary>The evaluator's weights, opened once and kept (not used under <see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>).</summary>
    public WeightCache Weights { get; }

    /// <summary>Under <see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>, the weights this run opened and still binds; else null.</summary>
    public LiveWeights? LiveWeights { get; }

    /// <summary>A value was bound to a name in some scope of the run.</summary>
    public void Bound(Operand value)
    {
        Pool.Bind(value);
        LiveWeights?.Bind(value);
    }

    /// <summary>A binding of the run went away.</summary>
    public void Unbound(Operand value)
    {
        Pool.Unbind(value);
        LiveWeights?.Unbind(value);
    }

    /// <summary>Runs <paramref name="body"/> in <paramref name="scope"/>; <paramref name="release"/> drops values after their last use.</summary>
    public void RunBody(IReadOnlyList<Node> body, Scope scope, string path, IReadOnlyDictionary<int, List<string>>? release = null)
    {
        PreparedNode?[] prepared = _prepared.Body(body);
        for (int i = 0; i < body.Count; i++)
        {
            Options.Cancellation.ThrowIfCancellationRequested();
            Node node = body[i];
            try
            {
                PreparedNode? slot = prepared[i];
                if (slot is null || !ReferenceEquals(slot.Node, node))
                {
                    prepared[i] = slot = _prepared[node];
                }

                // The operator's scratch from the run's pool (storage it took but did not bind) goes back to the pool.
                int mark = Pool.Mark();
                RunNode(node, slot, scope, path);
                Pool.Sweep(mark);
            }
            catch (TorchToNnefException e) when (e.TensorName is null || !e.TensorName.StartsWith(Where(path, node), StringComparison.Ordinal))
            {
                throw Located(e, Where(path, node), node);
            }
            catch (Exception e) when (e is ArithmeticException or ArgumentException or InvalidOperationException or IndexOutOfRangeException or InvalidCastException)
            {
                throw new InvalidGraphException(Where(path, node), $"{node.Op}: {e.Message}");
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

    // Where a statement is, for messages: built only when one is thrown.
    private static string Where(string path, Node node) => path.Length == 0 ? node.Name : $"{path} > {node.Name}";

    private void RunNode(Node node, PreparedNode prepared, Scope scope, string path)
    {
        if (prepared.Folded is TensorOperand[] folded)
        {
            // Computed by an earlier run from weights and literals only: the same values again.
            for (int k = 0; k < folded.Length; k++)
            {
                Bind(scope, path, node.Outputs[k], folded[k]);
            }

            return;
        }

        DatumType?[] quant = prepared.OutputTypes;
        Operand result = prepared.Schema is null ? Alias(node, scope, quant) : Invoke(node, prepared, scope, path);
        if (node.Outputs.Count == 1 && !prepared.Foldable)
        {
            Bind(scope, path, node.Outputs[0], Quantized(Coerce.ToTensor(result, node.Name), quant[0]));
        }
        else
        {
            List<TensorOperand> values = node.Outputs.Count == 1 ? [Coerce.ToTensor(result, node.Name)] : Coerce.ToTensors(result, node.Name);
            if (values.Count != node.Outputs.Count)
            {
                throw new InvalidGraphException(null, $"assignment of {node.Outputs.Count} identifiers received {values.Count} value(s)");
            }

            for (int k = 0; k < values.Count; k++)
            {
                values[k] = Quantized(values[k], quant[k]);
            }

            if (prepared.Foldable)
            {
                // Kept for later runs: storage the pool handed out leaves it, so no later value is written over it.
                foreach (TensorOperand v in values)
                {
                    Pool.Forget(v);
                }

                prepared.Folded = [.. values];
            }

            for (int k = 0; k < values.Count; k++)
            {
                Bind(scope, path, node.Outputs[k], values[k]);
            }
        }

        // Fragment scopes of this node are released only now that the caller holds their results.
        if (_finishedFragments.Count > 0)
        {
            foreach (Scope inner in _finishedFragments)
            {
                inner.Clear();
                _spareScopes.Push(inner);
            }

            _finishedFragments.Clear();
        }
    }

    // wire_body: a graph.quant type on an assigned identifier adds a final cast (TDim through f32).
    private static TensorOperand Quantized(TensorOperand value, DatumType? quant)
    {
        if (quant is not DatumType q || value.Value.Type == q)
        {
            return value;
        }

        TensorValue v = value.Value;
        if (v.Type.Kind == DatumKind.TDim)
        {
            v = Cast.To(v, DatumType.F32);
        }

        return new TensorOperand(Cast.To(v, q), value.IsConst && v.ElementCount < 16);
    }

    private void Bind(Scope scope, string path, string name, TensorOperand value)
    {
        scope[name] = value;
        if (Options.ValueComputed is { } observer)
        {
            // The observer may keep the value: its storage leaves the pool rather than being reused under it.
            Pool.Forget(value);
            observer(ValuePath.Of(path, name), value.Value);
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
        Scope inner = _spareScopes.TryPop(out Scope? spare) ? spare : new Scope(this);
        foreach (OperatorParameter p in schema.Parameters)
        {
            inner[p.Name] = call.Find(p.Name) ?? throw new InvalidGraphException(null, $"fragment '{fragment.Name}' expects argument '{p.Name}'");
        }

        _depth++;
        try
        {
            // The body's scope path (for messages and observers) is the same in every run of a graph-body statement.
            string innerPath = path.Length == 0
                ? prepared.FragmentPath ??= ValuePath.FragmentScope(path, node, fragment.Name)
                : ValuePath.FragmentScope(path, node, fragment.Name);
            RunBody(fragment.Body!, inner, innerPath);
        }
        finally
        {
            _depth--;
        }

        var items = new Operand[fragment.Results.Count];
        for (int i = 0; i < items.Length; i++)
        {
            string name = fragment.Results[i].Name;
            items[i] = inner.Contains(name) ? inner[name] : throw new InvalidGraphException(null, $"fragment '{fragment.Name}' does not assign its result '{name}'");
        }

        var results = new TupleOperand(items);
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
