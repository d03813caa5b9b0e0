using System.IO.Hashing;
using TorchToNnef.Formats.Checksums;

namespace TorchToNnef.Formats.Tests.Checksums;

/// <summary>
/// <see cref="GzipCrc32Combine"/>: the CRC-32 of a concatenation from its parts' CRC-32s equals the CRC-32 of the whole
/// (System.IO.Hashing, an independent implementation) for random splits into 1 to 12 parts, empty and odd-length parts
/// included; its powers of x agree with the polynomial arithmetic the CRC tables are derived from.
/// </summary>
public class GzipCrc32CombineTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void CombiningThePartsGivesTheCrcOfTheWhole(int seed)
    {
        var rng = new Random(seed);
        for (int round = 0; round < 40; round++)
        {
            int length = round switch { 0 => 0, 1 => 1, 2 => 3 << 20, _ => rng.Next(200_000) | (round & 1) };
            byte[] data = new byte[length];
            rng.NextBytes(data);
            int parts = 1 + rng.Next(12);
            int[] cuts = [0, .. Enumerable.Range(0, parts - 1).Select(_ => rng.Next(length + 1)).Order(), length];
            uint crc = 0;
            for (int p = 0; p + 1 < cuts.Length; p++)
            {
                ReadOnlySpan<byte> part = data.AsSpan(cuts[p], cuts[p + 1] - cuts[p]);
                crc = GzipCrc32Combine.Combine(crc, Crc32.HashToUInt32(part), part.Length);
            }

            Assert.Equal(Crc32.HashToUInt32(data), crc);
        }
    }

    [Fact]
    public void EmptyPartsChangeNothing()
    {
        byte[] data = [0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39];
        uint whole = Crc32.HashToUInt32(data);
        Assert.Equal(0xCBF43926u, whole); // the check value of CRC-32/ISO-HDLC ("123456789")
        Assert.Equal(whole, GzipCrc32Combine.Combine(whole, 0, 0));
        Assert.Equal(whole, GzipCrc32Combine.Combine(0, whole, data.Length));
        Assert.Equal(0u, GzipCrc32Combine.Combine(0, 0, 0));
    }

    [Fact]
    public void LengthsAboveFourGigabytesCombine()
    {
        // A part of 2^32 + 5 zero bytes: its CRC from the zero-run property (System.IO.Hashing over 5 zero bytes, then
        // 2^32 more combined in two halves) must match combining it in one step.
        byte[] five = new byte[5];
        uint zeros5 = Crc32.HashToUInt32(five);
        uint half = 0;
        byte[] mib = new byte[1 << 20];
        uint zerosMib = Crc32.HashToUInt32(mib);
        for (int i = 0; i < 2048; i++)
        {
            half = GzipCrc32Combine.Combine(half, zerosMib, mib.Length); // 2^31 zero bytes
        }

        uint big = GzipCrc32Combine.Combine(GzipCrc32Combine.Combine(half, half, 1L << 31), zeros5, 5);
        uint head = Crc32.HashToUInt32("head"u8);
        uint expected = GzipCrc32Combine.Combine(GzipCrc32Combine.Combine(GzipCrc32Combine.Combine(head, half, 1L << 31), half, 1L << 31), zeros5, 5);
        Assert.Equal(expected, GzipCrc32Combine.Combine(head, big, (1L << 32) + 5));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(1000)]
    public void PowersOfXMatchThePolynomialArithmetic(int bytes) =>
        Assert.Equal(GzipCrc32Polynomial.Reverse(GzipCrc32Polynomial.XPowMod(8 * bytes)), GzipCrc32Combine.XPowBytes(bytes));

    [Fact]
    public void ANegativeLengthIsRefused() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => GzipCrc32Combine.Combine(1, 2, -1));
}
