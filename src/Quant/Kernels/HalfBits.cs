using System.Runtime.CompilerServices;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// Scalar IEEE binary16 helpers used by the reference kernels and the calibrations. Conversions round to
/// nearest-even (what torch's <c>.half()</c> does), bit for bit like <see cref="Half"/>'s casts, but with a few integer
/// operations instead of the general-purpose cast (the search calibrations round millions of candidate scales).
/// Every NaN becomes the canonical quiet NaN <see cref="CanonicalNaN"/> so results do not depend on how a platform
/// propagates NaN payloads.
/// </summary>
internal static class HalfBits
{
    /// <summary>Quiet NaN with a zero payload (what x86 torch produces for an f32 NaN cast to f16).</summary>
    public const ushort CanonicalNaN = 0x7E00;

    /// <summary>2^112: f16 bits shifted into f32 position (<c>bits &lt;&lt; 13</c>) read as f32 are the value times 2^-112.</summary>
    public const float TwoPow112 = 5.192296858534828E+33f;

    /// <summary>f32 to f16 bits, round-to-nearest-even, overflow to infinity, NaN canonical.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value)
    {
        uint bits = BitConverter.SingleToUInt32Bits(value);
        uint f = bits & 0x7FFF_FFFFu;
        uint sign = (bits >> 16) & 0x8000u;
        uint h;
        if (f >= 0x4780_0000u)
        {
            // 65536 and above (and infinity) overflow; NaN loses its sign and payload.
            if (f > 0x7F80_0000u)
            {
                return CanonicalNaN;
            }

            h = 0x7C00u;
        }
        else if (f < 0x3880_0000u)
        {
            // f16 subnormal or zero: adding 0.5 leaves the f16 bits at the bottom of the mantissa, rounded to even.
            h = BitConverter.SingleToUInt32Bits(BitConverter.UInt32BitsToSingle(f) + 0.5f) - 0x3F00_0000u;
        }
        else
        {
            // Rebias the exponent and round on bit 13 (ties to even); a carry may reach infinity, as it should.
            h = (f + 0xC800_0FFFu + ((f >> 13) & 1u)) >> 13;
        }

        return (ushort)(h | sign);
    }

    /// <summary>f16 bits to f32 (exact; NaN keeps its sign and payload, made quiet, as the <see cref="Half"/> cast does).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits)
    {
        uint em = bits & 0x7FFFu;
        uint sign = (uint)(bits & 0x8000) << 16;
        if (em < 0x7C00u)
        {
            // Finite: shifted into place the bits are the value times 2^-112; one exact multiply fixes the exponent.
            float magnitude = BitConverter.UInt32BitsToSingle(em << 13) * TwoPow112;
            return BitConverter.UInt32BitsToSingle(BitConverter.SingleToUInt32Bits(magnitude) | sign);
        }

        uint mantissa = em & 0x3FFu;
        return BitConverter.UInt32BitsToSingle(sign | 0x7F80_0000u | (mantissa << 13) | (mantissa != 0 ? 0x0040_0000u : 0u));
    }

    /// <summary>Rounds an f32 to the nearest f16 value and widens it back (exact torch <c>.half().float()</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => ToSingle(FromSingle(value));
}
