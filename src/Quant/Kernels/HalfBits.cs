using System.Runtime.CompilerServices;

namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// Scalar IEEE binary16 helpers used by the reference kernels. Conversions round to nearest-even (what torch's
/// <c>.half()</c> does); every NaN becomes the canonical quiet NaN <see cref="CanonicalNaN"/> so that results do not
/// depend on how a platform propagates NaN payloads.
/// </summary>
internal static class HalfBits
{
    /// <summary>Quiet NaN with a zero payload (what x86 torch produces for an f32 NaN cast to f16).</summary>
    public const ushort CanonicalNaN = 0x7E00;

    /// <summary>2^112: f16 bits shifted into f32 position (<c>bits &lt;&lt; 13</c>) read as f32 are the value times 2^-112.</summary>
    public const float TwoPow112 = 5.192296858534828E+33f;

    /// <summary>f32 to f16 bits, round-to-nearest-even, overflow to infinity, NaN canonical.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static ushort FromSingle(float value) =>
        float.IsNaN(value) ? CanonicalNaN : BitConverter.HalfToUInt16Bits((Half)value);

    /// <summary>f16 bits to f32 (exact).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float ToSingle(ushort bits) => (float)BitConverter.UInt16BitsToHalf(bits);

    /// <summary>Rounds an f32 to the nearest f16 value and widens it back (exact torch <c>.half().float()</c>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Round(float value) => ToSingle(FromSingle(value));
}
