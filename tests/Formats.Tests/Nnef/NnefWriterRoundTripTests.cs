using System.Formats.Tar;
using System.IO.Compression;
using System.Text.RegularExpressions;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

public class NnefWriterRoundTripTests
{
    public static TheoryData<string> Archives => GoldenArchives.All();

    [Theory]
    [MemberData(nameof(Archives))]
    public void ReadWriteReadGivesTheSameGraphAndByteIdenticalDatFiles(string rel)
    {
        string tgz = Path.Combine(Golden.Dir, rel);
        string goldenDir = GoldenArchives.ExtractedDir(tgz);
        Graph original = NnefArchive.Read(tgz);
        using var tmp = new TempDir();
        string outTgz = tmp.File("out.nnef.tgz");
        string outDir = tmp.File("out");
        NnefArchive.Write(original, outTgz);
        NnefArchive.Write(original, outDir);

        GraphAssert.Equal(original, NnefArchive.Read(outTgz));
        GraphAssert.Equal(original, NnefArchive.Read(outDir));

        // Every .dat the writer produced is byte-identical to the golden one of the same name, and none is missing.
        string[] written = [.. Directory.EnumerateFiles(outDir, "*.dat", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(outDir, f)).Order()];
        string[] golden = [.. Directory.EnumerateFiles(goldenDir, "*.dat", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(goldenDir, f)).Order()];
        Assert.Equal(golden, written);
        foreach (string f in written)
        {
            Assert.True(
                File.ReadAllBytes(Path.Combine(goldenDir, f)).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(outDir, f))),
                $"{rel}: {f} differs from the golden file");
        }

        // The archive holds the same member names as the reference one (order and tar metadata may differ).
        Assert.Equal(MemberNames(tgz), MemberNames(outTgz));
    }

    [Theory]
    [InlineData("export_cnn_f32")]
    [InlineData("export_cnn_q40")]
    [InlineData("export_mlp_q40")]
    [InlineData("export_ptq_conv1d_q8")]
    public void GraphBodiesWithoutFragmentsPrintExactlyAsTorchToNnef(string export)
    {
        // These graphs have no fragments and no re-assignments: every non-blank line must match the golden text.
        string golden = File.ReadAllText(Golden.File(export, "nnef", "graph.nnef"));
        using var tmp = new TempDir();
        NnefArchive.Write(NnefArchive.Read(Golden.File(export, "nnef")), tmp.File("o"));
        string ours = File.ReadAllText(tmp.File(Path.Combine("o", "graph.nnef")));
        Assert.Equal(NonBlankLines(golden), NonBlankLines(ours));
    }

    [Fact]
    public void LlmGraphBodyLinesMatchExceptRenamedRebindings()
    {
        string dir = Golden.File("llm", "qwen3", "export_f32", "model", "nnef");
        string[] golden = Body(File.ReadAllText(Path.Combine(dir, "graph.nnef")));
        using var tmp = new TempDir();
        NnefArchive.Write(NnefArchive.Read(dir), tmp.File("o"));
        string[] ours = Body(File.ReadAllText(tmp.File(Path.Combine("o", "graph.nnef"))));
        Assert.Equal(golden.Length, ours.Length);
        int renamed = 0;
        for (int i = 0; i < golden.Length; i++)
        {
            if (golden[i] != ours[i])
            {
                // Only the earlier bindings of a re-assigned identifier (and reads of them) may be spelled differently.
                Assert.Matches("_shape__[0-9]", ours[i]);
                Assert.Equal(golden[i], Regex.Replace(ours[i], "_shape__[0-9]+", "_shape"));
                renamed++;
            }
        }

        Assert.InRange(renamed, 10, 60);
    }

    [Fact]
    public void TheSameGraphGivesByteIdenticalArchives()
    {
        Graph g = NnefArchive.Read(Golden.File("llm", "llama", "export_min_max_q4_0_with_embeddings", "model", "model.nnef.tgz"));
        using var tmp = new TempDir();
        foreach (int level in new[] { 0, 6 })
        {
            NnefArchive.Write(g, tmp.File($"a{level}.nnef.tgz"), new NnefWriteOptions { CompressionLevel = level });
            NnefArchive.Write(g, tmp.File($"b{level}.nnef.tgz"), new NnefWriteOptions { CompressionLevel = level });
            Assert.Equal(File.ReadAllBytes(tmp.File($"a{level}.nnef.tgz")), File.ReadAllBytes(tmp.File($"b{level}.nnef.tgz")));
        }

        Assert.True(new FileInfo(tmp.File("a6.nnef.tgz")).Length < new FileInfo(tmp.File("a0.nnef.tgz")).Length);
        byte[] head = File.ReadAllBytes(tmp.File("a0.nnef.tgz"))[..10];
        // gzip header: magic, deflate, no flags, mtime 0, OS "unknown" (platform independent).
        Assert.Equal(new byte[] { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0 }, head[..8]);
        Assert.Equal(0xFF, head[9]);

        // Fixed tar metadata as seen by an independent reader.
        using var gz = new GZipStream(File.OpenRead(tmp.File("a0.nnef.tgz")), CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        int n = 0;
        while (tar.GetNextEntry() is TarEntry e)
        {
            Assert.Equal(TarEntryType.RegularFile, e.EntryType);
            Assert.Equal(DateTimeOffset.UnixEpoch, e.ModificationTime);
            Assert.Equal(0, e.Uid);
            Assert.Equal(0, e.Gid);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, e.Mode);
            Assert.Equal(n == 0 ? "graph.nnef" : e.Name, e.Name);
            n++;
        }

        Assert.Equal(1 + g.Variables.Count, n);
    }

    private static string[] NonBlankLines(string text) =>
        [.. text.Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0)];

    private static string[] Body(string text)
    {
        string[] lines = NonBlankLines(text);
        int start = Array.FindIndex(lines, l => l.StartsWith("graph ", StringComparison.Ordinal));
        return lines[start..];
    }

    private static string[] MemberNames(string tgz)
    {
        using var gz = new GZipStream(File.OpenRead(tgz), CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        var names = new List<string>();
        while (tar.GetNextEntry() is TarEntry e)
        {
            if (e.EntryType != TarEntryType.Directory)
            {
                names.Add(e.Name.StartsWith("./", StringComparison.Ordinal) ? e.Name[2..] : e.Name);
            }
        }

        return [.. names.Order(StringComparer.Ordinal)];
    }
}
