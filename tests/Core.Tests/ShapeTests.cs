using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests;

public class ShapeTests
{
    [Fact]
    public void ElementCountIsProductAndScalarIsOne()
    {
        Assert.Equal(24, Shape.Of(2, 3, 4).ElementCount);
        Assert.Equal(1, Shape.Scalar.ElementCount);
        Assert.Equal(1, default(Shape).ElementCount);
        Assert.Equal(0, Shape.Of(5, 0, 3).ElementCount);
    }

    [Fact]
    public void RejectsRankAboveEightNegativeDimsAndOverflow()
    {
        Assert.Throws<ArgumentException>(() => new Shape(1, 1, 1, 1, 1, 1, 1, 1, 1));
        Assert.Throws<ArgumentException>(() => new Shape(2, -1));
        Assert.Throws<OverflowException>(() => new Shape(long.MaxValue / 2, 3));
        Assert.False(Shape.TryCreate([1L << 40, 1L << 40], out _, out string? error));
        Assert.Contains("overflow", error);
    }

    [Fact]
    public void EqualityIsByValueAndFormatting()
    {
        Assert.Equal(Shape.Of(2, 3), new Shape(2L, 3L));
        Assert.NotEqual(Shape.Of(2, 3), Shape.Of(3, 2));
        Assert.Equal("[2, 3]", Shape.Of(2, 3).ToString());
        Assert.Equal(12, Shape.Of(2, 3, 4).VolumeFrom(1));
        Assert.Equal(4, Shape.Of(2, 3, 4)[-1]);
    }

    [Fact]
    public void ByteSizeChecksBlocksAndOverflow()
    {
        Assert.Equal(18 * 4, DType.Q40.ByteSize(128));
        Assert.Throws<ArgumentException>(() => DType.Q40.ByteSize(33));
        Assert.Throws<OverflowException>(() => DType.F64.ByteSize(long.MaxValue / 4));
        Assert.Equal(6, DType.F16.ByteSize(3));
    }
}
