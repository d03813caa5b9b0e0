using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests;

public class BFloat16ConversionTests
{
    [Theory]
    [InlineData(0x3F800000u, (ushort)0x3F80)] // 1.0 exact
    [InlineData(0x3F808000u, (ushort)0x3F80)] // tie, even stays
    [InlineData(0x3F818000u, (ushort)0x3F82)] // tie, odd rounds up
    [InlineData(0x3F808001u, (ushort)0x3F81)] // above tie
    [InlineData(0x7F7FFFFFu, (ushort)0x7F80)] // max float rounds to +inf
    [InlineData(0xFF800000u, (ushort)0xFF80)] // -inf
    [InlineData(0x7F800001u, (ushort)0x7FC0)] // signalling NaN stays NaN, made quiet
    [InlineData(0xFFC12345u, (ushort)0xFFC1)] // negative NaN keeps sign and payload top bits
    [InlineData(0x80000000u, (ushort)0x8000)] // -0
    public void ScalarRoundsToNearestEvenAndKeepsNaN(uint f32Bits, ushort expected)
    {
        Assert.Equal(expected, BFloat16Conversions.FromSingle(BitConverter.UInt32BitsToSingle(f32Bits)));
    }

    [Fact]
    public void WideningIsExactShift()
    {
        Assert.Equal(1.0f, BFloat16Conversions.ToSingle((ushort)0x3F80));
        Assert.Equal(-2.0f, BFloat16Conversions.ToSingle((ushort)0xC000));
    }

    [Fact]
    public void VectorPathsMatchScalarOnAllLengths()
    {
        var rng = new Random(20261127);
        for (int n = 0; n <= 300; n++)
        {
            CheckLength(rng, n);
        }

        CheckLength(rng, 6 * 512 + 7);
    }

    private static void CheckLength(Random rng, int n)
    {
        var src = new float[n];
        for (int i = 0; i < n; i++)
        {
            // Random bit patterns cover NaNs, infinities, subnormals and ties.
            src[i] = BitConverter.UInt32BitsToSingle((uint)rng.NextInt64(0, 1L << 32));
        }

        var narrowed = new ushort[n];
        BFloat16Conversions.FromSingle(src, narrowed);
        var widened = new float[n];
        BFloat16Conversions.ToSingle(narrowed, widened);
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(BFloat16Conversions.FromSingle(src[i]), narrowed[i]);
            Assert.Equal((uint)narrowed[i] << 16, BitConverter.SingleToUInt32Bits(widened[i]));
        }
    }
}
