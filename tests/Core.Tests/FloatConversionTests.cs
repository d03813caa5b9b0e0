using System.Runtime.InteropServices;
using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests;

public class FloatConversionTests
{
    [Fact]
    public void HalfToSingleIsExactForEveryBitPattern()
    {
        // All 65536 f16 patterns through the vectorized path against the scalar cast.
        ushort[] bits = Enumerable.Range(0, 65536).Select(i => (ushort)i).ToArray();
        var result = new float[bits.Length];
        FloatConversions.ToSingle(DType.F16, MemoryMarshal.AsBytes(bits.AsSpan()), result);
        for (int i = 0; i < bits.Length; i++)
        {
            float expected = (float)BitConverter.UInt16BitsToHalf(bits[i]);
            Assert.True(
                BitConverter.SingleToUInt32Bits(expected) == BitConverter.SingleToUInt32Bits(result[i]) || (float.IsNaN(expected) && float.IsNaN(result[i])),
                $"f16 0x{bits[i]:X4}: {result[i]} != {expected}");
        }
    }

    [Fact]
    public void SingleToHalfRoundsToNearestEvenOnAllLengths()
    {
        var rng = new Random(20261128);
        for (int n = 0; n <= 200; n++)
        {
            var src = new float[n];
            for (int i = 0; i < n; i++)
            {
                src[i] = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
            }

            var dst = new byte[2 * n];
            FloatConversions.FromSingle(DType.F16, src, dst);
            ReadOnlySpan<Half> halves = MemoryMarshal.Cast<byte, Half>(dst);
            for (int i = 0; i < n; i++)
            {
                Half expected = (Half)src[i]; // the BCL scalar conversion is round-to-nearest-even
                Assert.True(
                    BitConverter.HalfToUInt16Bits(expected) == BitConverter.HalfToUInt16Bits(halves[i]) || (Half.IsNaN(expected) && Half.IsNaN(halves[i])),
                    $"n={n} i={i}: {src[i]} -> {halves[i]}, expected {expected}");
            }
        }
    }

    [Fact]
    public void Bf16GoesThroughTheDTypeDispatch()
    {
        float[] values = [1f, -2.5f, 3.140625f, float.NegativeInfinity];
        var bytes = new byte[values.Length * 2];
        FloatConversions.FromSingle(DType.BF16, values, bytes);
        var back = new float[values.Length];
        FloatConversions.ToSingle(DType.BF16, bytes, back);
        Assert.Equal(values, back); // all exactly representable in bf16
    }

    [Fact]
    public void IntegersAndBoolWidenToSingle()
    {
        var result = new float[3];
        FloatConversions.ToSingle(DType.I8, [0xFF, 0x7F, 0x80], result);
        Assert.Equal([-1f, 127f, -128f], result);
        FloatConversions.ToSingle(DType.Bool, [0, 1, 7], result);
        Assert.Equal([0f, 1f, 1f], result);
        FloatConversions.ToSingle(DType.U16, MemoryMarshal.AsBytes<ushort>([65535, 0, 42]), result);
        Assert.Equal([65535f, 0f, 42f], result);
        FloatConversions.ToSingle(DType.I64, MemoryMarshal.AsBytes<long>([long.MinValue, -3, 1L << 40]), result);
        Assert.Equal([-9.223372E+18f, -3f, 1.0995116E+12f], result);
        FloatConversions.ToSingle(DType.F64, MemoryMarshal.AsBytes<double>([0.1, 1e300, -0.0]), result);
        Assert.Equal([0.1f, float.PositiveInfinity, -0f], result);
    }

    [Fact]
    public void BlockQuantizedDTypesAreRefused() =>
        Assert.Throws<NotSupportedException>(() => FloatConversions.ToSingle(DType.Q40, new byte[18], new float[32]));
}
