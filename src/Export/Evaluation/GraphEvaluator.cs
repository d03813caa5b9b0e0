using TorchToNnef.Errors;
using TorchToNnef.Ir;

namespace TorchToNnef.Export.Evaluation;

/// <summary>A named tensor: a graph input fed by name, or an output labelled with its graph name.</summary>
/// <param name="Name">Identifier in the graph.</param>
/// <param name="Value">The tensor.</param>
public sealed record NamedTensor(string Name, TensorValue Value);

/// <summary>A graph input as declared: its identifier, type and shape (dimensions may be symbols).</summary>
/// <param name="Name">Identifier defined by the external statement.</param>
/// <param name="Type">Declared type (a <c>graph.quant</c> entry overrides <c>datum_type</c>).</param>
/// <param name="Shape">Declared dimensions.</param>
public sealed record GraphInput(string Name, DatumType Type, IReadOnlyList<Dim> Shape);

/// <summary>
/// Runs an IR graph on the CPU as tract would: every statement in order with tract's operand typing, broadcasting,
/// constant folding and f16 rounding; document fragments from their bodies and tract's stdlib fragments (linear,
/// relu, batch_normalization, ...) with the same operation order; symbols bound from the fed inputs and the graph's
/// <c>tract_assert</c>s checked. Weights are opened once, by the first run that reads them, and kept for later runs
/// (or, under <see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>, opened by each run and dropped after their last use);
/// intermediate values are released after their last consumer and their storage reused (<see cref="TensorPool"/>), so
/// a run holds the weights plus the values alive at once.
/// </summary>
public sealed class GraphEvaluator
{
    private readonly Graph _graph;
    private readonly EvaluationOptions _options;
    private readonly List<Node> _externals;
    private readonly Dictionary<int, List<string>> _release;
    private readonly WeightCache _weights = new();
    private readonly PreparedGraph _prepared;
    private readonly object _countersGate = new();
    private (int Opened, int Released, int Peak) _weightCounts;
    private TensorPool? _pool = new();

    // Under ReleaseWeightsAfterUse: storage of the Q4_0 panels runs released, for the next weights of the same size.
    private readonly Kernels.Q40PanelStore? _panels;

    // The graph scope's table, sized for every statement and reused by the next run (taken by one run at a time).
    private Dictionary<string, Operand>? _graphValues;

    /// <summary>Prepares the evaluation of <paramref name="graph"/>.</summary>
    /// <exception cref="InvalidGraphException">An input declaration is malformed or a graph output is never assigned.</exception>
    public GraphEvaluator(Graph graph, EvaluationOptions? options = null)
    {
        _graph = graph;
        _options = options ?? new EvaluationOptions();
        _externals = graph.Nodes.Where(n => n.Op is Graph.ExternalOp or "external").ToList();
        Inputs = _externals.Select(DescribeInput).ToList();
        _release = LastUses(graph);
        _prepared = new PreparedGraph(graph, keepConstants: !_options.ReleaseWeightsAfterUse);
        _panels = _options.ReleaseWeightsAfterUse ? new Kernels.Q40PanelStore() : null;
    }

    /// <summary>Graph inputs in feeding order (the order of their external statements, as tract's).</summary>
    public IReadOnlyList<GraphInput> Inputs { get; }

    /// <summary>Graph output identifiers, in order.</summary>
    public IReadOnlyList<string> Outputs => _graph.Outputs;

    /// <summary>
    /// Evaluates the graph. Each input is matched by name, else by position; an f32 value for an f16 input is cast when
    /// <see cref="EvaluationOptions.AllowFloatCasts"/> is set, an integer value for a quantized input is re-typed, and a
    /// missing input whose declared shape has no elements is fed zeros. Values are fed by reference (never copied unless
    /// cast). The returned tensors belong to the caller, unless <see cref="EvaluationOptions.ReuseOutputStorage"/> is set:
    /// then they stay valid only until the next run of this evaluator starts.
    /// </summary>
    /// <exception cref="InvalidGraphException">Bad input, failed assertion, unknown value or a shape mismatch, naming the node.</exception>
    /// <exception cref="UnsupportedFeatureException">An operator the evaluator does not know, naming the node.</exception>
    public IReadOnlyList<NamedTensor> Run(IReadOnlyList<NamedTensor> inputs)
    {
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        var fed = new Dictionary<string, TensorValue>(StringComparer.Ordinal);
        bool byName = inputs.Any(t => Inputs.Any(d => d.Name == t.Name));
        if (byName)
        {
            NamedTensor? stray = inputs.FirstOrDefault(t => Inputs.All(d => d.Name != t.Name));
            if (stray is not null)
            {
                throw new InvalidGraphException(stray.Name, $"fed value matches no graph input (inputs: {string.Join(", ", Inputs.Select(d => d.Name))})");
            }
        }
        else if (inputs.Count > Inputs.Count)
        {
            throw new InvalidGraphException(null, $"{inputs.Count} values fed to a graph with {Inputs.Count} inputs");
        }

        for (int i = 0; i < Inputs.Count; i++)
        {
            GraphInput declared = Inputs[i];
            NamedTensor? given = byName ? inputs.FirstOrDefault(t => t.Name == declared.Name) : i < inputs.Count ? inputs[i] : null;
            fed[declared.Name] = Feed(declared, given?.Value, symbols);
        }

        CheckShapes(fed, symbols);
        CheckAssertions(symbols);

        _prepared.Refresh();

        // One pool per evaluator, taken by one run at a time (a concurrent run gets a pool of its own).
        TensorPool pool = Interlocked.Exchange(ref _pool, null) ?? new TensorPool();
        List<NamedTensor>? outputs = null;
        EvaluationContext? context = null;
        try
        {
            // The previous run's outputs, when the caller let them go, become free storage for this one.
            pool.BeginRun();
            using TensorPool.Activation active = pool.Activate();
            context = new EvaluationContext(_graph, _options, symbols, fed, pool, _weights, _prepared, _panels);
            Dictionary<string, Operand> values = Interlocked.Exchange(ref _graphValues, null)
                ?? new Dictionary<string, Operand>(_graph.Nodes.Count + Inputs.Count, StringComparer.Ordinal);
            var scope = new Scope(context, values);
            context.RunBody(_graph.Nodes, scope, string.Empty, _release);
            outputs = new List<NamedTensor>(_graph.Outputs.Count);
            foreach (string name in _graph.Outputs)
            {
                if (!scope.Contains(name))
                {
                    throw new InvalidGraphException(name, "graph output is never assigned");
                }

                outputs.Add(new NamedTensor(name, Coerce.ToTensor(scope[name], name).Value));
            }

            // Bindings are dropped without releasing storage: the pool's end of run below forgets what is still bound.
            values.Clear();
            Volatile.Write(ref _graphValues, values);
            return outputs;
        }
        finally
        {
            // Whatever is still bound (the outputs just handed out) is forgotten by the pool, never reused; or, when the
            // caller allows it, kept aside until the next run starts.
            pool.EndRun(_options.ReuseOutputStorage ? outputs : null);
            Volatile.Write(ref _pool, pool);
            if (context?.LiveWeights is LiveWeights live)
            {
                lock (_countersGate)
                {
                    _weightCounts = (_weightCounts.Opened + live.Opened, _weightCounts.Released + live.Released, Math.Max(_weightCounts.Peak, live.Peak));
                }
            }
        }
    }

    /// <summary>Number of weights opened and kept so far (none under <see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>).</summary>
    internal int KeptWeights => _weights.Count;

    /// <summary>
    /// Under <see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>, over the runs so far: weights opened, weights released
    /// after their last use within their run, and the most weights one run held at once.
    /// </summary>
    internal (int Opened, int Released, int PeakLive) ReleasedWeightCounts
    {
        get
        {
            lock (_countersGate)
            {
                return _weightCounts;
            }
        }
    }

    /// <summary>
    /// Under <see cref="EvaluationOptions.ReleaseWeightsAfterUse"/>: bytes of Q4_0 panel storage allocated over all runs
    /// so far (storage released by a weight and reused by another is counted once), and the part held free now.
    /// </summary>
    internal (long Allocated, long Free) PanelStorageBytes => _panels is null ? (0, 0) : (_panels.AllocatedBytes, _panels.FreeBytes);

    /// <summary>Bytes of reusable storage the evaluator keeps between runs.</summary>
    internal long PooledBytes => Volatile.Read(ref _pool)?.FreeBytes ?? 0;

    private GraphInput DescribeInput(Node node)
    {
        string name = node.Name;
        DatumType type = _graph.GetInputType(name);
        if (_graph.Quantization.TryGetValue(name, out QuantInfo? q))
        {
            var p = new QuantParams(checked((int)q.ZeroPoint), (float)q.Scale);
            type = q.Bits == 32 ? new DatumType(DatumKind.I32, p) : new DatumType(q.Signed ? DatumKind.I8 : DatumKind.U8, p);
        }

        return new GraphInput(name, type, _graph.GetInputShape(name));
    }

    private TensorValue Feed(GraphInput declared, TensorValue? value, Dictionary<string, long> symbols)
    {
        if (value is null)
        {
            if (declared.Shape.All(d => d.IsConstant) && declared.Shape.Any(d => d.TryGetConstant(out long v) && v == 0))
            {
                return TensorValue.Zeros(declared.Type, declared.Shape.Select(d => d.TryGetConstant(out long v) ? (int)v : 0).ToArray());
            }

            throw new InvalidGraphException(declared.Name, "no value fed for this graph input");
        }

        if (declared.Type.IsQuantized && !value.Type.IsQuantized && value.Type == declared.Type.Unquantized)
        {
            value = value.WithType(declared.Type);
        }
        else if (value.Type != declared.Type)
        {
            value = declared.Type.Kind == DatumKind.F16 && value.Type == DatumType.F32 && _options.AllowFloatCasts
                ? Cast.To(value, DatumType.F16)
                : throw new InvalidGraphException(declared.Name, $"input declared {declared.Type}, fed {value.Type}");
        }

        if (value.Rank != declared.Shape.Count)
        {
            throw new InvalidGraphException(declared.Name, $"input declared with rank {declared.Shape.Count}, fed {value}");
        }

        for (int i = 0; i < value.Rank; i++)
        {
            if (declared.Shape[i].TryGetSymbol(out string s))
            {
                if (symbols.TryGetValue(s, out long bound) && bound != value.Shape[i])
                {
                    throw new InvalidGraphException(declared.Name, $"symbol {s} is {bound} from an earlier input but {value.Shape[i]} here");
                }

                symbols[s] = value.Shape[i];
            }
        }

        return value;
    }

    private void CheckShapes(Dictionary<string, TensorValue> fed, Dictionary<string, long> symbols)
    {
        foreach (GraphInput declared in Inputs)
        {
            TensorValue value = fed[declared.Name];
            for (int i = 0; i < declared.Shape.Count; i++)
            {
                long expected;
                try
                {
                    expected = declared.Shape[i].Evaluate(symbols);
                }
                catch (KeyNotFoundException e)
                {
                    throw new InvalidGraphException(declared.Name, $"dimension {declared.Shape[i]} cannot be bound from the inputs: {e.Message}");
                }

                if (expected != value.Shape[i])
                {
                    throw new InvalidGraphException(declared.Name, $"input declared as [{string.Join(", ", declared.Shape)}] (axis {i} = {expected}), fed {value}");
                }
            }
        }
    }

    private void CheckAssertions(Dictionary<string, long> symbols)
    {
        foreach (Assertion a in _graph.Assertions)
        {
            if (a.Scenario is not null && a.Scenario != _options.Scenario)
            {
                continue;
            }

            bool holds;
            try
            {
                holds = a.Holds(symbols);
            }
            catch (KeyNotFoundException e)
            {
                throw new InvalidGraphException(null, $"assertion '{a}' uses a symbol no input binds: {e.Message}");
            }

            if (!holds)
            {
                string values = string.Join(", ", symbols.Select(kv => $"{kv.Key}={kv.Value}"));
                throw new InvalidGraphException(null, $"assertion '{a}' does not hold with {values}");
            }
        }
    }

    // For the graph body: after which statement each identifier is last read, so its value can be dropped.
    private static Dictionary<int, List<string>> LastUses(Graph graph)
    {
        var last = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < graph.Nodes.Count; i++)
        {
            foreach (string r in graph.Nodes[i].References)
            {
                last[r] = i;
            }

            foreach (string o in graph.Nodes[i].Outputs)
            {
                last.TryAdd(o, i);
            }
        }

        var keep = new HashSet<string>(graph.Outputs, StringComparer.Ordinal);
        var release = new Dictionary<int, List<string>>();
        foreach ((string name, int index) in last)
        {
            if (keep.Contains(name))
            {
                continue;
            }

            if (!release.TryGetValue(index, out List<string>? list))
            {
                release[index] = list = [];
            }

            list.Add(name);
        }

        return release;
    }
}
