namespace TorchToNnef.Ir;

/// <summary>
/// The NNEF standard-library fragments tract expands from their bodies (<c>nnef/stdlib.nnef</c>), written as IR with
/// the same statements in the same order (nested calls lowered to <c>__tN</c> temporaries), so they are typed, folded
/// and rounded exactly as tract wires them: <c>linear</c>, <c>relu</c>, <c>sqr</c>, <c>mean_reduce</c>,
/// <c>batch_normalization</c>, <c>max_pool</c>, ... Names tract implements as built-ins (<c>sqrt</c>, <c>rsqrt</c>,
/// <c>sigmoid</c>, <c>tanh</c>, <c>min</c>, <c>max</c>, <c>softmax</c>) are not defined here.
/// </summary>
internal static class StdlibFragments
{
    private const string PoolParameters = "input: tensor, size: integer[], border: string = 'constant', padding: pairs = [], stride: integer[] = [], dilation: integer[] = []";

    public static void Register(CatalogBuilder b)
    {
        void Add(Fragment f) => b.Fragment(OperatorCatalog.NnefRegistry, f);
        Add(Define("sqr", "x: tensor", ["y"], Call("y", "pow", X("x"), F(2.0))));
        Add(Define("rsqr", "x: tensor", ["y"], Call("y", "pow", X("x"), F(-2.0))));
        Add(Define("log2", "x: tensor", ["y"], Call("__t0", "log", X("x")), Call("__t1", "log", F(2.0)), Call("y", "div", X("__t0"), X("__t1"))));
        Add(Define("clamp", "x: tensor, a: tensor, b: tensor", ["y"], Call("__t0", "min", X("x"), X("b")), Call("y", "max", X("__t0"), X("a"))));
        Add(Define("relu", "x: tensor", ["y"], Call("y", "max", X("x"), F(0.0))));
        Add(Define("elu", "x: tensor", ["y"],
            Call("__t0", "lt", X("x"), F(0.0)), Call("__t1", "exp", X("x")), Call("__t2", "sub", X("__t1"), F(1.0)),
            Call("y", "select", X("__t0"), X("__t2"), X("x"))));
        Add(Define("prelu", "x: tensor, alpha: tensor", ["y"],
            Call("__t0", "lt", X("x"), F(0.0)), Call("__t1", "mul", X("alpha"), X("x")), Call("y", "select", X("__t0"), X("__t1"), X("x"))));
        Add(Define("softabs", "x: tensor, epsilon: scalar", ["y"],
            Call("__t0", "sqr", X("x")), Call("__t1", "add", X("__t0"), X("epsilon")), Call("y", "sqrt", X("__t1"))));
        Add(Define("softplus", "x: tensor", ["y"],
            Call("__t0", "exp", X("x")), Call("__t1", "add", X("__t0"), F(1.0)), Call("y", "log", X("__t1"))));
        Add(Define("mean_reduce", "input: tensor, axes: integer[]", ["output"],
            Call("output", "sum_reduce", X("input")).With("axes", X("axes")).With("normalize", Arg.Bool(true))));
        Add(Define("moments", "input: tensor, axes: integer[]", ["mean", "variance"],
            Call("mean", "mean_reduce", X("input")).With("axes", X("axes")),
            Call("__t0", "sub", X("input"), X("mean")),
            Call("__t1", "sqr", X("__t0")),
            Call("variance", "mean_reduce", X("__t1")).With("axes", X("axes"))));
        Add(Define("max_pool", PoolParameters, ["output"], Pass(new Node("max_pool_with_index", "output", "index"), "size", "border", "padding", "stride", "dilation")));
        Add(Define("avg_pool", PoolParameters, ["output"], Pass(new Node("box", "output"), "size", "border", "padding", "stride", "dilation").With("normalize", Arg.Bool(true))));
        Add(Define("rms_pool", PoolParameters, ["output"],
            Call("__t0", "sqr", X("input")),
            Pass(new Node("avg_pool", "__t1"), "size", "border", "padding", "stride", "dilation", input: "__t0"),
            Call("output", "sqrt", X("__t1"))));
        Add(Define("linear", "input: tensor, filter: tensor, bias: tensor = 0.0", ["output"],
            Call("__t0", "matmul", X("input"), X("filter")).With("transposeB", Arg.Bool(true)),
            Call("output", "add", X("__t0"), X("bias"))));
        Add(Define("separable_conv", "input: tensor, plane_filter: tensor, point_filter: tensor, bias: tensor = 0.0, border: string = 'constant', padding: pairs = [], stride: integer[] = [], dilation: integer[] = [], groups: integer = 1", ["output"],
            Call("filtered", "conv", X("input"), X("plane_filter"))
                .With("border", X("border")).With("padding", X("padding")).With("stride", X("stride")).With("dilation", X("dilation")).With("groups", Arg.Int(0)),
            Call("output", "conv", X("filtered"), X("point_filter"), X("bias")).With("groups", X("groups"))));
        Add(Define("batch_normalization", "input: tensor, mean: tensor, variance: tensor, offset: tensor, scale: tensor, epsilon: scalar", ["output"],
            Call("__t0", "sub", X("input"), X("mean")),
            Call("__t1", "mul", X("scale"), X("__t0")),
            Call("__t2", "add", X("variance"), X("epsilon")),
            Call("__t3", "sqrt", X("__t2")),
            Call("__t4", "div", X("__t1"), X("__t3")),
            Call("output", "add", X("offset"), X("__t4"))));
        Add(Define("l1_normalization", "input: tensor, axes: integer[], bias: scalar = 0.0, epsilon: scalar = 0.0", ["output"],
            Call("__t0", "abs", X("input")),
            Call("sigma", "sum_reduce", X("__t0")).With("axes", X("axes")),
            Call("__t1", "add", X("sigma"), X("bias")),
            Call("__t2", "max", X("__t1"), X("epsilon")),
            Call("output", "div", X("input"), X("__t2"))));
        Add(Define("l2_normalization", "input: tensor, axes: integer[], bias: scalar = 0.0, epsilon: scalar = 0.0", ["output"],
            Call("__t0", "sqr", X("input")),
            Call("__t1", "sum_reduce", X("__t0")).With("axes", X("axes")),
            Call("sigma", "sqrt", X("__t1")),
            Call("__t2", "add", X("sigma"), X("bias")),
            Call("__t3", "max", X("__t2"), X("epsilon")),
            Call("output", "div", X("input"), X("__t3"))));
    }

    private static Fragment Define(string name, string parameters, string[] results, params Node[] body)
    {
        var fragment = new Fragment(name) { Body = [.. body] };
        fragment.Parameters.AddRange(ParameterSpec.Parse(parameters).Select(p => new FragmentParameter(p.Name, OperatorParameter.NnefTypeOf(p.Kind), p.Default)));
        fragment.Results.AddRange(results.Select(r => new FragmentResult(r, "tensor<scalar>")));
        return fragment;
    }

    private static Node Call(string output, string op, params Arg[] inputs)
    {
        var node = new Node(op, output);
        foreach (Arg a in inputs)
        {
            node.With(a);
        }

        return node;
    }

    private static Node Pass(Node node, string p0, string p1, string p2, string p3, string p4, string input = "input")
    {
        node.With(X(input));
        foreach (string p in new[] { p0, p1, p2, p3, p4 })
        {
            node.With(p, X(p));
        }

        return node;
    }

    private static Arg X(string name) => Arg.Ref(name);

    private static Arg F(double value) => Arg.Float(value);
}
