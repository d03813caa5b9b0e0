using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests;

/// <summary>
/// <see cref="DTypeInfo.TryByteSize"/> against <see cref="DTypeInfo.ByteSize"/> and hand-computed limits: readers use it
/// on counts taken from files, so every count ByteSize refuses must be refused here too, without an exception.
/// </summary>
public class DTypeByteSizeTests
{
    public static TheoryData<DType> AllDTypes()
    {
        var data = new TheoryData<DType>();
        foreach (DType dtype in Enum.GetValues<DType>())
        {
            data.Add(dtype);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(AllDTypes))]
    public void AgreesWithByteSizeOnEveryCount(DType dtype)
    {
        long[] counts = [0, 1, 31, 32, 64, 1 << 20, long.MaxValue / 18, long.MaxValue / 8, (long.MaxValue / 8) + 1, long.MaxValue / 4,
            (long.MaxValue / 4) + 1, long.MaxValue / 2, (long.MaxValue / 2) + 1, long.MaxValue - 31, long.MaxValue];
        foreach (long count in counts)
        {
            long? thrown;
            try
            {
                thrown = dtype.ByteSize(count);
            }
            catch (Exception e) when (e is OverflowException or ArgumentException)
            {
                thrown = null;
            }

            bool ok = dtype.TryByteSize(count, out long size);
            Assert.Equal(thrown is not null, ok);
            Assert.Equal(thrown ?? 0, size);
        }
    }

    [Fact]
    public void LimitsAreHandComputed()
    {
        Assert.True(DType.F64.TryByteSize((1L << 60) - 1, out long f64));
        Assert.Equal(((1L << 60) - 1) * 8, f64);
        Assert.False(DType.F64.TryByteSize(1L << 60, out _));
        Assert.False(DType.F16.TryByteSize(1L << 62, out _));
        Assert.True(DType.Q40.TryByteSize(64, out long q40));
        Assert.Equal(36, q40);
        Assert.False(DType.Q40.TryByteSize(33, out _));
        Assert.False(DType.F32.TryByteSize(-1, out _));
    }
}
