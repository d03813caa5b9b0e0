using System.Runtime.InteropServices;
using TorchToNnef.Formats.Onnx;
using TorchToNnef.OnnxTestSupport;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Onnx;

/// <summary>
/// Tensor data read by the loader equals what ONNX Runtime reads from the same file, for every supported data type
/// and every way ONNX stores values: inline raw_data, typed fields, external data, Constant nodes.
/// </summary>
public class OnnxTensorDataTests
{
    public static IEnumerable<object[]> Types =>
        from t in new[]
        {
            OnnxDataType.Float, OnnxDataType.Double, OnnxDataType.Float16, OnnxDataType.BFloat16, OnnxDataType.Int8,
            OnnxDataType.UInt8, OnnxDataType.Int16, OnnxDataType.UInt16, OnnxDataType.Int32, OnnxDataType.UInt32,
            OnnxDataType.Int64, OnnxDataType.UInt64, OnnxDataType.Bool,
        }
        from e in new[] { "raw", "typed", "external", "constant" }
        select new object[] { t, e };

    [Theory]
    [MemberData(nameof(Types))]
    public void ValuesMatchOnnxRuntime(OnnxDataType type, string storage)
    {
        using var dir = new TempDir();
        Assert.True(type.TryGetDType(out DType dtype));
        const int count = 37; // odd and not a multiple of any vector width
        byte[] bytes = Values(dtype, count, seed: (int)type * 7 + storage.Length);
        var spec = new OnnxTensorSpec("w", type, [count], bytes, storage == "typed" ? OnnxTensorEncoding.Typed : OnnxTensorEncoding.Raw);
        var b = new OnnxModelBuilder(opset: 17);
        if (storage == "external")
        {
            b.Graph.Initializer(b.External(OnnxTensorSpec.Floats("pad", [1, 2, 3], 3), "data/weights.bin"));
            spec = b.External(spec, "data/weights.bin");
        }

        if (storage == "constant")
        {
            b.Graph.Constant("w", spec);
        }
        else
        {
            b.Graph.Initializer(spec);
        }

        b.Graph.Node("Identity", ["w"], ["y"]).Output("y", type, count);
        string path = b.Save(dir.File("m.onnx"));

        using OnnxModel model = OnnxModel.Load(path);
        OnnxTensor loaded = storage == "constant" ? OnnxConstants.Value(model.Graph.Nodes[0]) : model.Graph.Initializers["w"];
        Assert.Equal(dtype, loaded.DType);
        Assert.Equal(type, loaded.ElementType);
        Assert.Equal(Shape.Of(count), loaded.Shape);
        Assert.Equal(storage switch { "typed" => OnnxTensorStorage.Decoded, "external" => OnnxTensorStorage.External, _ => OnnxTensorStorage.Inline }, loaded.Storage);
        using Tensor ours = loaded.Open();
        Assert.Equal(bytes, ours.Bytes.ToArray());

        Dictionary<string, Tensor> ort = OnnxRuntimeOracle.Run(path, new Dictionary<string, Tensor>());
        using Tensor reference = ort["y"];
        Assert.Equal(dtype, reference.DType);
        Assert.Equal(reference.Bytes.ToArray(), ours.Bytes.ToArray());
    }

    [Fact]
    public void InlineDataIsViewedWhereTheFileHoldsIt()
    {
        using var dir = new TempDir();
        float[] values = [.. Enumerable.Range(0, 1000).Select(i => i * 0.5f)];
        var b = new OnnxModelBuilder();
        b.Graph.Initializer(OnnxTensorSpec.Floats("w", values, 10, 100)).Node("Identity", ["w"], ["y"]).Output("y", OnnxDataType.Float, 10, 100);
        string path = b.Save(dir.File("m.onnx"));
        byte[] file = File.ReadAllBytes(path);

        using OnnxModel model = OnnxModel.Load(path);
        OnnxTensor w = model.Graph.Initializers["w"];
        Assert.Equal(OnnxTensorStorage.Inline, w.Storage);
        Assert.Null(w.ExternalPath);
        // The offset the loader found holds exactly the values written: no copy was needed to read them.
        Assert.Equal(MemoryMarshal.AsBytes(values.AsSpan()).ToArray(), file.AsSpan((int)w.FileOffset, 4000).ToArray());
        using Tensor t = w.Open();
        Assert.False(t.Data.IsWritable);
        Assert.Equal(values, t.AsSpan<float>().ToArray());
    }

    [Fact]
    public void ExternalTensorsShareOneMappingPerFileAndStayInsideTheFolder()
    {
        using var dir = new TempDir();
        var b = new OnnxModelBuilder();
        b.Graph.Initializer(b.External(OnnxTensorSpec.Floats("a", [1, 2, 3, 4], 4), "w.bin"))
            .Initializer(b.External(OnnxTensorSpec.Int64s("b", [5, 6], 2), "w.bin"))
            .Initializer(b.External(OnnxTensorSpec.Floats("c", [7], 1), "sub/./other.bin"))
            .Node("Identity", ["a"], ["y"]).Output("y", OnnxDataType.Float, 4);
        using OnnxModel model = OnnxModel.Load(b.Save(dir.File("m.onnx")));
        OnnxTensor a = model.Graph.Initializers["a"], bt = model.Graph.Initializers["b"], c = model.Graph.Initializers["c"];
        string realDir = TorchToNnef.Formats.Onnx.Reading.ExternalDataFiles.RealPath(dir.Path);
        Assert.Equal(Path.Combine(realDir, "w.bin"), a.ExternalPath);
        Assert.Equal(a.ExternalPath, bt.ExternalPath);
        Assert.Equal(Path.Combine(realDir, "sub", "other.bin"), c.ExternalPath);
        Assert.Equal(0, a.FileOffset);
        Assert.Equal(64, bt.FileOffset);
        using Tensor bv = bt.Open();
        Assert.Equal([5L, 6L], bv.AsSpan<long>().ToArray());
    }

    [Fact]
    public void EmptyTensorsNeedNoData()
    {
        using var dir = new TempDir();
        var b = new OnnxModelBuilder();
        var empty = new OnnxTensorSpec("e", OnnxDataType.Float, [0, 3], [], OnnxTensorEncoding.Typed);
        b.Graph.Initializer(empty).Node("Identity", ["e"], ["y"]).Output("y", OnnxDataType.Float, 0, 3);
        string path = b.Save(dir.File("m.onnx"));
        using OnnxModel model = OnnxModel.Load(path);
        OnnxTensor e = model.Graph.Initializers["e"];
        Assert.Equal(Shape.Of(0, 3), e.Shape);
        Assert.Equal(0, e.ByteLength);
        Assert.Equal(Shape.Of(0, 3), OnnxRuntimeOracle.Run(path, new Dictionary<string, Tensor>())["y"].Shape);
    }

    /// <summary>Deterministic values covering each type's range (bools 0/1, floats finite and of both signs).</summary>
    private static byte[] Values(DType dtype, int count, int seed)
    {
        var rng = new Random(seed);
        var floats = new float[count];
        for (int i = 0; i < count; i++)
        {
            floats[i] = (float)((rng.NextDouble() - 0.5) * 200);
        }

        return dtype switch
        {
            DType.F32 => MemoryMarshal.AsBytes(floats.AsSpan()).ToArray(),
            DType.F64 => MemoryMarshal.AsBytes(floats.Select(f => (double)f * 1.000001).ToArray().AsSpan()).ToArray(),
            DType.F16 => MemoryMarshal.AsBytes(floats.Select(f => (Half)f).ToArray().AsSpan()).ToArray(),
            DType.BF16 => MemoryMarshal.AsBytes(floats.Select(f => (ushort)(BitConverter.SingleToUInt32Bits(f) >> 16)).ToArray().AsSpan()).ToArray(),
            DType.Bool => [.. Enumerable.Range(0, count).Select(_ => (byte)rng.Next(2))],
            _ => RandomBytes(rng, count * dtype.ElementSize()),
        };
    }

    private static byte[] RandomBytes(Random rng, int n)
    {
        var b = new byte[n];
        rng.NextBytes(b);
        return b;
    }
}
