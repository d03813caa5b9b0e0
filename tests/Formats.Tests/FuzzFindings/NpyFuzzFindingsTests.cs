using TorchToNnef.Errors;
using TorchToNnef.Formats.Numpy;

namespace TorchToNnef.Formats.Tests.FuzzFindings;

/// <summary>Inputs the <c>npy</c> fuzz target found (fuzz/README.md), minimized, each with the error it must give.</summary>
public class NpyFuzzFindingsTests
{
    // A stream of exactly 7 bytes made the magic check slice the 6-byte magic to 7: ArgumentOutOfRangeException.
    [Theory]
    [InlineData(new byte[] { 0x00, 0x4d, 0xcd, 0x4d, 0x3c, 0xff, 0x4d }, "bad magic")]
    [InlineData(new byte[] { 0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 0x01 }, "truncated .npy header (7 bytes)")]
    public void SevenByteStreamIsAnInvalidFile(byte[] input, string reason)
    {
        var e = Assert.Throws<InvalidInputFileException>(() => NpyFile.Read(new MemoryStream(input), "x.npy"));
        Assert.Contains(reason, e.Message);
        Assert.Equal("x.npy", e.FilePath);
    }

    // A shape whose element count fits in 64 bits but whose byte size does not ((2^61,) of f8 is 2^64 bytes) made the
    // byte-size computation throw a raw OverflowException instead of naming the file.
    [Theory]
    [InlineData("<f8", "(2305843009213693952,)")]
    [InlineData("<i4", "(4611686018427387904, 1)")]
    [InlineData("<f2", "(3, 1537228672809129302)")]
    public void ByteSizeBeyond64BitsIsAnInvalidFile(string descr, string shape)
    {
        string dict = $"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}";
        string padded = dict.PadRight(((10 + dict.Length + 1 + 63) / 64 * 64) - 10 - 1) + "\n";
        byte[] input = [0x93, (byte)'N', (byte)'U', (byte)'M', (byte)'P', (byte)'Y', 1, 0,
            (byte)(padded.Length & 0xFF), (byte)(padded.Length >> 8), .. System.Text.Encoding.ASCII.GetBytes(padded)];

        var e = Assert.Throws<InvalidInputFileException>(() => NpyFile.Read(new MemoryStream(input), "x.npy"));
        Assert.Contains("needs more than 2^63 bytes", e.Message);
        Assert.Equal("x.npy", e.FilePath);
    }
}
