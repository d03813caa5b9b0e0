namespace TorchToNnef.Formats.Checksums;

/// <summary>
/// The CRC-32 of a concatenation from the CRC-32s of its parts, without their bytes: what lets the archive's payloads
/// be checksummed on the threads that produce them (1 MiB at a time, while the bytes are in their cache) and the
/// writer only combine. With crc(M) = (M x^32 + J x^(8|M|)) mod P + J (J the all-ones register of the gzip
/// conditioning), crc(A B) = crc(A) x^(8|B|) + crc(B) mod P: the conditioning terms of the two sides cancel.
/// </summary>
internal static class GzipCrc32Combine
{
    // x^(2^k) mod P in the reflected form (bit 31 - i the coefficient of x^i), k = 0..66: x^(8n) for any length n
    // below 2^63 is a product of at most 63 of them.
    private static readonly uint[] XPow2k = Powers();

    /// <summary>
    /// The CRC-32 of A followed by B, from <paramref name="first"/> = crc(A), <paramref name="second"/> = crc(B) and
    /// <paramref name="secondLength"/> = |B| in bytes (0 gives <paramref name="first"/>).
    /// </summary>
    public static uint Combine(uint first, uint second, long secondLength)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(secondLength);
        return Multiply(first, XPowBytes(secondLength)) ^ second;
    }

    /// <summary>x^(8 <paramref name="bytes"/>) mod P, reflected.</summary>
    internal static uint XPowBytes(long bytes)
    {
        uint r = 0x8000_0000; // x^0
        for (int k = 0; bytes != 0; k++, bytes >>= 1)
        {
            if ((bytes & 1) != 0)
            {
                r = Multiply(r, XPow2k[k + 3]);
            }
        }

        return r;
    }

    /// <summary><paramref name="a"/> times <paramref name="b"/> mod P, both reflected.</summary>
    internal static uint Multiply(uint a, uint b)
    {
        uint product = 0;
        for (int i = 0; i < 32 && a != 0; i++, a <<= 1)
        {
            // a's coefficient of x^i is now its bit 31; b holds b x^i mod P.
            if ((a & 0x8000_0000) != 0)
            {
                product ^= b;
            }

            // b x: every coefficient moves one bit down; the x^31 one (bit 0) becomes x^32 = P - x^32.
            b = (b & 1) != 0 ? (b >> 1) ^ GzipCrc32Polynomial.Reflected : b >> 1;
        }

        return product;
    }

    private static uint[] Powers()
    {
        var p = new uint[67];
        p[0] = 0x4000_0000; // x^1
        for (int k = 1; k < p.Length; k++)
        {
            p[k] = Multiply(p[k - 1], p[k - 1]);
        }

        return p;
    }
}
