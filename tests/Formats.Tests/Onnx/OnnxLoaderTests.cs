using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Onnx;

/// <summary>What the loader exposes of well-formed models written here: declarations, opsets, attributes, subgraphs.</summary>
public class OnnxLoaderTests
{
    [Fact]
    public void InputsOutputsAndValueInfoKeepTheirTypesAndNamedDims()
    {
        using var dir = new TempDir();
        var b = new OnnxModelBuilder(opset: 13);
        b.Graph.Input("x", OnnxDataType.Float, "batch", 3, null, 8)
            .Input("w", OnnxDataType.Float, 8)
            .Input("mask", OnnxDataType.Bool, null)
            .Initializer(OnnxTensorSpec.Floats("w", [1, 2, 3, 4, 5, 6, 7, 8], 8))
            .Node("Mul", ["x", "w"], ["y"])
            .ValueInfo("y", OnnxDataType.Float, "batch", 3, "h", 8)
            .Node("Relu", ["y"], ["z"])
            .Output("z", OnnxDataType.Float, "batch", 3, null, 8);
        b.Metadata("author", "tests");
        using OnnxModel model = OnnxModel.Load(b.Save(dir.File("m.onnx")));

        Assert.Equal(8, model.IrVersion);
        Assert.Equal(13, model.Opset);
        Assert.Equal("t2n-tests", model.ProducerName);
        Assert.Equal("tests", model.Metadata["author"]);
        Assert.Equal(["x", "w", "mask"], model.Graph.Inputs.Select(i => i.Name));
        // 'w' has an initializer: a default the caller may override, not an input the caller must give.
        Assert.Equal(["x", "mask"], model.Graph.RuntimeInputs.Select(i => i.Name));
        OnnxValueInfo x = model.Graph.Inputs[0];
        Assert.Equal(OnnxValueKind.Tensor, x.Kind);
        Assert.Equal(OnnxDataType.Float, x.ElementType);
        Assert.Equal([OnnxDim.Named("batch"), OnnxDim.Known(3), OnnxDim.Unknown, OnnxDim.Known(8)], x.Shape!);
        Assert.Equal("x: FLOAT[batch, 3, ?, 8]", x.ToString());
        Assert.Null(model.Graph.Inputs[2].Shape);
        Assert.Equal("h", model.Graph.ValueInfo["y"].Shape![2].Symbol);
        Assert.Same(model.Graph.ValueInfo["y"], model.Graph.FindValueInfo("y"));
        Assert.Equal([OnnxDim.Known(8)], model.Graph.FindValueInfo("w")!.Shape!);
        Assert.Null(model.Graph.FindValueInfo("nothing"));
        Assert.Equal(new SortedDictionary<string, int> { ["Mul"] = 1, ["Relu"] = 1 }, model.Graph.OperatorHistogram());
        Assert.Equal(["Mul_0", "Relu_1"], model.Graph.Nodes.Select(n => n.Name));
        Assert.Equal(["x", "w"], model.Graph.Nodes[0].Inputs);
    }

    [Theory]
    [InlineData(9)]
    [InlineData(11)]
    [InlineData(13)]
    [InlineData(21)]
    public void SupportedOpsetsLoad(int opset)
    {
        using var dir = new TempDir();
        using OnnxModel model = OnnxModel.Load(Relu(opset).Save(dir.File("m.onnx")));
        Assert.Equal(opset, model.Opset);
        Assert.Equal(opset, model.OpsetOf("ai.onnx"));
    }

    [Theory]
    [InlineData(8)]
    [InlineData(22)]
    public void OpsetsOutsideTheRangeAreRefusedByName(int opset)
    {
        using var dir = new TempDir();
        string path = Relu(opset).Save(dir.File("m.onnx"));
        var e = Assert.Throws<UnsupportedFeatureException>(() => OnnxModel.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Contains($"ONNX opset {opset} is not supported (opsets 9 to 21 are)", e.Message);
    }

    [Fact]
    public void OtherDomainsAreRecordedAndAiOnnxIsTheStandardDomain()
    {
        using var dir = new TempDir();
        OnnxModelBuilder b = Relu(17).ClearOpsets().Opset("ai.onnx", 17).Opset("com.microsoft", 1);
        b.Graph.NamedNode("", "Gelu", ["y"], ["g"], [], domain: "com.microsoft").NamedNode("std", "Relu", ["g"], ["h"], [], domain: "ai.onnx");
        using OnnxModel model = OnnxModel.Load(b.Save(dir.File("m.onnx")));
        Assert.Equal(17, model.Opset);
        Assert.Equal(1, model.OpsetOf("com.microsoft"));
        Assert.Null(model.OpsetOf("ai.onnx.ml"));
        OnnxNode gelu = model.Graph.Nodes[1];
        Assert.Equal("com.microsoft.Gelu", gelu.QualifiedOpType);
        Assert.Equal("#1", gelu.DisplayName);
        Assert.Equal("node '#1' (com.microsoft.Gelu)", gelu.ToString());
        Assert.Equal(string.Empty, model.Graph.Nodes[2].Domain);
    }

    [Fact]
    public void AttributesAreReadByKindAndAWrongKindNamesTheNode()
    {
        using var dir = new TempDir();
        var b = new OnnxModelBuilder(opset: 17);
        b.Graph.Input("x", OnnxDataType.Float, 1, 3, 8, 8)
            .Initializer(OnnxTensorSpec.Floats("w", new float[3 * 3 * 9], 3, 3, 3, 3))
            .Node("Conv", ["x", "w"], ["y"],
                OnnxAttr.Ints("pads", 1, 1, 1, 1), OnnxAttr.Int("group", 1), OnnxAttr.String("auto_pad", "NOTSET"),
                OnnxAttr.Floats("scales", 0.5f, 2f), OnnxAttr.Float("alpha", 0.25f), OnnxAttr.Strings("names", "a", "é"))
            .Output("y", OnnxDataType.Float, 1, 3, 8, 8);
        string path = b.Save(dir.File("m.onnx"));
        using OnnxModel model = OnnxModel.Load(path);
        OnnxAttributes a = model.Graph.Nodes[0].Attributes;
        Assert.Equal([1L, 1, 1, 1], a.GetInts("pads"));
        Assert.Equal(1, a.GetInt("group"));
        Assert.Equal(7, a.GetInt("absent", 7));
        Assert.Equal("NOTSET", a.GetString("auto_pad"));
        Assert.Equal([0.5f, 2f], a.GetFloats("scales"));
        Assert.Equal(0.25f, a.GetFloat("alpha"));
        Assert.Equal(["a", "é"], a.GetStrings("names"));
        Assert.Null(a.GetIntsOrNull("strides"));
        Assert.True(a.Contains("pads"));

        var wrongKind = Assert.Throws<InvalidInputFileException>(() => a.GetInt("pads"));
        Assert.Equal($"{path}: node 'Conv_0' (Conv): attribute 'pads' is INTS, expected INT", wrongKind.Message);
        var missing = Assert.Throws<InvalidInputFileException>(() => a.GetFloat("beta"));
        Assert.Equal($"{path}: node 'Conv_0' (Conv): attribute 'beta' (FLOAT) is required but absent", missing.Message);
    }

    [Fact]
    public void SubgraphsSeeEnclosingValuesAndCountInTheHistogram()
    {
        using var dir = new TempDir();
        var thenBranch = new OnnxGraphBuilder("then").Node("Add", ["x", "one"], ["t"]).Output("t", OnnxDataType.Float, 2);
        var elseBranch = new OnnxGraphBuilder("else").Node("Neg", ["x"], ["e"]).Output("e", OnnxDataType.Float, 2);
        var b = new OnnxModelBuilder(opset: 17);
        b.Graph.Input("x", OnnxDataType.Float, 2).Input("c", OnnxDataType.Bool)
            .Initializer(OnnxTensorSpec.Floats("one", [1f], 1))
            .Node("If", ["c"], ["y"], OnnxAttr.Graph("then_branch", thenBranch), OnnxAttr.Graph("else_branch", elseBranch))
            .Output("y", OnnxDataType.Float, 2);
        using OnnxModel model = OnnxModel.Load(b.Save(dir.File("m.onnx")));
        OnnxNode node = model.Graph.Nodes[0];
        OnnxGraph then = node.Attributes.GetGraph("then_branch");
        Assert.Same(model.Graph, then.Parent);
        Assert.Equal(["x", "one"], then.Nodes[0].Inputs);
        Assert.Empty(then.Inputs);
        Assert.Equal(new SortedDictionary<string, int> { ["Add"] = 1, ["If"] = 1, ["Neg"] = 1 }, model.Graph.OperatorHistogram());

        // The same model checked by ONNX Runtime: the branches compute what the loader says they compute.
        using Tensor x = Tensor.FromFloats(Shape.Of(2), [3f, -4f]);
        using Tensor cTrue = Tensor.FromSpan<bool>(DType.Bool, Shape.Scalar, [true]);
        Dictionary<string, Tensor> ort = OnnxRuntimeOracle.Run(model.Path, new Dictionary<string, Tensor> { ["x"] = x, ["c"] = cTrue });
        Assert.Equal([4f, -3f], ort["y"].AsSpan<float>().ToArray());
    }

    [Fact]
    public void ConstantNodeFormsGiveTheirTensors()
    {
        using var dir = new TempDir();
        var b = new OnnxModelBuilder(opset: 13);
        b.Graph.Constant("t", OnnxTensorSpec.Int64s("", [4, 5, 6], 3))
            .Node("Constant", [], ["f"], OnnxAttr.Float("value_float", 2.5f))
            .Node("Constant", [], ["fs"], OnnxAttr.Floats("value_floats", 1f, -1f))
            .Node("Constant", [], ["i"], OnnxAttr.Int("value_int", -9))
            .Node("Constant", [], ["is"], OnnxAttr.Ints("value_ints", 7, 8, 9, 10))
            .Node("Constant", [], ["s"], OnnxAttr.String("value_string", "text"))
            .Output("t", OnnxDataType.Int64, 3);
        using OnnxModel model = OnnxModel.Load(b.Save(dir.File("m.onnx")));
        OnnxNode[] n = model.Graph.Nodes.ToArray();
        AssertTensor(OnnxConstants.Value(n[0]), DType.I64, Shape.Of(3), new long[] { 4, 5, 6 });
        Assert.Equal("Constant_0.value", OnnxConstants.Value(n[0]).Name);
        AssertTensor(OnnxConstants.Value(n[1]), DType.F32, Shape.Scalar, new[] { 2.5f });
        AssertTensor(OnnxConstants.Value(n[2]), DType.F32, Shape.Of(2), new[] { 1f, -1f });
        AssertTensor(OnnxConstants.Value(n[3]), DType.I64, Shape.Scalar, new long[] { -9 });
        AssertTensor(OnnxConstants.Value(n[4]), DType.I64, Shape.Of(4), new long[] { 7, 8, 9, 10 });
        Assert.Equal("is", OnnxConstants.Value(n[4]).Name);
        var e = Assert.Throws<UnsupportedFeatureException>(() => OnnxConstants.Value(n[5]));
        Assert.Contains("node 'Constant_5' (Constant): attribute 'value_string' is a string constant", e.Message);
    }

    private static void AssertTensor<T>(OnnxTensor source, DType dtype, Shape shape, T[] expected)
        where T : unmanaged
    {
        Assert.Equal(dtype, source.DType);
        Assert.Equal(shape, source.Shape);
        using Tensor t = source.Open();
        Assert.Equal(expected, t.AsSpan<T>().ToArray());
    }

    private static OnnxModelBuilder Relu(int opset)
    {
        var b = new OnnxModelBuilder(opset);
        b.Graph.Input("x", OnnxDataType.Float, 4).Node("Relu", ["x"], ["y"]).Output("y", OnnxDataType.Float, 4);
        return b;
    }
}
