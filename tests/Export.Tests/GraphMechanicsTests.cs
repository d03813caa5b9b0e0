using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using static TorchToNnef.Export.Tests.GraphFixture;

namespace TorchToNnef.Export.Tests;

/// <summary>Name resolution, scopes, fragments, symbols and assertions, as tract's deserializer handles them.</summary>
public class GraphMechanicsTests
{
    [Fact]
    public void AnUnknownOperatorNamesTheNode()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2);
        g.Op("y", "frobnicate", R("x"));
        g.Output("y");
        var e = Assert.Throws<UnsupportedFeatureException>(() => g.Run(F32("x", [1, 2], 2)));
        Assert.Contains("'y'", e.Message);
        Assert.Contains("unknown operator 'frobnicate'", e.Message);
    }

    [Fact]
    public void APreparedEvaluatorKeepsReportingAnUnknownOperatorAndSeesFragmentsAddedLater()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2);
        g.Op("y", "twice", R("x"));
        g.Output("y");
        var evaluator = new GraphEvaluator(g.Graph);
        for (int run = 0; run < 2; run++)
        {
            var e = Assert.Throws<UnsupportedFeatureException>(() => evaluator.Run([F32("x", [1, 2], 2)]));
            Assert.Contains("unknown operator 'twice'", e.Message);
        }

        var twice = new Fragment("twice") { Body = [new Node("add", "y").With(R("x")).With(R("x"))] };
        twice.Parameters.Add(new FragmentParameter("x", "tensor<scalar>"));
        twice.Results.Add(new FragmentResult("y", "tensor<scalar>"));
        g.Graph.Fragments.Add(twice);
        Assert.Equal(new float[] { 2, 4 }, evaluator.Run([F32("x", [1, 2], 2)])[0].Value.Span<float>().ToArray());
        Assert.Equal(new float[] { -6, 8 }, evaluator.Run([F32("x", [-3, 4], 2)])[0].Value.Span<float>().ToArray());
    }

    [Fact]
    public void TractCoreOperatorsNeedTheRegistryExtension()
    {
        var g = new GraphFixture(core: false).Input("x", DType.F32, 2);
        g.Op("s", "tract_core_shape_of", R("x"));
        g.Output("s");
        var e = Assert.Throws<InvalidGraphException>(() => g.Run(F32("x", [1, 2], 2)));
        Assert.Contains("extension tract_registry tract_core", e.Message);
    }

    [Fact]
    public void FragmentBodiesSeeOnlyTheirParametersAndDefaultsApply()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2);
        var scaled = new Fragment("scaled") { Body = [new Node("mul", "y").With(R("x")).With(R("factor"))] };
        scaled.Parameters.Add(new FragmentParameter("x", "tensor<scalar>"));
        scaled.Parameters.Add(new FragmentParameter("factor", "scalar", Arg.Float(3.0)));
        scaled.Results.Add(new FragmentResult("y", "tensor<scalar>"));
        var leaky = new Fragment("leaky") { Body = [new Node("mul", "y").With(R("x")).With(R("outside"))] };
        leaky.Parameters.Add(new FragmentParameter("x", "tensor<scalar>"));
        leaky.Results.Add(new FragmentResult("y", "tensor<scalar>"));
        g.Graph.Fragments.AddRange([scaled, leaky]);
        g.Op("outside", "add", R("x"), F(1.0));
        g.Op("a", "scaled", R("x"));
        g.Op("b", "scaled", R("x")).With("factor", F(0.5));
        g.Output("a", "b");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", [1, 2], 2));
        Assert.Equal(new float[] { 3, 6 }, r[0].Value.Span<float>().ToArray());
        Assert.Equal(new float[] { 0.5f, 1 }, r[1].Value.Span<float>().ToArray());

        g.Op("c", "leaky", R("x"));
        g.Graph.Outputs.Add("c");
        var e = Assert.Throws<InvalidGraphException>(() => g.Run(F32("x", [1, 2], 2)));
        Assert.Contains("'outside' is neither a value in scope nor a bound symbol", e.Message);
        Assert.Contains("'c (leaky) > y'", e.Message);
    }

    [Fact]
    public void ADocumentFragmentShadowsTheBuiltInOfTheSameName()
    {
        var g = new GraphFixture().Input("x", DType.F32, 2);
        var relu = new Fragment("relu") { Body = [new Node("neg", "y").With(R("x"))] };
        relu.Parameters.Add(new FragmentParameter("x", "tensor<scalar>"));
        relu.Results.Add(new FragmentResult("y", "tensor<scalar>"));
        g.Graph.Fragments.Add(relu);
        g.Op("y", "relu", R("x"));
        g.Output("y");
        Assert.Equal(new float[] { 1, -2 }, g.RunSingle(F32("x", [-1, 2], 2)).Span<float>().ToArray());
    }

    [Fact]
    public void RecursiveFragmentsAreStopped()
    {
        var g = new GraphFixture().Input("x", DType.F32, 1);
        var loop = new Fragment("loop") { Body = [new Node("loop", "y").With(R("x"))] };
        loop.Parameters.Add(new FragmentParameter("x", "tensor<scalar>"));
        loop.Results.Add(new FragmentResult("y", "tensor<scalar>"));
        g.Graph.Fragments.Add(loop);
        g.Op("y", "loop", R("x"));
        g.Output("y");
        var e = Assert.Throws<InvalidGraphException>(() => g.Run(F32("x", [1], 1)));
        Assert.Contains("nest deeper", e.Message);
    }

    [Fact]
    public void MultipleResultsBindInOrder()
    {
        var g = new GraphFixture().Input("x", DType.F32, 1, 1, 2, 2);
        var node = new Node("max_pool_with_index", "m", "i").With(R("x")).With("size", Arg.Ints(1, 1, 2, 2)).With("border", Arg.String("ignore"));
        node.With("padding", Arg.Array(Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0)), Arg.Tuple(I(0), I(0))));
        g.Graph.Nodes.Add(node);
        g.Output("m", "i");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", [1, 7, 3, 2], 1, 1, 2, 2));
        Assert.Equal(7f, r[0].Value.Span<float>()[0]);
        Assert.Equal(1L, r[1].Value.Span<long>()[0]);
    }

    [Fact]
    public void SymbolsBindFromInputsAndScenarioAssertionsApplyWhenAsked()
    {
        var g = new GraphFixture().SymbolicInput("ids", DType.I64, "1", "S").SymbolicInput("cache", DType.F32, "P", "2");
        g.Graph.Assertions.Add(Assertion.Parse("S+P < 8"));
        g.Graph.Assertions.Add(Assertion.Parse("tg: S==1"));
        g.Op("s", "tract_core_shape_of", R("ids"));
        g.Op("p", "tract_core_shape_of", R("cache"));
        g.Output("s", "p");
        NamedTensor Ids(int s) => new("ids", TensorValue.Create(DatumType.I64, [1, s], new long[s]));
        NamedTensor Cache(int p) => new("cache", TensorValue.Zeros(DatumType.F32, [p, 2]));

        Assert.Equal(new long[] { 3, 2 }, g.Run(Ids(3), Cache(3))[1].Value.Span<long>().ToArray());
        var tooLong = Assert.Throws<InvalidGraphException>(() => g.Run(Ids(4), Cache(4)));
        Assert.Contains("S+P < 8", tooLong.Message);
        var tg = Assert.Throws<InvalidGraphException>(() => new GraphEvaluator(g.Graph, new EvaluationOptions { Scenario = "tg" }).Run([Ids(3), Cache(0)]));
        Assert.Contains("S==1", tg.Message);
        Assert.Single(new GraphEvaluator(g.Graph, new EvaluationOptions { Scenario = "tg" }).Run([Ids(1), Cache(0)])[0].Value.Span<long>().ToArray()[1..]);
    }

    [Fact]
    public void InconsistentSymbolBindingIsAnError()
    {
        var g = new GraphFixture().SymbolicInput("a", DType.F32, "S").SymbolicInput("b", DType.F32, "S");
        g.Op("y", "add", R("a"), R("b"));
        g.Output("y");
        var e = Assert.Throws<InvalidGraphException>(() => g.Run(F32("a", new float[3], 3), F32("b", new float[4], 4)));
        Assert.Contains("symbol S", e.Message);
    }

    [Fact]
    public void F32FeedsAnF16InputAndAMissingEmptyInputIsZeros()
    {
        var g = new GraphFixture().Input("x", DType.F16, 2).Input("empty", DType.F16, 0, 3);
        g.Op("y", "add", R("x"), F(0.0));
        g.Op("e", "copy", R("empty"));
        g.Output("y", "e");
        IReadOnlyList<NamedTensor> r = g.Run(F32("x", [0.1f, 3f], 2));
        Assert.Equal(new[] { (Half)0.1f, (Half)3f }, r[0].Value.Span<Half>().ToArray());
        Assert.Equal(new[] { 0, 3 }, r[1].Value.Shape.ToArray());
        var wrongType = Assert.Throws<InvalidGraphException>(() => g.Run(new NamedTensor("x", TensorValue.Create(DatumType.I64, [2], new long[2]))));
        Assert.Contains("declared F16, fed I64", wrongType.Message);
    }

    [Fact]
    public void APlainAssignmentCastsToItsGraphQuantType()
    {
        var g = new GraphFixture().Input("x", DType.F32, 3);
        g.Graph.Quantization["q"] = new QuantInfo { ZeroPoint = 10, Scale = 0.5, Bits = 8, Signed = false };
        g.Op("xq", "tract_core_cast", R("x")).With("to", Arg.String("u8"));
        g.Graph.Nodes.Add(new Node(Graph.AliasOp, "q").With(R("xq")));
        g.Output("q");
        TensorValue q = g.RunSingle(F32("x", [1, 2, 300], 3));
        Assert.Equal(DatumType.QU8(10, 0.5f), q.Type);
        // u8 -> QU8 with the same storage is a raw re-typing (1, 2, 255 saturated by the u8 cast).
        Assert.Equal(new byte[] { 1, 2, 255 }, q.Span<byte>().ToArray());
    }
}
