using TorchToNnef.Export.Evaluation;

namespace TorchToNnef.Export.Tests;

/// <summary>tract's <c>cast_to_dt</c> rules, value by value.</summary>
public class CastTests
{
    private static TensorValue F32(params float[] v) => TensorValue.F32([v.Length], v);

    [Fact]
    public void FloatToIntegerTruncatesSaturatesAndMapsNaNToZero()
    {
        TensorValue i8 = Cast.To(F32(1.9f, -1.9f, 300f, -300f, float.NaN, float.PositiveInfinity), DatumType.I8);
        Assert.Equal(new sbyte[] { 1, -1, 127, -128, 0, 127 }, i8.Span<sbyte>().ToArray());
        TensorValue u8 = Cast.To(F32(-5f, 255.9f), DatumType.U8);
        Assert.Equal(new byte[] { 0, 255 }, u8.Span<byte>().ToArray());
    }

    [Fact]
    public void IntegerToIntegerWraps()
    {
        TensorValue v = TensorValue.Create(DatumType.I64, [2], new long[] { 257, -1 });
        Assert.Equal(new byte[] { 1, 255 }, Cast.To(v, DatumType.U8).Span<byte>().ToArray());
    }

    [Fact]
    public void ToTDimGoesThroughI32AndBoolThroughZeroOne()
    {
        Assert.Equal(new long[] { 2, -3 }, Cast.To(F32(2.7f, -3.2f), DatumType.TDim).Span<long>().ToArray());
        TensorValue b = TensorValue.Create(DatumType.Bool, [2], new[] { true, false });
        Assert.Equal(new float[] { 1, 0 }, Cast.To(b, DatumType.F32).Span<float>().ToArray());
        Assert.Equal(new[] { true, false, true }, Cast.To(F32(0.5f, 0f, float.NaN), DatumType.Bool).Span<bool>().ToArray());
    }

    [Fact]
    public void F32ToF16RoundsToNearestEvenAndOverflowsToInfinity()
    {
        // 1 + 2^-11 is halfway between 1 and the next f16 (1 + 2^-10): ties go to the even mantissa, 1.
        Half[] h = Cast.To(F32(1f + MathF.Pow(2, -11), 1f + (3 * MathF.Pow(2, -11)), 70000f), DatumType.F16).Span<Half>().ToArray();
        Assert.Equal((Half)1f, h[0]);
        Assert.Equal((Half)(1f + (2 * MathF.Pow(2, -10))), h[1]);
        Assert.True(Half.IsPositiveInfinity(h[2]));
    }

    [Fact]
    public void QuantizationRoundsHalfToEvenAndSaturates()
    {
        DatumType qu8 = DatumType.QU8(128, 0.5f);
        TensorValue q = Cast.To(F32(0.25f, 0.75f, -0.25f, 1000f, -1000f), qu8);
        // x / 0.5 + 128: 128.5 -> 128, 129.5 -> 130, 127.5 -> 128, saturated 255 and 0.
        Assert.Equal(new byte[] { 128, 130, 128, 255, 0 }, q.Span<byte>().ToArray());
        Assert.Equal(new float[] { 0f, 1f, 0f, 63.5f, -64f }, Cast.To(q, DatumType.F32).Span<float>().ToArray());
    }

    [Fact]
    public void RequantizationBetween8BitTypesUsesScaleBy()
    {
        TensorValue q = TensorValue.Create(DatumType.U8, [3], new byte[] { 10, 13, 200 }).WithType(DatumType.QU8(10, 1f));
        TensorValue r = Cast.To(q, DatumType.QU8(0, 2f));
        // (q - 10) * 1 / 2 + 0, rounded half to even: 0, 1.5 -> 2, 95
        Assert.Equal(new byte[] { 0, 2, 95 }, r.Span<byte>().ToArray());
    }

    [Fact]
    public void ScaleByRoundsMagnitudesHalfToEven()
    {
        Assert.Equal(2, Cast.ScaleBy(5, 0.5f));
        Assert.Equal(-2, Cast.ScaleBy(-5, 0.5f));
        Assert.Equal(4, Cast.ScaleBy(7, 0.5f));
        Assert.Equal(0, Cast.ScaleBy(0, 123f));
    }
}
