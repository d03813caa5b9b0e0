namespace TorchToNnef.Quant.Kernels;

/// <summary>
/// The integer shortcut of the vector kernels' <see cref="IQ40Kernel.ScalesFromHalves"/> for an f16 group maximum
/// <c>a</c> (sign-cleared bits, one per 32-bit lane) in [2^-11, 65504]: there <c>a / 8</c> is an f16 normal, so
/// <c>scale = f16(a / -8)</c> is exact, a's bits three binades down with the sign set; its f32 is a's bits moved into
/// f32 position and rebiased; and <c>1 / scale</c> has a magnitude in [8 / 65504, 2^14], an f16 normal, so rounding
/// the f32 quotient to 11 significant bits gives <c>f16(1 / scale)</c>. Any other maximum (zero, tiny, infinite, NaN)
/// sends its block of lanes to the exact conversions.
/// </summary>
internal static class NormalHalfScale
{
    /// <summary>
    /// <c>a + Bias</c> (as int) is at least <see cref="Limit"/> exactly when 0x1000 &lt;= a &lt;= 0x7BFF: a &gt;= 0x7C00
    /// wraps to a negative value, a &lt; 0x1000 stays below the limit.
    /// </summary>
    public const int Bias = 0x7FFF_8400;

    /// <summary>See <see cref="Bias"/>.</summary>
    public const int Limit = 0x7FFF_9400;

    /// <summary>Scale bits = (a - (3 &lt;&lt; 10)) | 0x8000 = a + 0x7400 (no carry: a - 0xC00 is in [0x400, 0x6FFF]).</summary>
    public const uint ScaleOffset = 0x7400;

    /// <summary>The scale's f32 bits = (a &lt;&lt; 13) + this: the exponent rebiased by 127 - 15 - 3 = 109, and the sign bit.</summary>
    public const uint SingleOffset = 0xB680_0000;

    /// <summary>
    /// True when a group with this scale and reciprocal must be encoded by <see cref="Q40Reference"/>: a non-finite
    /// scale, or an infinite reciprocal (see <see cref="IQ40Kernel.ScalesFromHalves"/>).
    /// </summary>
    /// <param name="scale">The group's f16 scale bits.</param>
    /// <param name="reciprocal">Its reciprocal as computed by the kernels.</param>
    public static bool NeedsReference(ushort scale, float reciprocal) => (scale & 0x7C00) == 0x7C00 || float.IsInfinity(reciprocal);

    /// <summary>One group's exact scale and reciprocal from its f16 maximum (the vector kernels' tail groups).</summary>
    /// <param name="max">The group's sign-cleared f16 maximum.</param>
    /// <param name="scale">Receives the f16 scale bits.</param>
    /// <param name="reciprocal">Receives the reciprocal.</param>
    /// <returns><see cref="NeedsReference"/> of the result.</returns>
    public static bool Exact(ushort max, out ushort scale, out float reciprocal)
    {
        scale = Q40Reference.ScaleF16(max);
        reciprocal = Q40Reference.Reciprocal(scale);
        return NeedsReference(scale, reciprocal);
    }
}
