using System.Formats.Tar;
using System.IO.Compression;
using System.Text;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

public class NnefReaderErrorTests
{
    private const string Graph1 = """
        version 1.0;
        graph g(x) -> (y)
        {
            x = external(shape = [2]);
            w = variable<scalar>(label = 'w', shape = [2]);
            y = add(x, w);
        }
        """;

    private static byte[] Dat(DType dtype, Shape shape, byte[] payload)
    {
        var h = new byte[DatHeader.Size];
        DatHeader.For(dtype, shape).WriteTo(h);
        return [.. h, .. payload];
    }

    private static readonly byte[] GoodW = Dat(DType.F32, Shape.Of(2), [0, 0, 128, 63, 0, 0, 0, 64]);

    private static byte[] Tar(bool gzip, params (string Name, byte[]? Data, TarEntryType Type)[] members)
    {
        var ms = new MemoryStream();
        using (Stream target = gzip ? new GZipStream(ms, CompressionLevel.Fastest, leaveOpen: true) : new NonDisposing(ms))
        using (var writer = new TarWriter(target, TarEntryFormat.Pax, leaveOpen: true))
        {
            foreach ((string name, byte[]? data, TarEntryType type) in members)
            {
                var entry = new PaxTarEntry(type, name);
                if (type == TarEntryType.SymbolicLink)
                {
                    entry.LinkName = "/etc/passwd";
                }

                if (data is not null)
                {
                    entry.DataStream = new MemoryStream(data);
                }

                writer.WriteEntry(entry);
            }
        }

        return ms.ToArray();
    }

    private static (string, byte[]?, TarEntryType) F(string name, byte[] data) => (name, data, TarEntryType.RegularFile);

    private static (string, byte[]?, TarEntryType) F(string name, string text) => F(name, Encoding.UTF8.GetBytes(text));

    [Fact]
    public void AMinimalTgzAndTarLoad()
    {
        foreach (bool gz in new[] { true, false })
        {
            Graph g = NnefArchive.Read(new MemoryStream(Tar(gz, F("./graph.nnef", Graph1), F("w.dat", GoodW))), "m.tgz");
            using Tensor w = g.Variables["w"].Source.Open();
            Assert.Equal([1f, 2f], w.AsSpan<float>().ToArray());
        }
    }

    [Fact]
    public void HiddenMembersAndUnknownFilesAreIgnoredLikeTract()
    {
        byte[] bad = Dat(DType.F32, Shape.Of(2), [1, 2, 3, 4, 5, 6, 7, 8]);
        Graph g = NnefArchive.Read(
            new MemoryStream(Tar(true, F("graph.nnef", Graph1), F(".hidden/w.dat", bad), F("._w.dat", bad), F("README", "x"), F("w.dat", GoodW))),
            "m.tgz");
        using Tensor w = g.Variables["w"].Source.Open();
        Assert.Equal([1f, 2f], w.AsSpan<float>().ToArray());
    }

    [Theory]
    [InlineData("../w.dat", "escapes the archive root")]
    [InlineData("a/../../w.dat", "escapes the archive root")]
    [InlineData("/w.dat", "absolute or malformed")]
    public void MembersEscapingTheRootAreRejected(string name, string message)
    {
        var e = Assert.Throws<InvalidInputFileException>(
            () => NnefArchive.Read(new MemoryStream(Tar(true, F("graph.nnef", Graph1), F("w.dat", GoodW), F(name, GoodW))), "m.tgz"));
        Assert.Contains(message, e.Message);
        Assert.Contains("m.tgz", e.Message);
    }

    [Fact]
    public void LinksAndDuplicatesAreRejected()
    {
        var link = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(
            new MemoryStream(Tar(true, F("graph.nnef", Graph1), ("w.dat", null, TarEntryType.SymbolicLink))), "m.tgz"));
        Assert.Contains("links are not allowed", link.Message);
        var dup = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(
            new MemoryStream(Tar(true, F("graph.nnef", Graph1), F("w.dat", GoodW), F("./w.dat", GoodW))), "m.tgz"));
        Assert.Contains("twice", dup.Message);
    }

    [Fact]
    public void TruncatedOrGarbageArchivesAreClearErrors()
    {
        byte[] tgz = Tar(true, F("graph.nnef", Graph1), F("w.dat", GoodW));
        var cut = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(new MemoryStream(tgz[..(tgz.Length / 2)]), "m.tgz"));
        Assert.Contains("m.tgz", cut.Message);
        var noGraph = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(new MemoryStream(Tar(true, F("w.dat", GoodW))), "m.tgz"));
        Assert.Contains("no graph.nnef", noGraph.Message);
        Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(new MemoryStream([]), "empty.tgz"));
        var nested = Assert.Throws<UnsupportedFeatureException>(() => NnefArchive.Read(
            new MemoryStream(Tar(true, F("graph.nnef", Graph1), F("sub/graph.nnef", Graph1))), "m.tgz"));
        Assert.Contains("nested", nested.Message);
    }

    public static TheoryData<string, byte[], string> BadDats => new()
    {
        { "truncated payload", GoodW[..^3], "header announces 128 + 8" },
        { "trailing bytes", [.. GoodW, 0], "header announces 128 + 8" },
        { "truncated header", GoodW[..100], "truncated header" },
        { "rank 9", Patch(GoodW, 8, 9), "rank 9 exceeds 8" },
        { "size mismatch", Patch(GoodW, 4, 12), "payload size 12 does not match" },
        { "wrong shape", Dat(DType.F32, Shape.Of(1, 2), [0, 0, 128, 63, 0, 0, 0, 64]), "differs from [2]" },
    };

    private static byte[] Patch(byte[] bytes, int offset, byte value)
    {
        byte[] copy = (byte[])bytes.Clone();
        copy[offset] = value;
        return copy;
    }

    [Theory]
    [MemberData(nameof(BadDats))]
    public void BadDatFilesAreRejectedFromDirectoryAndTgz(string what, byte[] dat, string message)
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("graph.nnef"), Graph1);
        File.WriteAllBytes(dir.File("w.dat"), dat);
        var fromDir = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(dir.Path));
        Assert.Contains(message, fromDir.Message);
        Assert.Contains("w", fromDir.Message);
        var fromTgz = Assert.Throws<InvalidInputFileException>(
            () => NnefArchive.Read(new MemoryStream(Tar(true, F("graph.nnef", Graph1), F("w.dat", dat))), "m.tgz"));
        Assert.True(fromTgz.Message.Contains(message, StringComparison.Ordinal), $"{what}: {fromTgz.Message}");
        File.WriteAllBytes(dir.File("m.tgz"), Tar(true, F("graph.nnef", Graph1), F("w.dat", dat)));
        File.Delete(dir.File("graph.nnef"));
        var headersOnly = Assert.Throws<InvalidInputFileException>(
            () => NnefArchive.Read(dir.File("m.tgz"), new NnefReadOptions { HeadersOnly = true }));
        Assert.True(headersOnly.Message.Contains(message, StringComparison.Ordinal), $"{what}: {headersOnly.Message}");
    }

    [Fact]
    public void AVariableWithoutDataNamesTheLabel()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("graph.nnef"), Graph1);
        var e = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(dir.File("graph.nnef")));
        Assert.Contains("no data file 'w.dat'", e.Message);
        Assert.Equal("w", e.TensorName);
    }

    [Fact]
    public void LabelsMayUseSubFoldersAndALeadingSlash()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("graph.nnef"), Graph1.Replace("label = 'w'", "label = '/sub/w.x'", StringComparison.Ordinal));
        Directory.CreateDirectory(dir.File("sub"));
        File.WriteAllBytes(Path.Combine(dir.Path, "sub", "w.x.dat"), GoodW);
        Graph g = NnefArchive.Read(dir.Path);
        Assert.Equal("/sub/w.x", g.Variables["w"].Label);
    }

    [Fact]
    public void QuantizationOnIncompatibleDataIsRejected()
    {
        using var dir = new TempDir();
        File.WriteAllText(dir.File("graph.nnef"), Graph1);
        File.WriteAllBytes(dir.File("w.dat"), GoodW);
        File.WriteAllText(dir.File("graph.quant"), "\"w\": zero_point_linear_quantize(zero_point = 0, scale = 0.5, bits = 8, signed = true);");
        var e = Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(dir.Path));
        Assert.Contains("cannot carry the 8-bit quantization", e.Message);
    }

    [Fact]
    public void NonUtf8GraphTextIsRejected()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File("graph.nnef"), [.. Encoding.ASCII.GetBytes("version 1.0;\n# "), 0xff, 0xfe, (byte)'\n']);
        Assert.Contains("UTF-8", Assert.Throws<InvalidInputFileException>(() => NnefArchive.Read(dir.Path)).Message);
    }

    private sealed class NonDisposing(Stream inner) : Stream
    {
        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => inner.Length;

        public override long Position { get => inner.Position; set => inner.Position = value; }

        public override void Flush() => inner.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => inner.Write(buffer, offset, count);
    }
}
