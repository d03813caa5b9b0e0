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
    [InlineData("export_cnn_f32", "nnef")]
    [InlineData("export_cnn_q40", "nnef")]
    [InlineData("export_mlp_q40", "nnef")]
    [InlineData("export_ptq_conv1d_q8", "nnef")]
    [InlineData("export_cnn_f32", "khronos")]
    public void GraphFilesWithoutFragmentsAreByteIdenticalToTorchToNnefs(string export, string folder)
    {
        // Graphs without custom fragments: graph.nnef (blank lines included) and graph.quant (entry order and the
        // order of each entry's arguments) are the reference tool's bytes.
        string golden = Golden.File(export, folder);
        using var tmp = new TempDir();
        NnefArchive.Write(NnefArchive.Read(golden), tmp.File("o"));
        foreach (string file in new[] { "graph.nnef", "graph.quant" })
        {
            string expected = Path.Combine(golden, file);
            string actual = tmp.File(Path.Combine("o", file));
            Assert.Equal(File.Exists(expected), File.Exists(actual));
            if (File.Exists(expected))
            {
                Assert.Equal(File.ReadAllText(expected), File.ReadAllText(actual));
                Assert.True(File.ReadAllBytes(expected).AsSpan().SequenceEqual(File.ReadAllBytes(actual)), $"{export}/{folder}/{file}");
            }
        }

        Assert.Equal(export == "export_ptq_conv1d_q8", File.Exists(Path.Combine(golden, "graph.quant")));
    }

    public static TheoryData<string, string> LlmExports()
    {
        var data = new TheoryData<string, string>();
        foreach (string tgz in GoldenManifest.FilesEndingWith("model/model.nnef.tgz", "llm"))
        {
            string[] parts = tgz.Split('/');
            data.Add(parts[1], parts[2]);
        }

        return data;
    }

    /// <summary>
    /// LLM graphs, compared exactly, part by part. Identical: everything up to the end of the properties fragment
    /// (version, extensions, properties) and the graph body except for one listed difference. The remaining
    /// differences and why they remain:
    /// <list type="number">
    /// <item>Custom fragment definitions and the blank lines around them: the reference pastes torch_to_nnef's
    /// hand-written templates (nested expressions such as <c>mul(a, b) + c</c>, their own spacing, and as many blank
    /// lines as each template file happens to end with); we print the fragments we read
    /// from the IR, one operation per statement. Only their names and order are compared here; their meaning is
    /// compared by the round trip above (<see cref="GraphAssert"/> covers fragment bodies).</item>
    /// <item>Re-bound identifiers: the reference assigns some names twice (<c>x_shape = ...; x_shape = f(x_shape)</c>);
    /// the IR is single-assignment, so the earlier bindings (and their reads) are written <c>x_shape__N</c>. The lines
    /// that differ must be exactly those lines, and equal the reference's once the suffix is removed.</item>
    /// </list>
    /// </summary>
    [Theory]
    [MemberData(nameof(LlmExports))]
    public void LlmGraphTextsDifferOnlyInTheListedWays(string model, string export)
    {
        string dir = Golden.File("llm", model, export, "model", "nnef");
        string golden = File.ReadAllText(Path.Combine(dir, "graph.nnef"));
        using var tmp = new TempDir();
        NnefArchive.Write(NnefArchive.Read(dir), tmp.File("o"));
        string ours = File.ReadAllText(tmp.File(Path.Combine("o", "graph.nnef")));

        (string goldenHead, string[] goldenFragments, string[] goldenBody) = Split(golden);
        (string ourHead, string[] ourFragments, string[] ourBody) = Split(ours);

        // Before the custom fragments: byte for byte.
        Assert.Equal(goldenHead, ourHead);

        // Difference 1: the same fragments in the same order, written from the IR.
        Assert.NotEmpty(goldenFragments);
        Assert.Equal(goldenFragments, ourFragments);

        // Difference 2: exactly the lines that bind or read an earlier binding of a re-bound name.
        Assert.Equal(goldenBody.Length, ourBody.Length);
        (HashSet<int> expectedLines, HashSet<string> rebound) = EarlierBindingLines(goldenBody);
        var differing = new HashSet<int>(Enumerable.Range(0, goldenBody.Length).Where(i => goldenBody[i] != ourBody[i]));
        Assert.Equal(expectedLines.Order(), differing.Order());
        foreach (int i in differing)
        {
            string restored = Regex.Replace(ourBody[i], @"\b([A-Za-z_][A-Za-z0-9_]*)__[0-9]+\b", m => rebound.Contains(m.Groups[1].Value) ? m.Groups[1].Value : m.Value);
            Assert.Equal(goldenBody[i], restored);
        }
    }

    // Head: the text up to the end of the properties fragment. Fragments: the names of the custom fragments in order
    // (with the blank lines around them, the rest of the text before the graph). Body: the lines from 'graph ' on.
    private static (string Head, string[] Fragments, string[] Body) Split(string text)
    {
        string[] lines = text.Split('\n');
        int graph = Array.FindIndex(lines, l => l.StartsWith("graph ", StringComparison.Ordinal));
        int properties = Array.FindIndex(lines, l => l.StartsWith("fragment tract_core_properties(", StringComparison.Ordinal));
        Assert.InRange(properties, 0, graph);
        int end = Array.FindIndex(lines, properties, l => l == "}");
        string head = string.Join('\n', lines[..(end + 1)]);
        string[] fragments = [.. lines[..graph].Where(l => l.StartsWith("fragment ", StringComparison.Ordinal) && !l.StartsWith("fragment tract_core_properties(", StringComparison.Ordinal))
            .Select(l => Regex.Match(l, @"^fragment ([A-Za-z0-9_]+)").Groups[1].Value)];
        return (head, fragments, lines[graph..]);
    }

    // From the reference body alone: names assigned more than once, and the lines where an earlier binding of one of
    // them is written or read (every mention before its last binding, and the right-hand side of the last binding).
    private static (HashSet<int> Lines, HashSet<string> Rebound) EarlierBindingLines(string[] body)
    {
        var bindings = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        for (int i = 0; i < body.Length; i++)
        {
            Match m = Regex.Match(body[i], @"^    ([A-Za-z_][A-Za-z0-9_]*) = ");
            if (m.Success)
            {
                (bindings.TryGetValue(m.Groups[1].Value, out List<int>? at) ? at : bindings[m.Groups[1].Value] = []).Add(i);
            }
        }

        var lines = new HashSet<int>();
        var rebound = new HashSet<string>(StringComparer.Ordinal);
        foreach ((string name, List<int> at) in bindings.Where(b => b.Value.Count > 1))
        {
            rebound.Add(name);
            var token = new Regex($@"(?<![A-Za-z0-9_']){Regex.Escape(name)}(?![A-Za-z0-9_'])");
            for (int i = at[0]; i <= at[^1]; i++)
            {
                string searched = i == at[^1] ? body[i][(body[i].IndexOf(" = ", StringComparison.Ordinal) + 3)..] : body[i];
                if (token.IsMatch(searched))
                {
                    lines.Add(i);
                }
            }
        }

        return (lines, rebound);
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
        var names = new List<string>();
        while (tar.GetNextEntry() is TarEntry e)
        {
            Assert.Equal(TarEntryType.RegularFile, e.EntryType);
            Assert.Equal(DateTimeOffset.UnixEpoch, e.ModificationTime);
            Assert.Equal(0, e.Uid);
            Assert.Equal(0, e.Gid);
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead, e.Mode);
            names.Add(e.Name);
            n++;
        }

        // One .dat per label in the order the reference graph text declares its variables, then graph.nnef (the reference
        // tool's order: every .dat, then graph.nnef; tract collects all members before loading).
        string goldenText = File.ReadAllText(Golden.File("llm", "llama", "export_min_max_q4_0_with_embeddings", "model", "nnef", "graph.nnef"));
        string[] labels = [.. Regex.Matches(goldenText, @"= variable(<[a-z]+>)?\(label = '([^']+)'").Select(m => m.Groups[2].Value).Distinct()];
        Assert.Equal([.. labels.Select(l => l + ".dat"), "graph.nnef"], names);
        Assert.Equal(1 + g.Variables.Count, n);
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
