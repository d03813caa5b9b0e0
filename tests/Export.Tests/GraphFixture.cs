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

    public IReadOnlyList<NamedTensor> Run(params NamedTensor[] inputs) => new GraphEvaluator(Graph).Run(inputs);

    public TensorValue RunSingle(params NamedTensor[] inputs) => Run(inputs)[0].Value;

    public static NamedTensor F32(string name, float[] values, params int[] shape) => new(name, TensorValue.F32(shape, values));

    public static Arg R(string name) => Arg.Ref(name);

    public static Arg F(double v) => Arg.Float(v);

    public static Arg I(long v) => Arg.Int(v);
}
