using System.IO.Compression;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.IO;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// What an archive claims against what it holds (issue 8, item 5; issue 10, streaming): sizes in tar and <c>.dat</c>
/// headers are checked before anything is allocated, a gzip stream may not expand beyond a hundredfold (or go on
/// after its tar ends), members no variable reads are not kept, and reading an archive never holds a payload in
/// managed memory (allocations are measured on the reading thread).
/// </summary>
public class ArchiveLimitsTests
{
    private const int Side = 32768;
    private const long BigPayload = (long)Side * Side * 2;

    private static string Graph(string label, int rows, int cols) => $$"""
        version 1.0;
        graph g(x) -> (y)
        {
            x = external<scalar>(shape = [1, {{cols}}]);
            w = variable<scalar>(shape = [{{rows}}, {{cols}}], label = '{{label}}');
            y = linear(x, w, 0.0);
        }
        """;

    private static byte[] Header(DType dtype, params int[] dims)
    {
        byte[] h = new byte[DatHeader.Size];
        DatHeader.For(dtype, Shape.Of(dims)).WriteTo(h);
        return h;
    }

    private static byte[] Dat(float[] values, params int[] dims)
    {
        byte[] payload = new byte[values.Length * 4];
        Buffer.BlockCopy(values, 0, payload, 0, payload.Length);
        return [.. Header(DType.F32, dims), .. payload];
    }

    private static float[] Ramp(int n)
    {
        float[] v = new float[n];
        for (int i = 0; i < n; i++)
        {
            v[i] = (i % 1000) - 500.25f;
        }

        return v;
    }

    private static (T Result, long Allocated) Measure<T>(Func<T> read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        T result = read();
        return (result, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    private static (Exception Error, long Allocated) MeasureFailure(Action read)
    {
        long before = GC.GetAllocatedBytesForCurrentThread();
        Exception e = Record.Exception(read) ?? throw new Xunit.Sdk.XunitException("expected the read to fail");
        return (e, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Theory]
    [InlineData(true, false)]
    [InlineData(false, false)]
    [InlineData(true, true)]
    public void ATgzThatExpandsAHundredfoldIsRefusedNamingTheTensor(bool read, bool headersOnly)
    {
        using var dir = new TempDir();
        string bomb = dir.File("bomb.nnef.tgz");
        byte[] prefix = read
            ? [.. ArchiveBytes.TarMember("graph.nnef", Graph("big", Side, Side))]
            : [.. ArchiveBytes.TarMember("graph.nnef", Graph("w", 4, 32)), .. ArchiveBytes.TarMember("w.dat", Dat(new float[128], 4, 32))];
        ArchiveBytes.WriteGzipWithZeros(
            bomb,
            [.. prefix, .. ArchiveBytes.TarHeader("big.dat", DatHeader.Size + BigPayload), .. Header(DType.F16, Side, Side)],
            BigPayload,
            [.. ArchiveBytes.Padding(DatHeader.Size + BigPayload), .. ArchiveBytes.TarEnd]);

        (Exception error, long allocated) = MeasureFailure(() => NnefArchive.Read(bomb, new NnefReadOptions { HeadersOnly = headersOnly }));

        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.Contains(bomb, e.Message);
        Assert.Equal("big", e.TensorName);
        Assert.Contains("decompression bomb", e.Message);
        Assert.True(allocated < (16 << 20), $"{allocated} bytes allocated");
    }

    [Fact]
    public void AGzipStreamThatGoesOnAfterItsTarIsRefused()
    {
        using var dir = new TempDir();
        byte[] archive = [.. ArchiveBytes.TarMember("graph.nnef", Graph("w", 4, 32)), .. ArchiveBytes.TarMember("w.dat", Dat(Ramp(128), 4, 32)), .. ArchiveBytes.TarEnd];
        string bomb = dir.File("tail.nnef.tgz");
        ArchiveBytes.WriteGzipWithZeros(bomb, archive, BigPayload, []);
        (Exception error, long allocated) = MeasureFailure(() => NnefArchive.Read(bomb));
        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.Contains(bomb, e.Message);
        Assert.Contains("after the end of the tar archive", e.Message);
        Assert.True(allocated < (16 << 20), $"{allocated} bytes allocated");

        // The usual record padding (GNU and Python pad to 10 KiB) is fine.
        string padded = dir.File("padded.nnef.tgz");
        ArchiveBytes.WriteGzipWithZeros(padded, archive, 10240, []);
        using Tensor w = NnefArchive.Read(padded).Variables["w"].Source.Open();
        Assert.Equal(Ramp(128), w.AsSpan<float>().ToArray());
    }

    [Fact]
    public void ATarMemberLargerThanTheTarFileIsRefusedBeforeReadingIt()
    {
        using var dir = new TempDir();
        string tar = dir.File("m.nnef.tar");
        File.WriteAllBytes(tar, [
            .. ArchiveBytes.TarMember("graph.nnef", Graph("big", Side, Side)),
            .. ArchiveBytes.TarHeader("big.dat", DatHeader.Size + BigPayload), .. Header(DType.F16, Side, Side), .. new byte[1000]]);
        (Exception error, long allocated) = MeasureFailure(() => NnefArchive.Read(tar));
        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.Contains(tar, e.Message);
        Assert.Equal("big", e.TensorName);
        Assert.Contains($"declares {DatHeader.Size + BigPayload} bytes of data", e.Message);
        Assert.True(allocated < (1 << 20), $"{allocated} bytes allocated");
    }

    [Fact]
    public void ATgzMemberLargerThanWhatTheStreamHoldsIsTruncation()
    {
        using var dir = new TempDir();
        string tgz = dir.File("m.nnef.tgz");
        ArchiveBytes.WriteGzipWithZeros(
            tgz,
            [.. ArchiveBytes.TarMember("graph.nnef", Graph("big", Side, Side)), .. ArchiveBytes.TarHeader("big.dat", DatHeader.Size + BigPayload), .. Header(DType.F16, Side, Side)],
            1 << 20,
            []);
        (Exception error, long allocated) = MeasureFailure(() => NnefArchive.Read(tgz));
        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.Contains(tgz, e.Message);
        Assert.Equal("big", e.TensorName);
        Assert.Contains("the archive ends", e.Message);
        Assert.True(allocated < (16 << 20), $"{allocated} bytes allocated");
    }

    [Theory]
    [InlineData("m.nnef.tar")]
    [InlineData("m.nnef.tgz")]
    [InlineData("dir")]
    public void ADatHeaderDeclaringMoreThanItsFileHoldsIsRefused(string container)
    {
        using var dir = new TempDir();
        byte[] lying = [.. Header(DType.F16, Side, Side), .. new byte[16]];
        string path = dir.File(container);
        Write(path, ("graph.nnef", System.Text.Encoding.UTF8.GetBytes(Graph("big", Side, Side))), ("big.dat", lying));
        (Exception error, long allocated) = MeasureFailure(() => NnefArchive.Read(path));
        var e = Assert.IsType<InvalidInputFileException>(error);
        Assert.Contains(path, e.Message);
        Assert.Equal("big", e.TensorName);
        Assert.Contains($"file is {DatHeader.Size + 16} bytes but its header announces 128 + {BigPayload}", e.Message);
        Assert.True(allocated < (1 << 20), $"{allocated} bytes allocated");
    }

    // graph.nnef first (as older writers put it) or last (as ours and the reference tool's do): before graph.nnef is read
    // the reader cannot know which members are used, so it keeps them all, in the scratch file, never in memory.
    [Theory]
    [InlineData("m.nnef.tar", false)]
    [InlineData("m.nnef.tgz", false)]
    [InlineData("stored.nnef.tgz", false)]
    [InlineData("dir", false)]
    [InlineData("m.nnef.tar", true)]
    [InlineData("m.nnef.tgz", true)]
    [InlineData("stored.nnef.tgz", true)]
    public void ReadingAnArchiveHoldsNoPayloadInMemory(string container, bool graphLast)
    {
        using var dir = new TempDir();
        float[] values = Ramp(1024 * 4096);
        string path = dir.File(container);
        (string, byte[]) graph = ("graph.nnef", System.Text.Encoding.UTF8.GetBytes(Graph("w", 1024, 4096)));
        (string, byte[]) wDat = ("w.dat", Dat(values, 1024, 4096));
        (string, byte[]) other = ("other.dat", Dat(Ramp(1024 * 1024), 1024, 1024));
        if (graphLast)
        {
            Write(path, wDat, other, graph);
        }
        else
        {
            Write(path, graph, wDat);
        }

        (Graph read, long allocated) = Measure(() => NnefArchive.Read(path));
        Assert.True(allocated < (2 << 20), $"reading a 16 MiB model allocated {allocated} bytes");
        TensorSource source = read.Variables["w"].Source;
        for (int round = 0; round < 2; round++)
        {
            using Tensor w = source.Open();
            Assert.Equal(values, w.AsSpan<float>().ToArray());
        }

        var copy = new MemoryStream();
        source.WriteTo(copy);
        Assert.Equal(Dat(values, 1024, 4096)[DatHeader.Size..], copy.ToArray());
        Assert.Empty(Directory.GetFiles(Path.GetTempPath(), $"{TempNames.Prefix}tmp-{Environment.ProcessId}-*"));
    }

    [Fact]
    public void MembersNoVariableReadsAreNotCopied()
    {
        byte[] graph = System.Text.Encoding.UTF8.GetBytes(Graph("w", 4, 32));
        byte[] w = Dat(Ramp(128), 4, 32);
        byte[] other = Dat(Ramp(4096), 128, 32);

        ArchiveResources first = ArchiveResources.FromStream(new MemoryStream(TarBytes(("graph.nnef", graph), ("w.dat", w), ("other.dat", other))), "m.tar", headersOnly: false);
        Assert.True(first.Dats["w"].HasPayload);
        Assert.False(first.Dats["other"].HasPayload);

        // Before graph.nnef is read, any member may be needed: it is kept.
        ArchiveResources last = ArchiveResources.FromStream(new MemoryStream(TarBytes(("other.dat", other), ("w.dat", w), ("graph.nnef", graph))), "m.tar", headersOnly: false);
        Assert.True(last.Dats["w"].HasPayload);
        Assert.True(last.Dats["other"].HasPayload);
        using Tensor back = last.Dats["other"].Open();
        Assert.Equal(Ramp(4096), back.AsSpan<float>().ToArray());
    }

    private static byte[] TarBytes(params (string Name, byte[] Data)[] members) =>
        [.. members.SelectMany(m => ArchiveBytes.TarMember(m.Name, m.Data)), .. ArchiveBytes.TarEnd];

    private static void Write(string path, params (string Name, byte[] Data)[] members)
    {
        if (path.EndsWith(".tar", StringComparison.Ordinal))
        {
            File.WriteAllBytes(path, TarBytes(members));
        }
        else if (path.EndsWith(".tgz", StringComparison.Ordinal))
        {
            using FileStream f = File.Create(path);
            using var gz = new GZipStream(f, Path.GetFileName(path).StartsWith("stored", StringComparison.Ordinal) ? CompressionLevel.NoCompression : CompressionLevel.Fastest);
            gz.Write(TarBytes(members));
        }
        else
        {
            Directory.CreateDirectory(path);
            foreach ((string name, byte[] data) in members)
            {
                File.WriteAllBytes(Path.Combine(path, name), data);
            }
        }
    }
}
