using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Onnx.Translation;

/// <summary>
/// Translates one ONNX model into an NNEF graph with a <see cref="GraphBuilder"/>: inputs (with symbols for named or
/// unknown dimensions, or the shapes and values given in the options), initializers and <c>Constant</c> nodes as lazy
/// constants, then each node through its handler in <see cref="OperatorTable"/>, folding what is known at export time.
/// Every unsupported operator is reported at once before anything is built.
/// </summary>
internal sealed partial class Translator
{
    private readonly OnnxExportOptions _options;
    private readonly List<string> _notes = [];
    private Scope _scope;

    public Translator(OnnxModel model, OnnxExportOptions options)
    {
        Model = model;
        _options = options;
        Opset = model.Opset;
        B = new GraphBuilder();
        _scope = new Scope(null);
        Fusions = new FusionPlan(model.Graph);
    }

    public OnnxModel Model { get; }

    /// <summary>The standard operator set version the nodes follow.</summary>
    public int Opset { get; }

    public GraphBuilder B { get; }

    public TractVersion Target => _options.TractVersion;

    /// <summary>Nodes folded into others (batch normalizations into the convolution before them).</summary>
    public FusionPlan Fusions { get; }

    /// <summary>The model file, for error messages.</summary>
    public string File => Model.Path;

    public void Note(string note) => _notes.Add(note);

    public OnnxExportResult Run()
    {
        OnnxGraph graph = Model.Graph;
        OperatorTable.CheckSupported(Model);
        (IReadOnlyList<IoName> inputs, IReadOnlyList<IoName> outputs, IReadOnlyList<FrozenInput> frozen) = DeclareSignature(graph);
        DefineInitializers(graph);
        TranslateNodes(graph.Nodes);

        for (int i = 0; i < graph.Outputs.Count; i++)
        {
            OnnxValue value = Lookup(graph.Outputs[i].Name, $"graph output '{graph.Outputs[i].Name}'");
            B.Output(Runtime(value, outputs[i].Nnef), outputs[i].Nnef);
        }

        Graph g = B.Build();
        DeadNodeElimination.Run(g);
        g.SetProperty("tract_target_version", Target.ToString());
        g.SetProperty("t2n_source", "onnx");
        var record = new OnnxIoRecord { Inputs = inputs, Outputs = outputs, Frozen = frozen };
        record.WriteTo(g);
        var histogram = graph.OperatorHistogram().ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return new OnnxExportResult(g, record, histogram, _notes);
    }

    /// <summary>Translates nodes in order (the main graph, or an inlined subgraph in the current scope).</summary>
    public void TranslateNodes(IReadOnlyList<OnnxNode> nodes)
    {
        foreach (OnnxNode node in nodes)
        {
            var context = new NodeContext(this, node);
            try
            {
                OperatorTable.Translate(context);
            }
            catch (InvalidGraphException e)
            {
                // A builder error (shape or type conflict) is reported against the ONNX node that caused it. With
                // symbolic inputs, shapes that agree only for some sizes (e.g. a stride-32 network's skip connections)
                // cannot be proven equal: concrete shapes resolve them.
                if (node.Inputs.Any(i => i.Length > 0 && _scope.Find(i) is RuntimeValue r && r.Value.Shape.Any(d => !d.IsConstant)))
                {
                    throw new UnsupportedFeatureException(File, null, $"{node}: {e.Message}; the shapes are symbolic and may agree only for some input sizes: give them with --input-shape");
                }

                throw new InvalidInputFileException(File, null, $"{node}: {e.Message}");
            }

            for (int k = 0; k < node.Outputs.Count; k++)
            {
                if (node.Outputs[k].Length > 0 && !_scope.ContainsHere(node.Outputs[k]) && !context.Skipped(k))
                {
                    throw new UnsupportedFeatureException(File, null, $"{node}: output {k} ('{node.Outputs[k]}') is not supported");
                }
            }
        }
    }

    /// <summary>The value an ONNX name stands for in the current scope (or an enclosing one).</summary>
    public OnnxValue Lookup(string name, string what) =>
        _scope.Find(name) ?? throw new InvalidInputFileException(File, null, $"{what} reads '{name}', which nothing defines");

    /// <summary>Binds an ONNX name in the current scope.</summary>
    public void Define(string name, OnnxValue value) => _scope.Set(name, value);

    /// <summary>Runs <paramref name="body"/> in a nested scope (for subgraphs inlined in place).</summary>
    public T InScope<T>(Func<T> body)
    {
        Scope saved = _scope;
        _scope = new Scope(saved);
        try
        {
            return body();
        }
        finally
        {
            _scope = saved;
        }
    }

    /// <summary>The NNEF datum type of an element type.</summary>
    public static DatumType Datum(DType dtype) => DatumType.FromDType(dtype == DType.BF16 ? DType.F32 : dtype);

    private void DefineInitializers(OnnxGraph graph)
    {
        foreach (OnnxTensor t in graph.InitializerList)
        {
            // An initializer that is also an input is a default ONNX Runtime lets callers override; tract and this
            // exporter take it as the constant it is.
            if (_scope.ContainsHere(t.Name))
            {
                continue;
            }

            Define(t.Name, ConstValue(t));
        }
    }

    /// <summary>A constant backed by an ONNX tensor (bf16 is widened to f32, which tract can hold).</summary>
    public ConstValue ConstValue(OnnxTensor t) =>
        t.DType == DType.BF16
            ? new ConstValue(t.Name, new ConvertedTensorSource(t, DType.F32))
            : new ConstValue(t.Name, t);

    private sealed class Scope(Scope? parent)
    {
        private readonly Dictionary<string, OnnxValue> _values = new(StringComparer.Ordinal);

        public OnnxValue? Find(string name) => _values.TryGetValue(name, out OnnxValue? v) ? v : parent?.Find(name);

        public bool ContainsHere(string name) => _values.ContainsKey(name);

        public void Set(string name, OnnxValue value) => _values[name] = value;
    }
}
