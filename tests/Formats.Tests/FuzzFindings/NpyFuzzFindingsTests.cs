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
}
