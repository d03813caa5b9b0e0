using System.Runtime.InteropServices;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.Core.Tests;

/// <summary>
/// The dtype-converting source against a scalar reference (<see cref="Half"/> casts, bf16 as the top half of an
/// f32), for every supported pair, on sizes that end mid-window, through both <see cref="TensorSource.Open"/> and
/// <see cref="TensorSource.WriteTo"/> (fed by an inner source that writes in odd-sized pieces).
/// </summary>
public class ConvertedTensorSourceTests
{
    // More elements than one conversion window holds, and not a multiple of it.
    private const int Count = (ConvertedTensorSource.WindowBytes / 2) + 1037;

    private static float[] Values()
    {
        var rng = new Random(42);
        float[] v = new float[Count];
        for (int i = 0; i < v.Length; i++)
        {
            v[i] = (i % 97) switch
            {
                0 => float.NaN,
                1 => float.PositiveInfinity,
                2 => -0f,
                3 => 70000f,           // overflows f16
                4 => 3e-8f,            // f16 subnormal
                _ => (float)((rng.NextDouble() - 0.5) * Math.Pow(2, rng.Next(-20, 20))),
            };
        }

        return v;
    }

    private static byte[] Encode(DType dtype, float[] values) => dtype switch
    {
        DType.F32 => MemoryMarshal.AsBytes(values.AsSpan()).ToArray(),
        DType.F16 => MemoryMarshal.AsBytes(values.Select(v => (Half)v).ToArray().AsSpan()).ToArray(),
        _ => MemoryMarshal.AsBytes(values.Select(BFloat16Conversions.FromSingle).ToArray().AsSpan()).ToArray(),
    };

    private static float Decode(DType dtype, ReadOnlySpan<byte> bytes, int i) => dtype switch
    {
        DType.F32 => MemoryMarshal.Cast<byte, float>(bytes)[i],
        DType.F16 => (float)MemoryMarshal.Cast<byte, Half>(bytes)[i],
        _ => BFloat16Conversions.ToSingle(MemoryMarshal.Cast<byte, ushort>(bytes)[i]),
    };

    // The scalar reference: decode exactly, then round once to the target.
    private static byte[] Reference(DType from, byte[] source, DType to)
    {
        float[] wide = new float[Count];
        for (int i = 0; i < Count; i++)
        {
            wide[i] = Decode(from, source, i);
        }

        return to == DType.F32 ? MemoryMarshal.AsBytes(wide.AsSpan()).ToArray() : MemoryMarshal.AsBytes(wide.Select(v => (Half)v).ToArray().AsSpan()).ToArray();
    }

    public static TheoryData<DType, DType> Pairs() => new()
    {
        { DType.F32, DType.F16 }, { DType.F16, DType.F32 }, { DType.BF16, DType.F32 }, { DType.BF16, DType.F16 },
        { DType.F32, DType.F32 }, { DType.F16, DType.F16 },
    };

    [Theory]
    [MemberData(nameof(Pairs))]
    public void ConvertsLikeTheScalarReference(DType from, DType to)
    {
        byte[] source = Encode(from, Values());
        byte[] expected = Reference(from, source, to);
        using var tensor = new Tensor(from, Shape.Of(Count), OwnedTensorData.CopyOf(source));
        var converted = new ConvertedTensorSource(new PieceWiseSource(tensor, piece: 7), to);
        Assert.Equal(to, converted.DType);
        Assert.Equal(tensor.Shape, converted.Shape);

        var streamed = new MemoryStream();
        converted.WriteTo(streamed);
        Assert.Equal(expected, streamed.ToArray());

        using Tensor opened = converted.Open();
        Assert.Equal(expected, opened.Data.TryGetSpan(out ReadOnlySpan<byte> all) ? all.ToArray() : null);
    }

    [Fact]
    public void OnlyFloatToF32OrF16IsAccepted()
    {
        using Tensor i32 = Tensor.Allocate(DType.I32, Shape.Of(4));
        using Tensor f32 = Tensor.Allocate(DType.F32, Shape.Of(4));
        Assert.Throws<ArgumentException>(() => new ConvertedTensorSource(TensorSource.FromTensor(i32), DType.F32));
        Assert.Throws<ArgumentException>(() => new ConvertedTensorSource(TensorSource.FromTensor(f32), DType.BF16));
    }

    [Fact]
    public void APayloadEndingInsideAnElementIsAnError()
    {
        using Tensor f32 = Tensor.FromFloats(Shape.Of(2), [1f, 2f]);
        var broken = new ConvertedTensorSource(new TruncatingSource(f32), DType.F16);
        Assert.Throws<InvalidDataException>(() => broken.WriteTo(new MemoryStream()));
    }

    /// <summary>Streams a tensor in pieces of <c>piece</c> bytes, so elements straddle writes.</summary>
    private sealed class PieceWiseSource(Tensor tensor, int piece) : TensorSource
    {
        public override DType DType => tensor.DType;

        public override Shape Shape => tensor.Shape;

        public override Tensor Open() => tensor.Reshape(tensor.Shape);

        public override void WriteTo(Stream destination)
        {
            ReadOnlySpan<byte> all = tensor.Bytes;
            for (int at = 0; at < all.Length; at += piece)
            {
                destination.Write(all.Slice(at, Math.Min(piece, all.Length - at)));
            }
        }
    }

    /// <summary>Streams all but the last byte.</summary>
    private sealed class TruncatingSource(Tensor tensor) : TensorSource
    {
        public override DType DType => tensor.DType;

        public override Shape Shape => tensor.Shape;

        public override Tensor Open() => tensor.Reshape(tensor.Shape);

        public override void WriteTo(Stream destination) => destination.Write(tensor.Bytes[..^1]);
    }
}
