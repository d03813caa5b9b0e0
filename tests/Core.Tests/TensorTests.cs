using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Core.Tests;

public class TensorTests
{
    [Fact]
    public void FromSpanRoundTripsAndChecksSizes()
    {
        using Tensor t = Tensor.FromFloats(Shape.Of(2, 2), [1f, 2f, 3f, 4f]);
        Assert.Equal([1f, 2f, 3f, 4f], t.AsSpan<float>().ToArray());
        Assert.Throws<ArgumentException>(() => t.AsSpan<double>());
        Assert.Throws<ArgumentException>(() => Tensor.FromFloats(Shape.Of(3), [1f, 2f]));
        Assert.Throws<ArgumentException>(() => new Tensor(DType.F32, Shape.Of(3), OwnedTensorData.Allocate(8)));
    }

    [Fact]
    public void HalfAndBFloat16ConvertToSingle()
    {
        using Tensor h = Tensor.FromSpan(DType.F16, Shape.Of(3), [(Half)1.5f, (Half)(-2f), Half.MaxValue]);
        Assert.Equal([1.5f, -2f, 65504f], h.ToFloatArray());
        using Tensor b = Tensor.FromSpan(DType.BF16, Shape.Of(2), [(ushort)0x3FC0, (ushort)0xC040]);
        Assert.Equal([1.5f, -3f], b.ToFloatArray());
        using Tensor i = Tensor.FromSpan(DType.I64, Shape.Of(2), [-7L, 1L << 40]);
        Assert.Equal([-7f, 1099511627776f], i.ToFloatArray());
    }

    [Fact]
    public void MappedFileGivesZeroCopyViewsAndPositionalReads()
    {
        using var dir = new TempDir();
        string path = dir.File("blob.bin");
        byte[] bytes = Enumerable.Range(0, 1000).Select(i => (byte)i).ToArray();
        File.WriteAllBytes(path, bytes);
        using MappedFile mapped = MappedFile.Open(path);
        using TensorData slice = mapped.Slice(100, 400);
        Assert.True(slice.TryGetSpan(out ReadOnlySpan<byte> view));
        Assert.Equal(bytes.AsSpan(100, 400).ToArray(), view.ToArray());
        var window = new byte[50];
        slice.Read(350, window);
        Assert.Equal(bytes.AsSpan(450, 50).ToArray(), window);
        Assert.Throws<ArgumentOutOfRangeException>(() => slice.Read(351, window));
        Assert.Throws<ArgumentOutOfRangeException>(() => mapped.Slice(900, 101));
        using var t = new Tensor(DType.U16, Shape.Of(200), mapped.Slice(0, 400));
        Assert.Equal(BitConverter.ToUInt16(bytes, 2), t.AsSpan<ushort>()[1]);
    }
}
