using System.Buffers.Binary;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using static TorchToNnef.Formats.Tests.Safetensors.SafetensorsBytes;

namespace TorchToNnef.Formats.Tests.Safetensors;

public class SafetensorsFileTests
{
    [Fact]
    public void ReadsEveryDTypeWithItsShapeAndBytes()
    {
        // One tensor per dtype, each two elements, laid out in header order.
        (string Name, DType DType)[] all =
        [
            ("F64", DType.F64), ("F32", DType.F32), ("F16", DType.F16), ("BF16", DType.BF16),
            ("I64", DType.I64), ("I32", DType.I32), ("I16", DType.I16), ("I8", DType.I8),
            ("U64", DType.U64), ("U32", DType.U32), ("U16", DType.U16), ("U8", DType.U8), ("BOOL", DType.Bool),
        ];
        var header = new List<string>();
        long offset = 0;
        foreach ((string name, DType dtype) in all)
        {
            long size = 2L * dtype.ElementSize();
            header.Add(Entry("t_" + name, name, "[1,2]", offset, offset + size));
            offset += size;
        }

        byte[] data = Ramp((int)offset);
        using var dir = new TempDir();
        string path = dir.File("all.safetensors");
        File.WriteAllBytes(path, Build("{" + string.Join(",", header) + "}", data));

        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.Equal(all.Length, file.Entries.Count);
        long expectedOffset = new FileInfo(path).Length - data.Length;
        foreach ((string name, DType dtype) in all)
        {
            SafetensorsEntry e = file.GetEntry("t_" + name);
            Assert.Equal(dtype, e.DType);
            Assert.Equal(Shape.Of(1, 2), e.Shape);
            Assert.Equal(expectedOffset, e.DataOffset);
            Assert.Equal(name, SafetensorsDTypes.Name(dtype));
            using Tensor t = file.GetTensor("t_" + name);
            Assert.Equal(dtype, t.DType);
            Assert.Equal(data.AsSpan((int)(e.DataOffset - (new FileInfo(path).Length - data.Length)), (int)e.ByteLength).ToArray(), t.Bytes.ToArray());
            expectedOffset += e.ByteLength;
        }
    }

    [Fact]
    public void EntriesAreSortedByOffsetWhateverTheHeaderOrder()
    {
        string header = "{" + Entry("late", "F32", "[2]", 8, 16) + "," + Entry("early", "U8", "[8]", 0, 8) + "}";
        using var dir = new TempDir();
        string path = dir.File("order.safetensors");
        byte[] bytes = Build(header, Ramp(16));
        File.WriteAllBytes(path, bytes);

        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.Equal(["early", "late"], file.Entries.Select(e => e.Name));
        long dataStart = 8 + (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(dataStart + 8, file.GetEntry("late").DataOffset);
        using Tensor late = file.GetTensor("late");
        Assert.Equal([BitConverter.ToSingle([8, 9, 10, 11]), BitConverter.ToSingle([12, 13, 14, 15])], late.AsSpan<float>().ToArray());
    }

    [Fact]
    public void ZeroSizedScalarAndEmptyTensorsAreValid()
    {
        // A rank-0 tensor holds one element; [0, 3] holds none and may share its offset with the next tensor.
        string header = "{" + Entry("empty", "F32", "[0,3]", 0, 0) + "," + Entry("scalar", "I64", "[]", 0, 8) + "}";
        using var dir = new TempDir();
        string path = dir.File("zero.safetensors");
        File.WriteAllBytes(path, Build(header, BitConverter.GetBytes(-42L)));

        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.Equal(0, file.GetEntry("empty").ByteLength);
        Assert.Equal(0, file.GetEntry("scalar").Shape.Rank);
        using Tensor scalar = file.GetTensor("scalar");
        Assert.Equal(-42L, scalar.AsSpan<long>()[0]);
    }

    [Fact]
    public void EmptyHeaderAndMetadataAreRead()
    {
        using var dir = new TempDir();
        string path = dir.File("meta.safetensors");
        File.WriteAllBytes(path, Build("{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\\u00e9\"}}", []));

        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.Empty(file.Entries);
        Assert.Equal("pt", file.Metadata["format"]);
        Assert.Equal("café", file.Metadata["note"]);
    }

    [Fact]
    public void UnpaddedHeaderIsAccepted()
    {
        // Padding is what writers do, not what the format requires.
        using var dir = new TempDir();
        string path = dir.File("unpadded.safetensors");
        File.WriteAllBytes(path, Build("{" + Entry("w", "U8", "[3]", 0, 3) + "}", Ramp(3), pad: false));
        using SafetensorsFile file = SafetensorsFile.Open(path);
        using Tensor w = file.GetTensor("w");
        Assert.Equal([0, 1, 2], w.Bytes.ToArray());
    }

    [Fact]
    public void MissingTensorNamesFileAndTensor()
    {
        using var dir = new TempDir();
        string path = dir.File("one.safetensors");
        File.WriteAllBytes(path, Build("{" + Entry("w", "U8", "[3]", 0, 3) + "}", Ramp(3)));
        using SafetensorsFile file = SafetensorsFile.Open(path);
        Assert.False(file.TryGetEntry("nope", out _));
        var e = Assert.Throws<InvalidInputFileException>(() => file.GetTensor("nope"));
        Assert.Equal($"{path}: tensor 'nope': no such tensor in the file", e.Message);
    }

    [Fact]
    public void PositionalReadsMatchTheMappedBytes()
    {
        using var dir = new TempDir();
        string path = dir.File("big.safetensors");
        byte[] data = Ramp(3 * 4096 + 5);
        File.WriteAllBytes(path, Build("{" + Entry("w", "U8", $"[{data.Length}]", 0, data.Length) + "}", data));
        using SafetensorsFile file = SafetensorsFile.Open(path);
        using Tensor w = file.GetTensor("w");
        var window = new byte[1000];
        w.Data.Read(4000, window);
        Assert.Equal(data.AsSpan(4000, 1000).ToArray(), window);
        Assert.Equal(data, w.Bytes.ToArray());
    }
}
