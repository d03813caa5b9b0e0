using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Safetensors;

public class SafetensorsWriterTests
{
    [Fact]
    public void RewritingHuggingFaceCheckpointsReproducesThemByteForByte()
    {
        // transformers' save_pretrained writes through the reference crate; same tensors and metadata, same bytes.
        string[] files = Directory.GetFiles(Golden.File("llm"), "model.safetensors", SearchOption.AllDirectories);
        Assert.Equal(GoldenManifest.LlmModels.Count, files.Length);
        using var dir = new TempDir();
        foreach (string path in files)
        {
            using SafetensorsFile file = SafetensorsFile.Open(path);
            var tensors = file.Entries.Select(e => (e.Name, file.GetTensor(e))).ToList();
            string output = dir.File("rewritten.safetensors");
            SafetensorsWriter.Write(output, tensors, file.Metadata);
            tensors.ForEach(t => t.Item2.Dispose());
            Assert.True(File.ReadAllBytes(path).AsSpan().SequenceEqual(File.ReadAllBytes(output)), $"{path} differs when rewritten");
        }
    }

    [Fact]
    public void EveryDTypeNameAndMetadataRoundTrips()
    {
        var rng = new Random(11);
        DType[] dtypes = [DType.Bool, DType.U8, DType.I8, DType.I16, DType.U16, DType.F16, DType.BF16, DType.I32, DType.U32, DType.F32, DType.F64, DType.I64, DType.U64];
        var tensors = new List<(string, Tensor)>();
        foreach (DType d in dtypes)
        {
            byte[] payload = new byte[3 * d.ElementSize()];
            rng.NextBytes(payload);
            tensors.Add(($"t \"{d.Name()}\" é\n", new Tensor(d, Shape.Of(3), OwnedTensorData.CopyOf(payload))));
        }

        tensors.Add(("scalar", Tensor.FromFloats(Shape.Scalar, [2.5f])));
        tensors.Add(("empty", Tensor.Allocate(DType.F32, Shape.Of(0, 4))));
        var metadata = new Dictionary<string, string> { ["format"] = "pt", ["quote\"back\\slash"] = "tab\there\u0001" };
        using var dir = new TempDir();
        string path = dir.File("all.safetensors");
        SafetensorsWriter.Write(path, tensors, metadata);

        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.Equal(metadata, file.Metadata);
        Assert.Equal(0, (file.HeaderLength) % 8);
        foreach ((string name, Tensor t) in tensors)
        {
            using Tensor back = file.GetTensor(name);
            Assert.Equal(t.DType, back.DType);
            Assert.Equal(t.Shape, back.Shape);
            Assert.Equal(t.Bytes.ToArray(), back.Bytes.ToArray());
            Assert.Equal(0, (file.GetEntry(name).DataOffset - 8 - file.HeaderLength) % Math.Max(1, t.DType.ElementSize()));
            t.Dispose();
        }
    }

    [Fact]
    public void OutputDoesNotDependOnInputOrderAndIsSortedByDTypeThenName()
    {
        using Tensor a = Tensor.FromFloats(Shape.Of(2), [1f, 2f]);
        using Tensor b = Tensor.FromSpan<byte>(DType.U8, Shape.Of(3), [1, 2, 3]);
        using Tensor c = Tensor.FromSpan<long>(DType.I64, Shape.Of(1), [9]);
        using Tensor d = Tensor.FromFloats(Shape.Of(1), [3f]);
        using var dir = new TempDir();
        SafetensorsWriter.Write(dir.File("x"), [("b", b), ("d", d), ("a", a), ("c", c)]);
        SafetensorsWriter.Write(dir.File("y"), [("a", a), ("c", c), ("d", d), ("b", b)]);
        Assert.Equal(File.ReadAllBytes(dir.File("x")), File.ReadAllBytes(dir.File("y")));
        using SafetensorsFile file = SafetensorsFile.Open(dir.File("x"));
        Assert.Equal(["c", "a", "d", "b"], file.Entries.Select(e => e.Name)); // I64, then F32 by name, then U8
    }

    [Fact]
    public void SourcesAreProducedOneAtATimeDuringTheWrite()
    {
        var log = new List<string>();
        TensorSource Source(string name, float value) => TensorSource.Computed(DType.F32, Shape.Of(2), () =>
        {
            log.Add("open " + name);
            return Tensor.FromFloats(Shape.Of(2), [value, value]);
        });

        using var dir = new TempDir();
        SafetensorsWriter.Write(dir.File("s"), [("b", Source("b", 2)), ("a", Source("a", 1))]);
        Assert.Equal(["open a", "open b"], log);
        using SafetensorsFile file = SafetensorsFile.Open(dir.File("s"));
        using Tensor b = file.GetTensor("b");
        Assert.Equal([2f, 2f], b.AsSpan<float>().ToArray());
    }

    [Fact]
    public void FailedWriteLeavesNoFileAndKeepsTheOldOne()
    {
        using var dir = new TempDir();
        string path = dir.File("m.safetensors");
        File.WriteAllText(path, "old");
        TensorSource failing = TensorSource.Computed(DType.F32, Shape.Of(2), () => throw new IOException("disk on fire"));
        using Tensor ok = Tensor.FromFloats(Shape.Of(1), [1f]);
        Assert.Throws<IOException>(() => SafetensorsWriter.Write(path, [("ok", TensorSource.FromTensor(ok)), ("bad", failing)]));
        Assert.Equal("old", File.ReadAllText(path));
        Assert.Single(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void SourceWritingTheWrongSizeIsCaught()
    {
        using var dir = new TempDir();
        Assert.Throws<InvalidOperationException>(() => SafetensorsWriter.Write(dir.File("m"), [("w", new ShortSource())]));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    [Fact]
    public void InvalidInputsAreRejectedBeforeWriting()
    {
        using var dir = new TempDir();
        using Tensor t = Tensor.FromFloats(Shape.Of(1), [1f]);
        using Tensor q = Tensor.Allocate(DType.Q40, Shape.Of(1, 32));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(dir.File("m"), [("a", t), ("a", t)]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(dir.File("m"), [("__metadata__", t)]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(dir.File("m"), [("q", q)]));
        Assert.Throws<ArgumentException>(() => SafetensorsWriter.Write(dir.File("m"), [("bad\ud800", t)]));
        Assert.Empty(Directory.GetFiles(dir.Path));
    }

    /// <summary>Declares two f32 values but writes one.</summary>
    private sealed class ShortSource : TensorSource
    {
        public override DType DType => DType.F32;

        public override Shape Shape => Shape.Of(2);

        public override Tensor Open() => throw new NotSupportedException();

        public override void WriteTo(Stream destination) => destination.Write(new byte[4]);
    }
}
