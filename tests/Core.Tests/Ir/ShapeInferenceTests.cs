using TorchToNnef.Errors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests.Ir;

/// <summary>Shape inference on small graphs with hand-computed types; errors name the statement.</summary>
public class ShapeInferenceTests
{
    private static Graph WithInput(DType dtype, params Dim[] shape)
    {
        var g = new Graph();
        g.AddInput("x", dtype, shape);
        return g;
    }

    private static TensorType Infer(Graph g, Node n, string? output = null)
    {
        g.Nodes.Add(n);
        return ShapeInference.Run(g)[output ?? n.Name];
    }

    [Fact]
    public void AddInputActivatesTheRegistryOfItsOperator()
    {
        Graph g = WithInput(DType.F32, Dim.Symbol("S"));
        Assert.Equal(["tract_core"], g.Registries);
        Assert.Equal(["S"], g.Symbols);
        Assert.Equal("F32[S]", ShapeInference.Run(g)["x"].ToString());
    }

    [Fact]
    public void ErrorsNameTheStatement()
    {
        Graph unknown = WithInput(DType.F32, 2);
        unknown.Nodes.Add(new Node("frobnicate", "y").With(Arg.Ref("x")));
        var u = Assert.Throws<UnsupportedFeatureException>(() => ShapeInference.Run(unknown));
        Assert.Equal("y", u.TensorName);
        Assert.Contains("unknown operator 'frobnicate'", u.Message, StringComparison.Ordinal);

        Graph conflict = WithInput(DType.F32, 2, 3);
        conflict.AddVariable("w", "w", TensorSource.FromTensor(Tensor.Allocate(DType.F32, Shape.Of(4, 3))));
        conflict.Nodes.Add(new Node("add", "y").With(Arg.Ref("x")).With(Arg.Ref("w")));
        var c = Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(conflict));
        Assert.Equal("y", c.TensorName);
        Assert.Contains("do not broadcast", c.Message, StringComparison.Ordinal);

        Graph missing = WithInput(DType.F32, 2);
        missing.Registries.Clear();
        var m = Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(missing));
        Assert.Contains("extension tract_registry tract_core", m.Message, StringComparison.Ordinal);

        Graph dangling = WithInput(DType.F32, 2);
        dangling.Nodes.Add(new Node("relu", "y").With(Arg.Ref("nope")));
        Assert.Contains("'nope' is neither a value", Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(dangling)).Message, StringComparison.Ordinal);

        GraphTypes partial = ShapeInference.RunPartial(dangling, out IReadOnlyList<TorchToNnefException> errors);
        Assert.Equal("y", Assert.Single(errors).TensorName);
        Assert.True(partial.TryGetType("x", out _));
        Assert.False(partial.TryGetType("y", out _));
    }

    [Fact]
    public void OperandTypingFollowsTract()
    {
        // A constant scalar takes the other operand's type: f16 + 1.0 is f16; TDim only mixes with signed integers.
        Graph g = WithInput(DType.F16, 3);
        Assert.Equal("F16[3]", Infer(g, new Node("add", "y").With(Arg.Ref("x")).With(Arg.Float(1.0))).ToString());
        Graph h = WithInput(DType.F32, 3);
        h.Nodes.Add(new Node("tract_core_shape_of", "s").With(Arg.Ref("x")));
        h.Nodes.Add(new Node("add", "y").With(Arg.Ref("x")).With(Arg.Ref("s")));
        Assert.Contains("no common type", Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(h)).Message, StringComparison.Ordinal);

        // Ranks are aligned by trailing unit axes: [3] against [2, 3] is [3, 1] against [2, 3].
        Graph t = WithInput(DType.F32, 2, 3);
        t.AddVariable("v", "v", TensorSource.FromTensor(Tensor.Allocate(DType.F32, Shape.Of(3))));
        t.Nodes.Add(new Node("mul", "y").With(Arg.Ref("v")).With(Arg.Ref("x")));
        Assert.Contains("do not broadcast", Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(t)).Message, StringComparison.Ordinal);

        Graph c = WithInput(DType.I64, 2);
        Assert.Equal("Bool[2]", Infer(c, new Node("lt", "y").With(Arg.Ref("x")).With(Arg.Int(0))).ToString());
    }

    [Fact]
    public void ShapesComputedInTheGraphAreFollowedSymbolically()
    {
        var s = Dim.Symbol("S");
        var p = Dim.Symbol("P");
        var g = new Graph();
        g.AddInput("cache", DType.F32, [1, 2, p, 16]);
        g.AddInput("x", DType.F32, [1, 2, s, 16]);
        g.Nodes.Add(new Node("concat", "kv").With(Arg.Array(Arg.Ref("cache"), Arg.Ref("x"))).With("axis", Arg.Int(2)));
        g.Nodes.Add(new Node("tract_core_shape_of", "shape").With(Arg.Ref("kv")));
        g.Nodes.Add(new Node("slice", "len1").With(Arg.Ref("shape")).With("axes", Arg.Ints(0)).With("begin", Arg.Ints(2)).With("end", Arg.Ints(3)));
        g.Nodes.Add(new Node("squeeze", "len").With(Arg.Ref("len1")).With("axes", Arg.Ints(0)));
        g.Nodes.Add(new Node("tract_core_range", "pos").With(Arg.Int(0)).With(Arg.Ref("len")).With("step", Arg.Int(1)));
        g.Nodes.Add(new Node("reshape", "flat").With(Arg.Ref("kv")).With("shape", Arg.Ints(1, -1)));
        g.Nodes.Add(new Node("tile", "twice").With(Arg.Ref("x")).With("repeats", Arg.Array(Arg.Int(1), Arg.Int(1), Arg.Int(2), Arg.Int(1))));
        g.Nodes.Add(new Node("slice", "head").With(Arg.Ref("twice")).With("axes", Arg.Ints(2)).With("begin", Arg.Ints(0)).With("end", Arg.Array(Arg.Ref("S"))));
        g.Outputs.AddRange(["pos", "flat", "head"]);
        g.Symbols.AddRange(["S", "P"]);

        // An end of S counts from the end of the axis when S is 0 (tract's rule): without S >= 1 the shape is unknown.
        Assert.Contains("cannot tell whether slice bound S counts from the end", Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(g)).Message, StringComparison.Ordinal);
        g.Assertions.Add(Assertion.Parse("S >= 1"));
        GraphTypes types = ShapeInference.Run(g);
        Assert.Equal("F32[1, 2, P+S, 16]", types["kv"].ToString());
        Assert.Equal([Dim.Of(1), Dim.Of(2), p + s, Dim.Of(16)], types.KnownValues("shape"));
        Assert.Equal([p + s], types.KnownValues("len"));
        Assert.Equal("I64[P+S]", types["pos"].ToString());
        Assert.Equal("F32[1, 32*P+32*S]", types["flat"].ToString());
        Assert.Equal("F32[1, 2, S, 16]", types["head"].ToString());
    }

    [Fact]
    public void WindowsProductsAndGathersFollowTheirFormulas()
    {
        Graph g = WithInput(DType.F32, 1, 3, 10, 7);
        g.AddVariable("k", "k", TensorSource.FromTensor(Tensor.Allocate(DType.F32, Shape.Of(8, 3, 3, 3))));
        // (10 + 1 + 1 - 3) / 2 + 1 = 5 and (7 + 1 + 1 - 3) / 2 + 1 = 4; same-upper max pool: ceil(5 / 2), ceil(4 / 2).
        g.Nodes.Add(new Node("conv", "c").With(Arg.Ref("x")).With(Arg.Ref("k")).With("padding", Arg.Array(Arg.Tuple(Arg.Int(1), Arg.Int(1)), Arg.Tuple(Arg.Int(1), Arg.Int(1)))).With("stride", Arg.Ints(2, 2)));
        g.Nodes.Add(new Node("max_pool", "m").With(Arg.Ref("c")).With("size", Arg.Ints(1, 1, 2, 2)).With("stride", Arg.Ints(1, 1, 2, 2)));
        g.Nodes.Add(new Node("tract_core_einsum", "e").With("inputs", Arg.Array(Arg.Ref("m"), Arg.Ref("m"))).With("expr", Arg.String("bchw,bcgw->bhg")).With("acc", Arg.String("f16")));
        GraphTypes types = ShapeInference.Run(g);
        Assert.Equal("F32[1, 8, 5, 4]", types["c"].ToString());
        Assert.Equal("F32[1, 8, 3, 2]", types["m"].ToString());
        Assert.Equal("F16[1, 3, 3]", types["e"].ToString());

        var q = new Graph();
        q.AddInput("ids", DType.I64, [Dim.Of(1), Dim.Symbol("S")]);
        q.AddVariable("table", "table", TensorSource.Computed(DType.Q40, Shape.Of(16, 32), () => throw new InvalidOperationException("not opened")));
        q.Nodes.Add(new Node("tract_core_gather", "rows").With(Arg.Ref("table")).With(Arg.Ref("ids")).With("axis", Arg.Int(0)));
        Assert.Contains("requires datum_type", Assert.Throws<InvalidGraphException>(() => ShapeInference.Run(q)).Message, StringComparison.Ordinal);
        q.Nodes[^1].With("datum_type", Arg.String("f16"));
        Assert.Equal("F16[1, S, 32]", ShapeInference.Run(q)["rows"].ToString());
    }

    [Fact]
    public void DocumentFragmentsAreInferredThroughTheirBodyAtEachCall()
    {
        Graph g = WithInput(DType.F32, 2, 5);
        g.AddInput("z", DType.F16, [Dim.Of(7)]);
        var f = new Fragment("twice") { Body = [new Node("add", "y").With(Arg.Ref("a")).With(Arg.Ref("a")), new Node("sum_reduce", "r").With(Arg.Ref("y")).With("axes", Arg.Ref("axes"))] };
        f.Parameters.Add(new FragmentParameter("a", "tensor<scalar>"));
        f.Parameters.Add(new FragmentParameter("axes", "integer[]", Arg.Ints(0)));
        f.Results.Add(new FragmentResult("y", "tensor<scalar>"));
        f.Results.Add(new FragmentResult("r", "tensor<scalar>"));
        g.Fragments.Add(f);
        g.Nodes.Add(new Node("twice", "y1", "r1").With(Arg.Ref("x")).With("axes", Arg.Ints(1)));
        g.Nodes.Add(new Node("twice", "y2", "r2").With(Arg.Ref("z")));
        GraphTypes types = ShapeInference.Run(g);
        Assert.Equal("F32[2, 1]", types["r1"].ToString());
        Assert.Equal("F16[1]", types["r2"].ToString());
        Assert.Equal("F32[2, 5]", types.AllValues["y1 (twice) > y"].ToString());
        Assert.Equal("F16[7]", types.AllValues["y2 (twice) > y"].ToString());
    }

    [Fact]
    public void TheCatalogBindsArgumentsAsTract()
    {
        OperatorSchema slice = OperatorCatalog.Find(OperatorCatalog.NnefRegistry, "slice")!;
        var n = new Node("slice", "y").With(Arg.Ref("x")).With(Arg.Ints(0)).With(Arg.Ints(1)).With(Arg.Ints(2)).With(Arg.Ints(3));
        Assert.Equal(Arg.Ints(1), slice.Argument(n, "begin"));
        // stride is read by name only: a fifth positional argument is not it.
        Assert.Null(slice.Argument(n, "stride"));
        Assert.Equal(-1, slice.PositionOf("stride"));

        OperatorSchema add = OperatorCatalog.Find(OperatorCatalog.NnefRegistry, "add")!;
        var a = new Node("add", "z").With("y", Arg.Ref("b")).With("x", Arg.Ref("a"));
        // Binary operators read their operands in writing order, whatever their names.
        Assert.Equal(Arg.Ref("b"), add.Argument(a, "x"));

        OperatorSchema reshape = OperatorCatalog.Find(OperatorCatalog.NnefRegistry, "reshape")!;
        Assert.Equal(Arg.Int(-1), reshape.Argument(new Node("reshape", "r").With(Arg.Ref("x")).With("shape", Arg.Ints(2)), "axis_count"));
        Assert.True(reshape.Parameter("input")!.IsTensor);
        Assert.Equal(ParameterKind.Integers, reshape.Parameter("shape")!.Kind);

        Assert.Equal(OperatorCatalog.CoreRegistry, OperatorCatalog.RegistryNeededFor("tract_core_gather"));
        Assert.Null(OperatorCatalog.RegistryNeededFor("matmul"));
        Assert.Equal(OperatorForm.Fragment, OperatorCatalog.Find(OperatorCatalog.NnefRegistry, "linear")!.Form);
        Assert.All(OperatorCatalog.All, s => Assert.True(s.Body is not null || s.Rule is not null, s.Name));
    }
}
