using System.Formats.Tar;
using System.Text;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// The forward tar reader against archives written by System.Formats.Tar in every format it writes (long names,
/// PAX records, GNU long names, base-256 sizes), and against hand-made headers that lie.
/// </summary>
public class TarStreamReaderTests
{
    private static readonly string LongName = string.Join('/', Enumerable.Repeat("a-rather-long-folder-name", 8)) + "/w.dat";

    public static TheoryData<TarEntryFormat> Formats => new() { TarEntryFormat.V7, TarEntryFormat.Ustar, TarEntryFormat.Pax, TarEntryFormat.Gnu };

    [Theory]
    [MemberData(nameof(Formats))]
    public void ReadsWhatTheBclWrites(TarEntryFormat format)
    {
        var files = new List<(string Name, byte[] Data)>
        {
            ("graph.nnef", Encoding.UTF8.GetBytes("version 1.0;")),
            ("sub/w.dat", Enumerable.Range(0, 1500).Select(i => (byte)i).ToArray()),
            ("empty.dat", []),
        };
        if (format is TarEntryFormat.Pax or TarEntryFormat.Gnu)
        {
            // V7 and (in System.Formats.Tar) ustar names are limited to 100 bytes.
            files.Add((LongName, [1, 2, 3]));
        }

        var ms = new MemoryStream();
        using (var writer = new TarWriter(ms, format, leaveOpen: true))
        {
            writer.WriteEntry(format switch
            {
                TarEntryFormat.V7 => new V7TarEntry(TarEntryType.Directory, "sub/"),
                TarEntryFormat.Ustar => new UstarTarEntry(TarEntryType.Directory, "sub/"),
                TarEntryFormat.Pax => new PaxTarEntry(TarEntryType.Directory, "sub/"),
                _ => new GnuTarEntry(TarEntryType.Directory, "sub/"),
            });
            foreach ((string name, byte[] data) in files)
            {
                TarEntry entry = format switch
                {
                    TarEntryFormat.V7 => new V7TarEntry(TarEntryType.V7RegularFile, name),
                    TarEntryFormat.Ustar => new UstarTarEntry(TarEntryType.RegularFile, name),
                    TarEntryFormat.Pax => new PaxTarEntry(TarEntryType.RegularFile, name),
                    _ => new GnuTarEntry(TarEntryType.RegularFile, name),
                };
                entry.DataStream = new MemoryStream(data);
                writer.WriteEntry(entry);
            }
        }

        foreach (bool seekable in new[] { true, false })
        {
            ms.Position = 0;
            var reader = new TarStreamReader(seekable ? ms : new NonSeekable(ms), seekable ? ms.Length : null);
            Assert.Equal('5', reader.Next()!.Value.Type);
            foreach ((string name, byte[] data) in files)
            {
                TarMember member = reader.Next() ?? throw new Xunit.Sdk.XunitException($"{name} missing");
                Assert.Equal(name, member.Name);
                Assert.True(member.IsRegularFile);
                Assert.Equal(data.Length, member.Size);
                byte[] read = new byte[data.Length + 10];
                Assert.Equal(data.Length, reader.ReadAtMost(read));
                Assert.Equal(data, read[..data.Length]);
                if (seekable)
                {
                    Assert.Equal(data, ms.GetBuffer().AsSpan((int)member.DataOffset, data.Length).ToArray());
                }
            }

            Assert.Null(reader.Next());
        }
    }

    [Fact]
    public void UnreadDataIsSkippedAndBase256SizesAreRead()
    {
        byte[] big = new byte[3000];
        byte[] header = ArchiveBytes.TarHeader("big.bin", big.Length);
        // The same size in GNU base-256: 0x80 then big-endian bytes.
        header.AsSpan(124, 12).Clear();
        header[124] = 0x80;
        header[134] = (byte)(big.Length >> 8);
        header[135] = (byte)big.Length;
        FixChecksum(header);
        byte[] tar = [.. header, .. big, .. ArchiveBytes.Padding(big.Length), .. ArchiveBytes.TarMember("next.txt", "x"), .. ArchiveBytes.TarEnd];
        var reader = new TarStreamReader(new NonSeekable(new MemoryStream(tar)), null);
        Assert.Equal(3000, reader.Next()!.Value.Size);
        Assert.Equal("next.txt", reader.Next()!.Value.Name);
        Assert.Null(reader.Next());
    }

    [Theory]
    [InlineData("checksum", "checksum mismatch")]
    [InlineData("pax-huge", "above the 1 MiB limit")]
    [InlineData("longname-huge", "above the 1 MiB limit")]
    [InlineData("pax-malformed", "malformed PAX record")]
    [InlineData("pax-size-not-a-number", "is not a byte count")]
    [InlineData("negative-base256", "negative size")]
    [InlineData("octal-garbage", "bad size field")]
    [InlineData("cut-in-header", "ends inside a tar header")]
    [InlineData("cut-in-data", "the archive ends")]
    public void LyingHeadersAreErrorsWithoutAllocation(string variant, string message)
    {
        byte[] member = ArchiveBytes.TarMember("w.dat", new byte[100]);
        byte[] tar = variant switch
        {
            "checksum" => Patched(member, 0, (byte)'v', fixChecksum: false),
            "pax-huge" => [.. ArchiveBytes.TarHeader("PaxHeader", 1L << 31, 'x'), .. new byte[4096]],
            "longname-huge" => [.. ArchiveBytes.TarHeader("././@LongLink", 1L << 31, 'L'), .. new byte[4096]],
            "pax-malformed" => [.. Pax("12 nonsense\n"), .. member],
            "pax-size-not-a-number" => [.. Pax("13 size=12a4\n"), .. member],
            "negative-base256" => Patched(member, 124, 0xFF, fixChecksum: true),
            "octal-garbage" => Patched(member, 125, (byte)'9', fixChecksum: true),
            "cut-in-header" => member[..300],
            _ => member[..600],
        };
        long before = GC.GetAllocatedBytesForCurrentThread();
        Exception e = Xunit.Record.Exception(() =>
        {
            var reader = new TarStreamReader(new NonSeekable(new MemoryStream(tar)), null);
            while (reader.Next() is not null)
            {
                reader.SkipData();
            }
        });
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        Assert.NotNull(e);
        Assert.True(e is InvalidDataException or EndOfStreamException, e.ToString());
        Assert.Contains(message, e.Message);
        Assert.True(allocated < (1 << 20), $"{allocated} bytes allocated");
    }

    [Fact]
    public void AUstarPrefixIsPartOfTheName()
    {
        byte[] header = ArchiveBytes.TarHeader("w.dat", 3);
        Encoding.ASCII.GetBytes("a/deep/folder").CopyTo(header, 345);
        header[262] = 0;
        FixChecksum(header);
        byte[] tar = [.. header, 1, 2, 3, .. ArchiveBytes.Padding(3), .. ArchiveBytes.TarEnd];
        Assert.Equal("a/deep/folder/w.dat", new TarStreamReader(new MemoryStream(tar), tar.Length).Next()!.Value.Name);
    }

    [Fact]
    public void PaxPathAndSizeOverrideTheHeader()
    {
        byte[] data = Enumerable.Range(0, 700).Select(i => (byte)(i * 3)).ToArray();
        string records = PaxRecord("path", "über/w.dat") + PaxRecord("size", "700");
        byte[] header = ArchiveBytes.TarHeader("placeholder", 0);
        byte[] tar = [.. Pax(records), .. header, .. data, .. ArchiveBytes.Padding(data.Length), .. ArchiveBytes.TarEnd];
        var reader = new TarStreamReader(new MemoryStream(tar), tar.Length);
        TarMember member = reader.Next()!.Value;
        Assert.Equal("über/w.dat", member.Name);
        Assert.Equal(700, member.Size);
        Assert.Equal(data, tar.AsSpan((int)member.DataOffset, 700).ToArray());
        Assert.Null(reader.Next());
    }

    private static string PaxRecord(string key, string value)
    {
        int body = Encoding.UTF8.GetByteCount($" {key}={value}\n");
        int length = body + body.ToString().Length;
        length = body + length.ToString().Length;
        return $"{length} {key}={value}\n";
    }

    private static byte[] Pax(string records)
    {
        byte[] data = Encoding.UTF8.GetBytes(records);
        return [.. ArchiveBytes.TarHeader("PaxHeader", data.Length, 'x'), .. data, .. ArchiveBytes.Padding(data.Length)];
    }

    private static byte[] Patched(byte[] bytes, int offset, byte value, bool fixChecksum)
    {
        byte[] copy = (byte[])bytes.Clone();
        copy[offset] = value;
        if (fixChecksum)
        {
            FixChecksum(copy);
        }

        return copy;
    }

    private static void FixChecksum(byte[] header)
    {
        header.AsSpan(148, 8).Fill((byte)' ');
        int sum = header.AsSpan(0, 512).ToArray().Sum(b => b);
        Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0')).CopyTo(header, 148);
        header[154] = 0;
    }

    private sealed class NonSeekable(Stream inner) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => inner.Read(buffer, offset, count);

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
