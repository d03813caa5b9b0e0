namespace TorchToNnef.Formats.Checksums;

/// <summary>
/// Arithmetic on the gzip CRC-32 polynomial P = x^32 + x^26 + ... + 1 (0x04C11DB7 with the x^32 term implied; bit
/// reversed, 0xEDB88320), from which the slice-by-8 tables and the folding constants of <see cref="GzipCrc32"/> are
/// derived when the type is first used, instead of being typed in.
/// </summary>
internal static class GzipCrc32Polynomial
{
    /// <summary>P without its x^32 term, bit i the coefficient of x^i.</summary>
    internal const uint Normal = 0x04C11DB7;

    /// <summary>P without its x^32 term, bit 31 - i the coefficient of x^i (the form gzip's CRC register uses).</summary>
    internal const uint Reflected = 0xEDB88320;

    /// <summary>x^<paramref name="n"/> mod P, bit i the coefficient of x^i.</summary>
    internal static uint XPowMod(int n)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(n);
        uint r = 1;
        for (int i = 0; i < n; i++)
        {
            bool carry = (r & 0x8000_0000) != 0;
            r <<= 1;
            if (carry)
            {
                r ^= Normal;
            }
        }

        return r;
    }

    /// <summary>The bits of <paramref name="v"/> in reverse order (bit i moves to bit 31 - i).</summary>
    internal static uint Reverse(uint v)
    {
        uint r = 0;
        for (int i = 0; i < 32; i++)
        {
            r = (r << 1) | ((v >> i) & 1);
        }

        return r;
    }

    /// <summary>
    /// The 64-bit multiplier that stands for x^(<paramref name="k"/> + 32) mod P in carry-less multiply on reflected
    /// data: x^k mod P bit reversed, shifted left by one. Why: a 64-bit reflected operand a(x) times a constant c whose
    /// bit j stands for x^(64-j) gives a 128-bit product whose bit i stands for x^(127-i), the convention of the data;
    /// x^k mod P has degree below 32, so it is taken times x^32 (same remainder as x^(k+32)), which puts its bits at
    /// 1..32 of the constant.
    /// </summary>
    internal static ulong FoldMultiplier(int k) => (ulong)Reverse(XPowMod(k)) << 1;

    /// <summary>
    /// The two multipliers that fold a 128-bit accumulator onto data <paramref name="distance"/> bits further on:
    /// the low 64 bits of the accumulator (the first eight bytes, the higher powers of x) move by distance + 64,
    /// written as x^(distance + 32) times the x^32 of <see cref="FoldMultiplier"/>, the high 64 bits by distance.
    /// </summary>
    internal static (ulong Low, ulong High) FoldPair(int distance) =>
        (FoldMultiplier(distance + 32), FoldMultiplier(distance - 32));

    /// <summary>The slice-by-8 tables: table k (256 entries from index 256 k) advances a byte followed by k zero bytes.</summary>
    internal static uint[] SliceBy8Tables()
    {
        var t = new uint[8 * 256];
        for (uint i = 0; i < 256; i++)
        {
            uint c = i;
            for (int b = 0; b < 8; b++)
            {
                c = (c & 1) != 0 ? (c >> 1) ^ Reflected : c >> 1;
            }

            t[i] = c;
        }

        for (int k = 1; k < 8; k++)
        {
            for (int i = 0; i < 256; i++)
            {
                uint prev = t[((k - 1) * 256) + i];
                t[(k * 256) + i] = (prev >> 8) ^ t[prev & 0xFF];
            }
        }

        return t;
    }
}
