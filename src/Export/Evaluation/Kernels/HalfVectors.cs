using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace TorchToNnef.Export.Evaluation.Kernels;

/// <summary>
/// f16 bit patterns widened to f32 in vector registers, bit for bit as the <see cref="Half"/> to <see cref="float"/>
/// cast (<c>(float)BitConverter.UInt16BitsToHalf(bits)</c>, the scalar reference): finite values exactly, infinities
/// kept, NaN payloads kept and made quiet.
/// </summary>
internal static class HalfVectors
{
    // f16 bits shifted into f32 position read as f32 are the value times 2^-112; one exact multiply fixes the exponent.
    private const float TwoPow112 = 5.192296858534828E+33f;

    /// <summary>16 lanes of f16 bits (in the low half of each 32-bit lane) to f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<float> ToSingle(Vector512<uint> bits)
    {
        Vector512<uint> em = bits & Vector512.Create(0x7FFFu);
        Vector512<uint> sign = (bits & Vector512.Create(0x8000u)) << 16;
        Vector512<uint> finite = (Vector512.ShiftLeft(em, 13).AsSingle() * Vector512.Create(TwoPow112)).AsUInt32();
        Vector512<uint> mantissa = em & Vector512.Create(0x3FFu);
        Vector512<uint> special = Vector512.Create(0x7F80_0000u) | (mantissa << 13)
            | (~Vector512.Equals(mantissa, Vector512<uint>.Zero) & Vector512.Create(0x0040_0000u));
        return (Vector512.ConditionalSelect(Vector512.GreaterThanOrEqual(em, Vector512.Create(0x7C00u)), special, finite) | sign).AsSingle();
    }

    /// <summary>8 lanes of f16 bits to f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector256<float> ToSingle(Vector256<uint> bits)
    {
        Vector256<uint> em = bits & Vector256.Create(0x7FFFu);
        Vector256<uint> sign = (bits & Vector256.Create(0x8000u)) << 16;
        Vector256<uint> finite = (Vector256.ShiftLeft(em, 13).AsSingle() * Vector256.Create(TwoPow112)).AsUInt32();
        Vector256<uint> mantissa = em & Vector256.Create(0x3FFu);
        Vector256<uint> special = Vector256.Create(0x7F80_0000u) | (mantissa << 13)
            | (~Vector256.Equals(mantissa, Vector256<uint>.Zero) & Vector256.Create(0x0040_0000u));
        return (Vector256.ConditionalSelect(Vector256.GreaterThanOrEqual(em, Vector256.Create(0x7C00u)), special, finite) | sign).AsSingle();
    }

    /// <summary>4 lanes of f16 bits to f32.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector128<float> ToSingle(Vector128<uint> bits)
    {
        Vector128<uint> em = bits & Vector128.Create(0x7FFFu);
        Vector128<uint> sign = (bits & Vector128.Create(0x8000u)) << 16;
        Vector128<uint> finite = (Vector128.ShiftLeft(em, 13).AsSingle() * Vector128.Create(TwoPow112)).AsUInt32();
        Vector128<uint> mantissa = em & Vector128.Create(0x3FFu);
        Vector128<uint> special = Vector128.Create(0x7F80_0000u) | (mantissa << 13)
            | (~Vector128.Equals(mantissa, Vector128<uint>.Zero) & Vector128.Create(0x0040_0000u));
        return (Vector128.ConditionalSelect(Vector128.GreaterThanOrEqual(em, Vector128.Create(0x7C00u)), special, finite) | sign).AsSingle();
    }

    /// <summary>Scalar reference: the <see cref="Half"/> cast.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);
}
