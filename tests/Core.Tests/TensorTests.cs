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

    [Fact]
    public void MappedWindowsAreZeroCopyRangesAtAnyOffset()
    {
        using var dir = new TempDir();
        string path = dir.File("blob.bin");
        byte[] bytes = Enumerable.Range(0, 3 * 4096 + 123).Select(i => (byte)(i * 7)).ToArray();
        File.WriteAllBytes(path, bytes);
        using MappedFile mapped = MappedFile.Open(path);
        using TensorData slice = mapped.Slice(4000, 8000);
        foreach ((long offset, int length) in new[] { (0L, 8000), (97L, 4100), (4096L - 4000, 1), (7999L, 1), (123L, 0) })
        {
            using TensorWindow? w = slice.OpenWindow(offset, length);
            Assert.NotNull(w);
            Assert.Equal(bytes.AsSpan((int)(4000 + offset), length).ToArray(), w.Span.ToArray());
        }

        Assert.Throws<ArgumentOutOfRangeException>(() => slice.OpenWindow(7999, 2));
        using var owned = OwnedTensorData.CopyOf(bytes);
        Assert.Null(owned.OpenWindow(0, 10));
        Assert.Throws<ArgumentOutOfRangeException>(() => owned.OpenWindow(-1, 10));
        using var t = new Tensor(DType.U8, Shape.Of(8000), mapped.Slice(4000, 8000));
        using Tensor view = t.Reshape(Shape.Of(80, 100));
        using TensorWindow? viaReshape = view.Data.OpenWindow(10, 20);
        Assert.Equal(bytes.AsSpan(4010, 20).ToArray(), viaReshape!.Span.ToArray());
    }
}
