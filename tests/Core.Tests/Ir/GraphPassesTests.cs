using TorchToNnef.Errors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests.Ir;

public class GraphPassesTests
{
    private static TensorSource Zeros(params int[] shape) => TensorSource.FromTensor(Tensor.Allocate(DType.F32, Shape.Of(shape)));

    private static Graph Chain()
    {
        var g = new Graph();
        g.Symbols.Add("S");
        g.AddInput("x", DType.F32, [Dim.Of(1), Dim.Symbol("S"), Dim.Of(8)]);
        g.AddVariable("w", "w", Zeros(8, 4));
        g.Nodes.Add(new Node("matmul", "y").With(Arg.Ref("x")).With(Arg.Ref("w")));
        g.Outputs.Add("y");
        return g;
    }

    [Fact]
    public void AWellFormedGraphValidates()
    {
        GraphValidator.Validate(Chain());
    }

    [Fact]
    public void DuplicateUnknownAndOutOfOrderValuesAreNamed()
    {
        Graph dup = Chain();
        dup.Nodes.Add(new Node("relu", "y").With(Arg.Ref("x")));
        Assert.Contains("defined twice", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(dup)).Message);

        Graph unknown = Chain();
        unknown.Nodes.Add(new Node("relu", "z").With(Arg.Ref("nope")));
        var e = Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(unknown));
        Assert.Contains("unknown value 'nope'", e.Message);
        Assert.Equal("z", e.TensorName);

        Graph order = Chain();
        order.Nodes.Insert(1, new Node("relu", "early").With(Arg.Ref("y")));
        Assert.Contains("before it is defined", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(order)).Message);

        Graph self = Chain();
        self.Nodes.Add(new Node("add", "loop").With(Arg.Ref("loop")).With(Arg.Ref("x")));
        Assert.Contains("cycle", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(self)).Message);

        Graph noData = Chain();
        noData.Variables.Clear();
        Assert.Contains("variable has no data", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(noData)).Message);

        Graph badOut = Chain();
        badOut.Outputs.Add("ghost");
        Assert.Contains("never defined", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(badOut)).Message);

        Graph badIn = Chain();
        badIn.Inputs.Add("w");
        Assert.Contains("not defined by an external", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(badIn)).Message);

        Graph frag = Chain();
        var f = new Fragment("f") { Body = [new Node("relu", "r").With(Arg.Ref("x"))] };
        f.Parameters.Add(new FragmentParameter("a", "tensor<scalar>"));
        f.Results.Add(new FragmentResult("r", "tensor<scalar>"));
        frag.Fragments.Add(f);
        Assert.Contains("not a parameter", Assert.Throws<InvalidGraphException>(() => GraphValidator.Validate(frag)).Message);
    }

    [Fact]
    public void SymbolsAndExternalShapesMayUseUndeclaredNames()
    {
        Graph g = Chain();
        g.Nodes[0].With("shape", Arg.Array(Arg.Int(1), Arg.Ref("T"), Arg.Int(8)));
        g.Nodes.Add(new Node("tile", "t").With(Arg.Ref("y")).With("repeats", Arg.Array(Arg.Int(1), Arg.Ref("S"), Arg.Int(1))));
        GraphValidator.Validate(g);
    }

    [Fact]
    public void TopologicalSortKeepsOrderWhereItCanAndNamesCycles()
    {
        Graph g = Chain();
        g.Nodes.Add(new Node("relu", "b").With(Arg.Ref("a")));
        g.Nodes.Add(new Node("relu", "a").With(Arg.Ref("y")));
        g.Nodes.Add(new Node("relu", "c").With(Arg.Ref("x")));
        GraphValidator.SortTopologically(g);
        Assert.Equal(["x", "w", "y", "a", "b", "c"], g.Nodes.Select(n => n.Name));
        GraphValidator.Validate(g);

        Graph cyc = Chain();
        cyc.Nodes.Add(new Node("relu", "p").With(Arg.Ref("q")));
        cyc.Nodes.Add(new Node("relu", "q").With(Arg.Ref("r")));
        cyc.Nodes.Add(new Node("relu", "r").With(Arg.Ref("p")));
        var e = Assert.Throws<InvalidGraphException>(() => GraphValidator.SortTopologically(cyc));
        Assert.Contains("cycle", e.Message);
        Assert.Contains("'p'", e.Message);
        Assert.Contains("'q'", e.Message);
        Assert.Contains("'r'", e.Message);
    }

    [Fact]
    public void DeadStatementsVariablesQuantAndFragmentsAreRemoved()
    {
        Graph g = Chain();
        g.AddInput("unused_input", DType.F32, [Dim.Of(1)]);
        g.AddVariable("dead_w", "dead_w", Zeros(2));
        g.Nodes.Add(new Node("helper", "dead").With(Arg.Ref("dead_w")));
        g.Quantization["dead"] = new QuantInfo { Scale = 0.5, Bits = 8 };
        g.Nodes.Add(new Node("used_frag", "z").With(Arg.Ref("y")));
        g.Outputs.Add("z");
        g.Fragments.Add(new Fragment("used_frag") { Body = [new Node("inner", "o")] });
        g.Fragments.Add(new Fragment("inner") { Body = [] });
        g.Fragments.Add(new Fragment("helper") { Body = [] });
        g.Fragments.Add(new Fragment("never") { Body = [] });

        Assert.Equal(2, DeadNodeElimination.Run(g));
        Assert.Equal(["x", "w", "y", "unused_input", "z"], g.Nodes.Select(n => n.Name));
        Assert.False(g.Variables.ContainsKey("dead_w"));
        Assert.Empty(g.Quantization);
        Assert.Equal(["used_frag", "inner"], g.Fragments.Select(f => f.Name));
        Assert.Equal(0, DeadNodeElimination.Run(g));
    }

    [Fact]
    public void ShapeComputationsOnKnownShapesFoldToLiteralsAndSymbols()
    {
        var g = new Graph();
        g.Registries.Add("tract_core"); // tract_core_shape_of and tract_core_cast need it, as in tract
        g.Symbols.Add("P");
        g.AddInput("cache", DType.F32, [Dim.Of(1), Dim.Of(2), Dim.Symbol("P"), Dim.Of(16)]);
        g.AddVariable("inv", "inv", Zeros(8));
        g.Nodes.Add(new Node("unsqueeze", "inv2").With(Arg.Ref("inv")).With("axes", Arg.Ints(0, 2)));           // [1, 8, 1]
        g.Nodes.Add(new Node("tract_core_shape_of", "s").With(Arg.Ref("inv2")));
        g.Nodes.Add(new Node("slice", "s1").With(Arg.Ref("s")).With("axes", Arg.Ints(0)).With("begin", Arg.Ints(1)).With("end", Arg.Ints(2)).With("stride", Arg.Ints(1)));
        g.Nodes.Add(new Node("squeeze", "d1").With(Arg.Ref("s1")).With("axes", Arg.Ints(0)));                   // 8
        g.Nodes.Add(new Node("tract_core_shape_of", "cs").With(Arg.Ref("cache")));
        g.Nodes.Add(new Node("slice", "cs2").With(Arg.Ref("cs")).With("axes", Arg.Ints(0)).With("begin", Arg.Ints(2)).With("end", Arg.Ints(3)));
        g.Nodes.Add(new Node("squeeze", "p").With(Arg.Ref("cs2")).With("axes", Arg.Ints(0)));                   // P
        g.Nodes.Add(new Node("div", "half").With(Arg.Ref("d1")).With(Arg.Int(2)));                              // 4
        g.Nodes.Add(new Node("div", "inexact").With(Arg.Ref("d1")).With(Arg.Int(3)));                           // not folded
        g.Nodes.Add(new Node("tract_core_cast", "half_t").With(Arg.Ref("half")).With("to", Arg.String("tdim")));
        g.Nodes.Add(new Node("tile", "t").With(Arg.Ref("inv2")).With("repeats", Arg.Array(Arg.Ref("half_t"), Arg.Ref("p"), Arg.Ref("inexact"))));
        g.Nodes.Add(new Node("concat", "c").With(Arg.Array(Arg.Ref("d1"), Arg.Ref("d1"))).With("axis", Arg.Int(0)));
        g.Outputs.AddRange(["t", "c"]);

        int replaced = ShapeConstantFolding.Run(g);
        // d1 in 'half' and 'inexact', half in 'half_t', half_t and p in the tile repeats.
        Assert.Equal(5, replaced);
        Node tile = g.FindProducer("t")!;
        Assert.Equal(Arg.Array(Arg.Int(4), Arg.Ref("P"), Arg.Ref("inexact")), tile.GetAttribute("repeats"));
        Node inexact = g.FindProducer("inexact")!;
        Assert.Equal([Arg.Int(8), Arg.Int(3)], inexact.Inputs);
        // concat's values array becomes a tensor in tract: it is left alone, so d1's chain stays.
        Assert.Equal(Arg.Array(Arg.Ref("d1"), Arg.Ref("d1")), g.FindProducer("c")!.Inputs[0]);
        Assert.NotNull(g.FindProducer("d1"));
        Assert.Null(g.FindProducer("half_t"));
        Assert.Null(g.FindProducer("p"));
        Assert.Null(g.FindProducer("cs"));
        GraphValidator.Validate(g);
    }
}
