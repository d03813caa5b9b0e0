using System.IO.Compression;
using System.Text;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;

namespace TorchToNnef.Formats.Tests.FuzzFindings;

/// <summary>Inputs the <c>archive</c> fuzz target found (fuzz/README.md), rebuilt by hand, each with the error it must give.</summary>
public class ArchiveFuzzFindingsTests
{
    // Numeric tar fields may be base-256 (GNU): a leading 0x80 byte, then big-endian bytes. An 8-byte uid, gid or mode
    // in that form does not fit the int it is read into, and the tar reader threw OverflowException.
    [Theory]
    [InlineData(100, false)] // mode
    [InlineData(108, false)] // uid
    [InlineData(116, false)] // gid
    [InlineData(108, true)]
    public void Base256NumberThatOverflowsIsACorruptArchive(int fieldOffset, bool gzip)
    {
        byte[] header = UstarHeader("graph.nnef", size: 0);
        header[fieldOffset] = 0x80;
        header.AsSpan(fieldOffset + 1, 7).Fill(0xff);
        byte[] tar = [.. WithChecksum(header), .. new byte[1024]];
        byte[] input = gzip ? Gzip(tar) : tar;

        // Any documented error: which one depends on how far a tar reader goes before it refuses the header.
        var e = Assert.ThrowsAny<TorchToNnefException>(() => NnefArchive.Read(new MemoryStream(input), "fuzz.nnef.tgz"));
        Assert.StartsWith("fuzz.nnef.tgz", e.FilePath);
    }

    // A GNU sparse member ('S') made System.Formats.Tar throw NotSupportedException; NNEF archives hold none.
    [Fact]
    public void SparseMemberIsAnUnsupportedFeature()
    {
        byte[] tar = [.. Member("w.dat", 'S', new byte[16]), .. new byte[1024]];
        var e = Assert.ThrowsAny<TorchToNnefException>(() => NnefArchive.Read(new MemoryStream(tar), "sparse.tar"));
        Assert.StartsWith("sparse.tar", e.FilePath);
    }

    // A PAX extended-header entry whose size field is too large for System.Formats.Tar escaped as InvalidOperationException.
    [Theory]
    [InlineData('x')]
    [InlineData('g')]
    [InlineData('L')]
    public void MetadataEntryTooLargeForTheTarReaderIsACorruptArchive(char type)
    {
        byte[] header = UstarHeader("././@PaxHeader", size: 0x1_C000_001B); // octal 70000000033, ~7.5 GB
        header[156] = (byte)type;
        byte[] tar = [.. WithChecksum(header), .. new byte[1024]];

        var e = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(new MemoryStream(tar), "fuzz.tar"));
        Assert.StartsWith("fuzz.tar", e.FilePath);
    }

    // A 28 KB .tgz whose PAX extended header claimed ~1 GiB made System.Formats.Tar rent a 1 GiB buffer before reading
    // it. Metadata entries are small: the claim must be refused for what it is, at a cost unrelated to it.
    [Theory]
    [InlineData('x')]
    [InlineData('g')]
    [InlineData('L')]
    [InlineData('K')]
    public void HugeMetadataEntryIsRefusedWithoutAllocatingIt(char type)
    {
        byte[] header = UstarHeader("././@PaxHeader", size: (1L << 30) - 1);
        header[156] = (byte)type;
        byte[] tar = [.. WithChecksum(header), .. "27 mtime=1795796265.147039\n"u8, .. new byte[2048]];

        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(new MemoryStream(tar), "fuzz.tar"));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.StartsWith("fuzz.tar", e.FilePath);
        Assert.True(allocated < 16 << 20, $"{allocated} bytes allocated to refuse a {tar.Length}-byte archive");
    }

    // The guard against those follows the tar framing. A PAX 'size' record replaces the size in the next header: here
    // the ustar field says 0, the record 512, and the 512 bytes are a decoy that looks like a huge metadata header.
    // Framing by the ustar field would refuse the archive; it must read, like any tar whose sizes come from PAX.
    [Fact]
    public void FramingFollowsPaxSizeRecords()
    {
        const string graph = "version 1.0;\ngraph g(x) -> (x)\n{\n    x = external(shape = [2]);\n}\n";
        byte[] decoy = UstarHeader("decoy", size: 0x1_FFFF_FFFF);
        decoy[156] = (byte)'x';
        string record = "size=512\n";
        record = $"{record.Length + 3} {record}";
        byte[] tar =
        [
            .. Member("././@PaxHeader", 'x', Encoding.ASCII.GetBytes(record)),
            .. WithChecksum(UstarHeader("notes.txt", size: 0)), .. WithChecksum(decoy),
            .. Member("graph.nnef", '0', Encoding.ASCII.GetBytes(graph)),
            .. new byte[1024],
        ];

        Ir.Graph g = NnefArchive.Read(new MemoryStream(tar), "pax.tar");
        Assert.Equal(["x"], g.Outputs);
    }

    private static byte[] Member(string name, char type, byte[] data)
    {
        byte[] header = UstarHeader(name, data.Length);
        header[156] = (byte)type;
        return [.. WithChecksum(header), .. data, .. new byte[(512 - (data.Length % 512)) % 512]];
    }

    private static byte[] UstarHeader(string name, long size)
    {
        var h = new byte[512];
        Encoding.ASCII.GetBytes(name).CopyTo(h, 0);
        Encoding.ASCII.GetBytes("0000644\0").CopyTo(h, 100);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(h, 108);
        Encoding.ASCII.GetBytes("0000000\0").CopyTo(h, 116);
        Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0') + "\0").CopyTo(h, 124);
        Encoding.ASCII.GetBytes("00000000000\0").CopyTo(h, 136);
        h[156] = (byte)'0';
        Encoding.ASCII.GetBytes("ustar\0" + "00").CopyTo(h, 257);
        return h;
    }

    // The checksum is the byte sum of the header with its own field read as eight spaces, in octal.
    private static byte[] WithChecksum(byte[] header)
    {
        header.AsSpan(148, 8).Fill((byte)' ');
        int sum = header.Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header, 148);
        return header;
    }

    private static byte[] Gzip(byte[] bytes)
    {
        using var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(bytes);
        }

        return output.ToArray();
    }
}
