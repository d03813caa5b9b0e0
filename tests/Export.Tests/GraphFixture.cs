using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Export.Tests;

/// <summary>Small helpers to build IR graphs by hand and run them.</summary>
internal sealed class GraphFixture
{
    private readonly List<Tensor> _owned = [];
    private readonly bool _core;

    public GraphFixture(bool core = true)
    {
        _core = core;
        if (core)
        {
            Graph.Registries.Add("tract_core");
        }
    }

    public Graph Graph { get; } = new();

    public GraphFixture Input(string name, DType dtype, params long[] shape)
    {
        Graph.AddInput(name, dtype, [.. shape.Select(Dim.Of)]);
        if (!_core)
        {
            // AddInput activates tract_core for its tract_core_external; these graphs are built without it on purpose.
            Graph.Registries.Remove("tract_core");
        }

        return this;
    }

    public GraphFixture SymbolicInput(string name, DType dtype, params string[] dims)
    {
        Graph.AddInput(name, dtype, [.. dims.Select(d => long.TryParse(d, out long v) ? Dim.Of(v) : Dim.Parse(d))]);
        return this;
    }

    public GraphFixture Constant(string name, float[] values, params long[] shape)
    {
        Tensor t = Tensor.FromFloats(new Shape(shape), values);
        _owned.Add(t);
        Graph.AddVariable(name, name, TensorSource.FromTensor(t));
        return this;
    }

    public GraphFixture Constant<T>(string name, DType dtype, T[] values, params long[] shape)
        where T : unmanaged
    {
        Tensor t = Tensor.FromSpan<T>(dtype, new Shape(shape), values);
        _owned.Add(t);
        Graph.AddVariable(name, name, TensorSource.FromTensor(t));
        return this;
    }

    public Node Op(string output, string op, params Arg[] inputs)
    {
        var node = new Node(op, output);
        foreach (Arg a in inputs)
        {
            node.With(a);
        }

        Graph.Nodes.Add(node);
        return node;
    }

    public GraphFixture Output(params string[] names)
    {
        Graph.Outputs.AddRange(names);
        return this;
    }

    /// <summary>
    /// Evaluates the graph; when the run succeeds, every value it computed must also have the type and shape shape
    /// inference gives it (the operator tests double as oracle cases for the catalog's rules).
    /// </summary>
    public IReadOnlyList<NamedTensor> Run(params NamedTensor[] inputs)
    {
        var computed = new List<(string Path, TensorValue Value)>();
        var evaluator = new GraphEvaluator(Graph, new EvaluationOptions { ValueComputed = (path, v) => computed.Add((path, v)) });
        IReadOnlyList<NamedTensor> outputs = evaluator.Run(inputs);
        GraphTypes types = ShapeInference.Run(Graph);
        var symbols = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (GraphInput declared in evaluator.Inputs)
        {
            NamedTensor? fed = inputs.FirstOrDefault(i => i.Name == declared.Name);
            for (int axis = 0; fed is not null && axis < declared.Shape.Count; axis++)
            {
                if (declared.Shape[axis].TryGetSymbol(out string s))
                {
                    symbols[s] = fed.Value.Shape[axis];
                }
            }
        }

        foreach ((string path, TensorValue value) in computed)
        {
            TensorType type = types.AllValues[path];
            long[] shape = type.Evaluate(symbols);
            Xunit.Assert.True(
                type.Type == value.Type && shape.SequenceEqual(value.Shape.ToArray().Select(d => (long)d)),
                $"'{path}' is inferred {type} but computed {value}");
        }

        return outputs;
    }

    public TensorValue RunSingle(params NamedTensor[] inputs) => Run(inputs)[0].Value;

    public static NamedTensor F32(string name, float[] values, params int[] shape) => new(name, TensorValue.F32(shape, values));

    public static Arg R(string name) => Arg.Ref(name);

    public static Arg F(double v) => Arg.Float(v);

    public static Arg I(long v) => Arg.Int(v);
}
