using System.Buffers.Binary;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests;

public class DatHeaderTests
{
    [Fact]
    public void Q40HeaderMatchesTheSpecWorkedExample()
    {
        // q40.md section 5: header for dims [1, 32], 18 data bytes, item 0x3040.
        Span<byte> h = stackalloc byte[DatHeader.Size];
        DatHeader.For(DType.Q40, Shape.Of(1, 32)).WriteTo(h);
        byte[] expected = new byte[128];
        byte[] head = [0x4e, 0xef, 0x01, 0x00, 0x12, 0, 0, 0, 0x02, 0, 0, 0, 0x01, 0, 0, 0, 0x20];
        head.CopyTo(expected, 0);
        expected[0x2c] = expected[0x2d] = expected[0x2e] = expected[0x2f] = 0xff;
        expected[0x30] = 0x40;
        expected[0x31] = 0x30;
        expected[0x32] = 0x52;
        expected[0x33] = 0x54;
        Assert.Equal(expected, h.ToArray());
    }

    [Fact]
    public void EveryGoldenDatHeaderParsesAndRewritesIdentically()
    {
        int count = 0;
        var rewritten = new byte[DatHeader.Size];
        foreach (string path in Directory.EnumerateFiles(Golden.Dir, "*.dat", SearchOption.AllDirectories))
        {
            byte[] bytes = File.ReadAllBytes(path);
            DatHeader h = DatHeader.Parse(bytes, path, null);
            Assert.Equal(bytes.Length - DatHeader.Size, h.DataSize);
            DatHeader.For(h.DType, h.Shape, h.IsQuantizedStorage, legacyQ40Order: h.IsLegacyQ40Order).WriteTo(rewritten);
            Assert.Equal(bytes.AsSpan(0, DatHeader.Size).ToArray(), rewritten);
            count++;
        }

        Assert.Equal(GoldenManifest.FilesEndingWith(".dat").Count, count);
    }

    [Theory]
    [InlineData(0, (byte)0x00, "bad magic")]
    [InlineData(8, (byte)9, "rank 9")]
    [InlineData(4, (byte)0x13, "payload size")]
    [InlineData(48, (byte)0x07, "unsupported item type")]
    [InlineData(50, (byte)0x01, "unknown vendor")]
    public void CorruptHeadersAreRejectedWithTheReason(int offset, byte value, string reason)
    {
        byte[] h = new byte[DatHeader.Size];
        DatHeader.For(DType.F32, Shape.Of(2, 3)).WriteTo(h);
        h[offset] = value;
        var e = Assert.Throws<InvalidInputFileException>(() => DatHeader.Parse(h, "w.dat", "w"));
        Assert.Contains(reason, e.Message);
        Assert.Contains("w.dat", e.Message);
    }

    [Fact]
    public void Q40WithBadRowIsRejected()
    {
        byte[] h = new byte[DatHeader.Size];
        DatHeader.For(DType.Q40, Shape.Of(2, 64)).WriteTo(h);
        BinaryPrimitives.WriteUInt32LittleEndian(h.AsSpan(16), 48);
        Assert.Throws<InvalidInputFileException>(() => DatHeader.Parse(h, null, null));
    }

    [Fact]
    public void BoolRoundTripsBitPacked()
    {
        byte[] values = [1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1];
        using Tensor t = Tensor.FromSpan<byte>(DType.Bool, Shape.Of(11), values);
        using var ms = new MemoryStream();
        DatFile.Write(ms, TensorSource.FromTensor(t));
        Assert.Equal(DatHeader.Size + 2, ms.Length);
        Assert.Equal(0b1001_1101, ms.ToArray()[DatHeader.Size]);
        ms.Position = 0;
        using Tensor back = DatFile.Read(ms, null, null);
        Assert.Equal(values, back.Bytes.ToArray());
    }

    [Fact]
    public void TruncatedPayloadAndTrailingBytesAreRejected()
    {
        using Tensor t = Tensor.FromFloats(Shape.Of(4), [1, 2, 3, 4]);
        using var ms = new MemoryStream();
        DatFile.Write(ms, TensorSource.FromTensor(t));
        byte[] full = ms.ToArray();
        Assert.Throws<InvalidInputFileException>(() => DatFile.Read(new MemoryStream(full[..^1]), "x.dat", null));
        Assert.Throws<InvalidInputFileException>(() => DatFile.Read(new MemoryStream([.. full, 0]), "x.dat", null));
        using Tensor ok = DatFile.Read(new MemoryStream(full), "x.dat", null);
        Assert.Equal([1f, 2, 3, 4], ok.AsSpan<float>().ToArray());
    }
}
