using Google.Protobuf;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.Formats.Onnx.Protobuf;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Onnx;

/// <summary>
/// Malformed, inconsistent or unsupported ONNX files written here. Each is refused with an error of ours naming the
/// file, the tensor or node at fault and what is wrong (asserted as text), before anything sized by the file's claims
/// is allocated; never a crash or another exception type.
/// </summary>
public class OnnxMalformedTests
{
    private delegate void Edit(OnnxModelBuilder b);

    /// <summary>Case name to (edit of a valid model, expected exception type, message fragment, tensor at fault or null).</summary>
    private static readonly Dictionary<string, (Edit Edit, Type Error, string Fault, string? Tensor)> Cases = new()
    {
        // Tensor types and sizes.
        ["unknown-data-type"] = (b => Weight(b).DataType = 99, typeof(InvalidInputFileException), "has unknown data type 99", "w"),
        ["no-data-type"] = (b => Weight(b).DataType = 0, typeof(InvalidInputFileException), "has no data type", "w"),
        ["string-tensor"] = (b => Weight(b).DataType = 8, typeof(UnsupportedFeatureException), "data type STRING is not supported", "w"),
        ["float8-tensor"] = (b => Weight(b).DataType = 17, typeof(UnsupportedFeatureException), "data type FLOAT8E4M3FN is not supported", "w"),
        ["raw-too-short"] = (b => SetRaw(b, new byte[12]), typeof(InvalidInputFileException), "raw_data holds 12 bytes but FLOAT dims [4] need 16", "w"),
        ["raw-too-long"] = (b => SetRaw(b, new byte[20]), typeof(InvalidInputFileException), "raw_data holds 20 bytes but FLOAT dims [4] need 16", "w"),
        ["dims-claim-terabytes"] = (b => SetDims(b, 1L << 40, 1L << 8), typeof(InvalidInputFileException), "raw_data holds 16 bytes but FLOAT dims [1099511627776, 256] need 1125899906842624", "w"),
        ["dims-overflow"] = (b => SetDims(b, 1L << 40, 1L << 40), typeof(InvalidInputFileException), "invalid dims [1099511627776, 1099511627776]: element count overflows 64 bits", "w"),
        ["bytes-overflow"] = (b => SetDims(b, 1L << 62, 1), typeof(InvalidInputFileException), "dims [4611686018427387904, 1] of FLOAT need more than 2^63 bytes", "w"),
        ["negative-dim"] = (b => SetDims(b, -1, 4), typeof(InvalidInputFileException), "invalid dims [-1, 4]: negative dimension -1", "w"),
        ["rank-9"] = (b => SetDims(b, 1, 1, 1, 1, 1, 1, 1, 1, 4), typeof(UnsupportedFeatureException), "rank 9 is above the supported maximum of 8", "w"),
        ["typed-count"] = (b => SetTyped(b, t => t.FloatData.Add([1f, 2f, 3f])), typeof(InvalidInputFileException), "float_data holds 3 values but dims [4] need 4", "w"),
        ["typed-huge-dims"] = (b => { SetTyped(b, t => t.FloatData.Add([1f])); SetDims(b, 1L << 40); }, typeof(InvalidInputFileException), "float_data holds 1 values but dims [1099511627776] need 1099511627776", "w"),
        ["typed-wrong-field"] = (b => SetTyped(b, t => { t.DataType = 7; t.FloatData.Add([1f, 2f, 3f, 4f]); }), typeof(InvalidInputFileException), "stores INT64 values in float_data; the format puts them in int64_data", "w"),
        ["typed-out-of-range"] = (b => SetTyped(b, t => { t.DataType = 3; t.Int32Data.Add([1, 300, 2, 3]); }), typeof(InvalidInputFileException), "int32_data[1] = 300 is out of range for INT8", "w"),
        ["typed-bool-2"] = (b => SetTyped(b, t => { t.DataType = 9; t.Int32Data.Add([1, 0, 2, 0]); }), typeof(InvalidInputFileException), "int32_data[2] = 2 is out of range for BOOL", "w"),
        ["two-typed-fields"] = (b => SetTyped(b, t => { t.FloatData.Add([1f, 2f, 3f, 4f]); t.Int32Data.Add(1); }), typeof(InvalidInputFileException), "holds values in more than one typed field", "w"),
        ["raw-and-typed"] = (b => ReplaceWeight(b, OnnxTensorSpec.WithRawData(TypedWeight(t => t.FloatData.Add([1f, 2f, 3f, 4f])), new byte[16])), typeof(InvalidInputFileException), "holds data in more than one place (raw_data, float_data)", "w"),
        ["no-data"] = (b => SetTyped(b, _ => { }), typeof(InvalidInputFileException), "has no data but FLOAT dims [4] need 16 bytes", "w"),
        ["segment"] = (b => Weight(b).Segment = new TensorProto.Types.Segment { Begin = 0, End = 4 }, typeof(UnsupportedFeatureException), "is stored in segments", "w"),
        ["external-entries-not-external"] = (b => Weight(b).ExternalData.Add(new StringStringEntryProto { Key = "location", Value = "w.bin" }), typeof(InvalidInputFileException), "has external_data entries but its data_location is not EXTERNAL", "w"),
        ["unknown-data-location"] = (b => Weight(b).DataLocation = 7, typeof(InvalidInputFileException), "has unknown data_location 7", "w"),

        // Graph structure and scoping.
        ["undefined-input"] = (b => b.Graph.Node("Relu", ["nowhere"], ["r"]), typeof(InvalidInputFileException), "node 'Relu_1' (Relu): input 'nowhere' is not a graph input, an initializer or the output of an earlier node (nodes must be in topological order)", null),
        ["out-of-order"] = (b => { b.Graph.Node("Relu", ["late"], ["r"]); b.Graph.Node("Relu", ["y"], ["late"]); }, typeof(InvalidInputFileException), "node 'Relu_1' (Relu): input 'late' is not a graph input", null),
        ["output-twice"] = (b => b.Graph.Node("Relu", ["x"], ["y"]), typeof(InvalidInputFileException), "node 'Relu_1' (Relu): output 'y' is already defined", null),
        ["output-shadows-input"] = (b => b.Graph.Node("Relu", ["y"], ["x"]), typeof(InvalidInputFileException), "output 'x' is already defined", null),
        ["graph-output-undefined"] = (b => b.Graph.Output("z", OnnxDataType.Float, 4), typeof(InvalidInputFileException), "graph output 'z' is not produced by any node, initializer or input", null),
        ["graph-input-twice"] = (b => b.Graph.Input("x", OnnxDataType.Float, 4), typeof(InvalidInputFileException), "graph input 'x' is declared twice", null),
        ["initializer-twice"] = (b => b.Graph.Initializer(OnnxTensorSpec.Floats("w", [1, 2, 3, 4], 4)), typeof(InvalidInputFileException), "is given by two initializers", "w"),
        ["initializer-unnamed"] = (b => Weight(b).Name = "", typeof(InvalidInputFileException), "initializer #0 has no name", null),
        ["value-info-twice"] = (b => b.Graph.ValueInfo("y", OnnxDataType.Float, 4).ValueInfo("y", OnnxDataType.Float, 4), typeof(InvalidInputFileException), "value_info declares 'y' twice", null),
        ["value-info-unknown-type"] = (b => b.Graph.ValueInfo("y", (OnnxDataType)99, 4), typeof(InvalidInputFileException), "graph value_info 'y' has unknown element type 99", null),
        ["negative-declared-dim"] = (b => b.Graph.Proto.Input[0].Type.TensorType.Shape.Dim[0].DimValue = -2, typeof(InvalidInputFileException), "graph input 'x' has negative dimension -2 at axis 0", null),
        ["no-op-type"] = (b => b.Graph.Node("", ["x"], ["r"]), typeof(InvalidInputFileException), "has no op_type", null),
        ["sparse-initializer"] = (b => b.Graph.Proto.SparseInitializer.Add(new SparseTensorProto { Values = new TensorProto { Name = "sp", DataType = 1 } }), typeof(UnsupportedFeatureException), "sparse initializers are not supported ('sp')", null),
        ["subgraph-undefined"] = (b => b.Graph.Node("If", ["c"], ["r"], OnnxAttr.Graph("then_branch", new OnnxGraphBuilder().Node("Neg", ["ghost"], ["o"]).Output("o", OnnxDataType.Float))),
            typeof(InvalidInputFileException), "node 'Neg_0' (Neg) in the subgraph of node 'If_1' (If) attribute 'then_branch': input 'ghost' is not a graph input", null),

        // Attributes.
        ["attribute-twice"] = (b => b.Graph.Node("Softmax", ["y"], ["r"], OnnxAttr.Int("axis", 0), OnnxAttr.Int("axis", 0)), typeof(InvalidInputFileException), "node 'Softmax_1' (Softmax): attribute 'axis' is given twice", null),
        ["attribute-unnamed"] = (b => b.Graph.Node("Softmax", ["y"], ["r"], OnnxAttr.Int("", 0)), typeof(InvalidInputFileException), "node 'Softmax_1' (Softmax): attribute #0 has no name", null),
        ["attribute-unknown-type"] = (b => b.Graph.Node("Softmax", ["y"], ["r"], OnnxAttr.RawType("axis", 99)), typeof(InvalidInputFileException), "attribute 'axis' has unknown attribute type 99", null),
        ["attribute-no-value"] = (b => b.Graph.Node("Softmax", ["y"], ["r"], OnnxAttr.RawType("axis", 0)), typeof(InvalidInputFileException), "attribute 'axis' has neither a type nor a value", null),
        ["attribute-ref"] = (b => { b.Graph.Node("Softmax", ["y"], ["r"], OnnxAttr.Int("axis", 0)); b.Graph.Proto.Node[1].Attribute[0].RefAttrName = "outer"; }, typeof(InvalidInputFileException), "refers to a function attribute ('outer')", null),
        ["attribute-bad-utf8"] = (b => { b.Graph.Node("Softmax", ["y"], ["r"], OnnxAttr.String("mode", "x")); b.Graph.Proto.Node[1].Attribute[0].S = ByteString.CopyFrom(0xC0, 0xAF); }, typeof(InvalidInputFileException), "attribute 'mode' is not valid UTF-8", null),
        ["attribute-sparse"] = (b => b.Graph.Node("Constant", [], ["r"], OnnxAttr.RawType("sparse_value", 11)), typeof(UnsupportedFeatureException), "node 'Constant_1' (Constant): attribute 'sparse_value' is a sparse tensor", null),
        ["attribute-tensor-bad"] = (b => b.Graph.Node("Constant", [], ["r"], OnnxAttr.Tensor("value", new OnnxTensorSpec("", (OnnxDataType)42, [1], new byte[4]))), typeof(InvalidInputFileException), "tensor 'Constant_1.value': has unknown data type 42", "Constant_1.value"),
        ["attribute-tensor-empty"] = (b => b.Graph.Node("Constant", [], ["r"], OnnxAttr.RawType("value", 4)), typeof(InvalidInputFileException), "attribute 'value' is TENSOR but holds no tensor", null),

        // Model header.
        ["no-ir-version"] = (b => b.Proto.ClearIrVersion(), typeof(InvalidInputFileException), "the model declares no IR version", null),
        ["ir-version-2"] = (b => b.Proto.IrVersion = 2, typeof(UnsupportedFeatureException), "ONNX IR version 2 is not supported", null),
        ["no-opset"] = (b => b.ClearOpsets().Opset("ai.onnx.ml", 3), typeof(InvalidInputFileException), "imports no version of the standard ONNX operator set", null),
        ["opset-twice"] = (b => b.Opset("ai.onnx", 13), typeof(InvalidInputFileException), "operator set 'ai.onnx' is imported twice", null),
        ["opset-no-version"] = (b => b.ClearOpsets().Proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "" }), typeof(InvalidInputFileException), "operator set 'ai.onnx' has no valid version", null),
        ["no-graph"] = (b => b.Proto.Graph = null, typeof(InvalidInputFileException), "the model has no graph", null),
    };

    public static IEnumerable<object[]> CaseNames => Cases.Keys.Select(k => new object[] { k });

    [Theory]
    [MemberData(nameof(CaseNames))]
    public void IsRefusedWithAClearError(string name)
    {
        (Edit edit, Type error, string fault, string? tensor) = Cases[name];
        using var dir = new TempDir();
        OnnxModelBuilder b = Valid();
        edit(b);
        string path = b.Save(dir.File("m.onnx"));
        var e = (TorchToNnefException)Assert.Throws(error, () => OnnxModel.Load(path));
        Assert.Equal(path, e.FilePath);
        Assert.Equal(tensor, e.TensorName);
        Assert.StartsWith(path + ": ", e.Message, StringComparison.Ordinal);
        Assert.Contains(fault, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheValidBaseModelLoads()
    {
        using var dir = new TempDir();
        using OnnxModel model = OnnxModel.Load(Valid().Save(dir.File("m.onnx")));
        Assert.Equal(4, model.Graph.Initializers["w"].Shape.ElementCount);
    }

    [Fact]
    public void EveryTruncationIsRefused()
    {
        using var dir = new TempDir();
        byte[] whole = Valid().ToBytes();
        string path = dir.File("cut.onnx");
        int refused = 0;
        for (int length = 0; length < whole.Length; length++)
        {
            File.WriteAllBytes(path, whole[..length]);
            var e = Assert.ThrowsAny<TorchToNnefException>(() => OnnxModel.Load(path));
            Assert.True(e is InvalidInputFileException, $"cut at {length}: {e.GetType().Name}: {e.Message}");
            Assert.Equal(path, e.FilePath);
            refused++;
        }

        Assert.Equal(whole.Length, refused);
    }

    [Fact]
    public void CorruptedBytesGiveOurErrorsOrALoadableModel()
    {
        using var dir = new TempDir();
        OnnxModelBuilder b = Valid();
        b.Graph.Node("If", ["c"], ["r"], OnnxAttr.Graph("then_branch", new OnnxGraphBuilder().Constant("o", OnnxTensorSpec.Floats("k", [1, 2], 2)).Output("o", OnnxDataType.Float)),
            OnnxAttr.Graph("else_branch", new OnnxGraphBuilder().Constant("p", OnnxTensorSpec.Floats("q", [3, 4], 2)).Output("p", OnnxDataType.Float)));
        b.Graph.Input("c", OnnxDataType.Bool);
        byte[] whole = b.ToBytes();
        string path = dir.File("flip.onnx");
        var rng = new Random(1234);
        int loaded = 0;
        for (int trial = 0; trial < 3000; trial++)
        {
            byte[] bytes = (byte[])whole.Clone();
            int flips = 1 + rng.Next(3);
            for (int f = 0; f < flips; f++)
            {
                int at = rng.Next(bytes.Length);
                bytes[at] = trial % 2 == 0 ? (byte)(bytes[at] ^ (1 << rng.Next(8))) : (byte)rng.Next(256);
            }

            File.WriteAllBytes(path, bytes);
            try
            {
                using OnnxModel model = OnnxModel.Load(path);
                foreach (OnnxTensor t in model.Graph.InitializerList)
                {
                    using var tensor = t.Open();
                    Assert.Equal(t.ByteLength, tensor.ByteLength);
                }

                loaded++;
            }
            catch (TorchToNnefException e)
            {
                Assert.Equal(path, e.FilePath);
            }
        }

        // Most flips land in names and values and leave a valid model; the point is that nothing else escapes.
        Assert.InRange(loaded, 1, 2999);
    }

    [Fact]
    public void NotProtobufIsRefused()
    {
        using var dir = new TempDir();
        string path = dir.File("text.onnx");
        File.WriteAllText(path, "this is not an ONNX model\n");
        var e = Assert.Throws<InvalidInputFileException>(() => OnnxModel.Load(path));
        Assert.Contains("not a valid ONNX protobuf", e.Message);
        File.WriteAllBytes(path, []);
        Assert.Contains("file is empty", Assert.Throws<InvalidInputFileException>(() => OnnxModel.Load(path)).Message);
    }

    [Fact]
    public void FilesOver2GiBAreRefusedBeforeParsing()
    {
        using var dir = new TempDir();
        string path = dir.File("huge.onnx");
        using (var f = new FileStream(path, FileMode.CreateNew))
        {
            f.Write(Valid().ToBytes());
            f.SetLength((long)int.MaxValue + 16); // sparse: no disk space used
        }

        var e = Assert.Throws<InvalidInputFileException>(() => OnnxModel.Load(path));
        Assert.Contains("over the 2 GiB limit of a protobuf message", e.Message);
    }

    /// <summary>x[4] * w[4] -> y, with w an initializer: each case edits it into a faulty model.</summary>
    internal static OnnxModelBuilder Valid()
    {
        var b = new OnnxModelBuilder(opset: 13);
        b.Graph.Input("x", OnnxDataType.Float, 4)
            .Initializer(OnnxTensorSpec.Floats("w", [1, 2, 3, 4], 4))
            .Node("Mul", ["x", "w"], ["y"])
            .Output("y", OnnxDataType.Float, 4);
        return b;
    }

    private static TensorProto Weight(OnnxModelBuilder b) => b.Graph.Proto.Initializer[0];

    private static void ReplaceWeight(OnnxModelBuilder b, TensorProto t) => b.Graph.Proto.Initializer[0] = t;

    private static void SetRaw(OnnxModelBuilder b, byte[] raw)
    {
        var t = new TensorProto { Name = "w", DataType = 1 };
        t.Dims.Add(4);
        ReplaceWeight(b, OnnxTensorSpec.WithRawData(t, raw));
    }

    private static void SetDims(OnnxModelBuilder b, params long[] dims)
    {
        Weight(b).Dims.Clear();
        Weight(b).Dims.Add(dims);
    }

    private static TensorProto TypedWeight(Action<TensorProto> fill)
    {
        var t = new TensorProto { Name = "w", DataType = 1 };
        t.Dims.Add(4);
        fill(t);
        return t;
    }

    private static void SetTyped(OnnxModelBuilder b, Action<TensorProto> fill) => ReplaceWeight(b, TypedWeight(fill));
}
