using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>Booleans are bit-packed as they stream (no whole-tensor span), matching <see cref="DatFile.PackBits"/>.</summary>
public class PackedBoolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(8)]
    [InlineData(40_001)]
    public void StreamedPackingMatchesTheReference(int count)
    {
        byte[] values = Enumerable.Range(0, count).Select(i => (byte)(i % 3 == 0 ? 0 : i % 5 == 0 ? 7 : 1)).ToArray();
        using var tensor = new Tensor(DType.Bool, Shape.Of(count), OwnedTensorData.CopyOf(values));
        var written = new MemoryStream();
        DatFile.Write(written, new PieceWise(tensor));
        byte[] bytes = written.ToArray();
        Assert.Equal(DatFile.PackBits(values), bytes[DatHeader.Size..]);

        written.Position = 0;
        using Tensor back = DatFile.Read(written, "b.dat", "b");
        Assert.Equal(values.Select(v => (byte)(v != 0 ? 1 : 0)), back.AsSpan<byte>().ToArray());
    }

    /// <summary>Streams in 3-byte pieces, so bit groups straddle writes; opening it is not allowed.</summary>
    private sealed class PieceWise(Tensor tensor) : TensorSource
    {
        public override DType DType => tensor.DType;

        public override Shape Shape => tensor.Shape;

        public override Tensor Open() => throw new InvalidOperationException("a writer should stream, not open");

        public override void WriteTo(Stream destination)
        {
            ReadOnlySpan<byte> all = tensor.Bytes;
            for (int at = 0; at < all.Length; at += 3)
            {
                destination.Write(all.Slice(at, Math.Min(3, all.Length - at)));
            }
        }
    }
}
