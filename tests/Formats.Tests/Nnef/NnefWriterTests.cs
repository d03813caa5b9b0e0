using System.Formats.Tar;
using System.IO.Compression;
using System.Text.Json;
using TorchToNnef.Errors;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Formats.Nnef.Text;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

public class NnefWriterTests
{
    private static Graph Small(TensorSource w, string label = "w")
    {
        var g = new Graph();
        g.Registries.Add("tract_core");
        g.AddInput("x", DType.F32, [Dim.Of(2)]);
        g.AddVariable("w", label, w);
        g.Nodes.Add(new Node("add", "y").With(Arg.Ref("x")).With(Arg.Ref("w")));
        g.Outputs.Add("y");
        return g;
    }

    private static TensorSource Floats(params float[] v) => TensorSource.FromTensor(Tensor.FromFloats(Shape.Of(v.Length), v));

    [Theory]
    [InlineData(0.1, "0.1")]
    [InlineData(2.0, "2.0")]
    [InlineData(-0.0, "-0.0")]
    [InlineData(1e-05, "1e-05")]
    [InlineData(0.0001, "0.0001")]
    [InlineData(0.00012345, "0.00012345")]
    [InlineData(1.5e-7, "1.5e-07")]
    [InlineData(1e16, "1e+16")]
    [InlineData(1e15, "1000000000000000.0")]
    [InlineData(123456789.125, "123456789.125")]
    [InlineData(1.2345678901234568e+17, "1.2345678901234568e+17")]
    [InlineData(5e-324, "5e-324")]
    [InlineData(1.7976931348623157e308, "1.7976931348623157e+308")]
    [InlineData(0.10000000149011612, "0.10000000149011612")]
    [InlineData(-3.4028234663852886e+38, "-3.4028234663852886e+38")]
    public void FloatsPrintLikePythonRepr(double value, string expected)
    {
        Assert.Equal(expected, NnefLiterals.FormatFloat(value));
        Assert.Equal(value, double.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData(1e16, "10000000000000000.0")]
    [InlineData(-3.4028234663852886e+38, "-340282346638528860000000000000000000000.0")]
    [InlineData(1e-05, "1e-05")]
    public void TractBefore023NeverGetsAPositiveExponent(double value, string expected)
    {
        string text = NnefLiterals.FormatTractFloat(value, allowPositiveExponent: false);
        Assert.Equal(expected, text);
        Assert.Equal(value, double.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Throws<ArgumentException>(() => NnefLiterals.FormatTractFloat(double.NaN, false));
    }

    [Fact]
    public void EveryF32AndF16ValueSurvivesALiteralRoundTrip()
    {
        var rng = new Random(7);
        for (int i = 0; i < 20000; i++)
        {
            float f = BitConverter.Int32BitsToSingle(rng.Next() ^ (rng.Next(2) << 31));
            Half h = BitConverter.UInt16BitsToHalf((ushort)rng.Next(65536));
            foreach (double d in new[] { (double)f, (double)h })
            {
                if (!double.IsFinite(d))
                {
                    continue;
                }

                string text = NnefLiterals.FormatTractFloat(d, allowPositiveExponent: false);
                Assert.DoesNotContain("e+", text);
                Assert.True(text.Contains('.') || text.Contains('e'), text);
                Assert.Equal(d, double.Parse(text, System.Globalization.CultureInfo.InvariantCulture));
            }
        }
    }

    [Theory]
    [InlineData("plain", "'plain'")]
    [InlineData("it's \"x\" \\", "'it\\'s \\\"x\\\" \\\\'")]
    [InlineData("{{ a }} {% b %} {# c #}", "'{\\{ a }} {\\% b %} {\\# c #}'")]
    public void StringsAreEscapedForTractAndTheTemplateEngine(string value, string expected)
    {
        Assert.Equal(expected, NnefLiterals.QuoteString(value));
    }

    [Fact]
    public void UnusualStringsAndNamesRoundTripThroughTheText()
    {
        Graph g = Small(Floats(1, 2));
        g.SetProperty("export_cmd", "t2n \"quoted\" 'single' C:\\path {{template}} # hash");
        g.Nodes[2].With("note", Arg.String("{%weird'\"\\"));
        string text = GraphText.Parse(WriteAndReadText(g)).GetProperty("export_cmd")!;
        Assert.Equal("t2n \"quoted\" 'single' C:\\path {{template}} # hash", text);
        string written = WriteAndReadText(g);
        Assert.DoesNotContain("{{", written);
        Assert.DoesNotContain("{%", written);
        Assert.Equal(Arg.String("{%weird'\"\\"), GraphText.Parse(written).Nodes[2].GetAttribute("note"));
    }

    private static string WriteAndReadText(Graph g)
    {
        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("o"));
        return File.ReadAllText(tmp.File("o/graph.nnef"));
    }

    [Theory]
    [InlineData("model.layers.0.weight", "model.layers.0.weight")]
    [InlineData("sub/dir/w", "sub/dir/w")]
    [InlineData("../../etc/passwd", "_._/_._/etc/passwd")]
    [InlineData("/abs/w", "abs/w")]
    [InlineData(".hidden", "_hidden")]
    [InlineData("a\\b:c*?\"<>|", "a_b_c______")]
    [InlineData("nul\0x", "nul_x")]
    [InlineData("", "_")]
    [InlineData("a//b/", "a/b")]
    [InlineData("trail.", "trail._")]
    public void LabelsBecomeSafeRelativePaths(string label, string expected)
    {
        Assert.Equal(expected, LabelPaths.Sanitize(label));
    }

    [Fact]
    public void SanitizedLabelsStayUniqueAndShort()
    {
        var paths = new LabelPaths();
        Assert.Equal("w", paths.Get("w"));
        Assert.Equal("W_1", paths.Get("W"));
        Assert.Equal("a_b", paths.Get("a\\b"));
        Assert.Equal("a_b_1", paths.Get("a:b"));
        Assert.Equal("w", paths.Get("w"));
        string longLabel = new('x', 500);
        string shortened = paths.Get(longLabel);
        Assert.True(shortened.Length <= 200);
        Assert.Equal(shortened, LabelPaths.Sanitize(longLabel));
    }

    [Fact]
    public void HostileLabelsAreWrittenInsideTheArchiveAndReadBack()
    {
        Graph g = Small(Floats(1, 2), label: "../../outside/.w");
        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("o"));
        NnefArchive.Write(g, tmp.File("o.nnef.tgz"));
        Assert.True(File.Exists(tmp.File("o/_._/_._/outside/_w.dat")));
        Assert.False(Directory.Exists(tmp.File("outside")));
        foreach (string p in new[] { tmp.File("o"), tmp.File("o.nnef.tgz") })
        {
            Graph back = NnefArchive.Read(p);
            Assert.Equal("_._/_._/outside/_w", back.Variables["w"].Label);
            Assert.True(GraphAssert.SameBytes(g.Variables["w"].Source, back.Variables["w"].Source));
        }

        Assert.Equal("../../outside/.w", g.Variables["w"].Label);
    }

    [Fact]
    public void LongAndNonAsciiMemberNamesUsePaxAndReadBack()
    {
        string label = "deep/" + new string('d', 120) + "/" + new string('n', 150) + "/wé";
        Graph g = Small(Floats(1, 2), label);
        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("o.tar"));
        using (var tar = new TarReader(File.OpenRead(tmp.File("o.tar"))))
        {
            var names = new List<string>();
            while (tar.GetNextEntry() is TarEntry e)
            {
                names.Add(e.Name);
            }

            // Weights first, graph.nnef last (the reference tool's order; tract collects all members before loading).
            Assert.Equal([label + ".dat", "graph.nnef"], names);
        }

        Assert.Equal(label, NnefArchive.Read(tmp.File("o.tar")).Variables["w"].Label);
        Assert.Equal(0, new FileInfo(tmp.File("o.tar")).Length % 10240);
    }

    [Fact]
    public void NonFiniteLiteralsBecomeRankZeroVariables()
    {
        Graph g = Small(Floats(1, 2));
        g.Nodes.Add(new Node("select", "z").With(Arg.Ref("y")).With(Arg.Float(double.NegativeInfinity)).With(Arg.Array(Arg.Float(double.NaN), Arg.Float(1))));
        g.Outputs.Add("z");
        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("o"));
        Graph back = NnefArchive.Read(tmp.File("o"));
        Node sel = back.FindProducer("z")!;
        Assert.Equal(Arg.Ref("var_neg_inf"), sel.Inputs[1]);
        Assert.Equal(Arg.Array(Arg.Ref("var_nan"), Arg.Float(1)), sel.Inputs[2]);
        using Tensor inf = back.Variables["var_neg_inf"].Source.Open();
        Assert.Equal(float.NegativeInfinity, inf.AsSpan<float>()[0]);
        Assert.Equal(0, inf.Shape.Rank);
        Assert.True(float.IsNaN(back.Variables["var_nan"].Source.Open().AsSpan<float>()[0]));
        // The input graph is untouched.
        Assert.Equal(Arg.Float(double.NegativeInfinity), g.FindProducer("z")!.Inputs[1]);
        Assert.DoesNotContain("inf", File.ReadAllText(tmp.File("o/graph.nnef")).Replace("var_neg_inf", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void AFailingWriteLeavesNothingBehindAndKeepsTheOldDestination()
    {
        Graph g = Small(TensorSource.Computed(DType.F32, Shape.Of(2), () => throw new InvalidOperationException("boom")));
        using var tmp = new TempDir();
        foreach (string dest in new[] { tmp.File("o"), tmp.File("o.nnef.tgz") })
        {
            Assert.Throws<InvalidOperationException>(() => NnefArchive.Write(g, dest));
            Assert.False(File.Exists(dest) || Directory.Exists(dest));
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path));

        // An existing archive is kept unless overwrite is asked, and kept intact when the overwrite fails.
        NnefArchive.Write(Small(Floats(1, 2)), tmp.File("keep.nnef.tgz"));
        byte[] before = File.ReadAllBytes(tmp.File("keep.nnef.tgz"));
        Assert.Throws<OutputRefusedException>(() => NnefArchive.Write(Small(Floats(3, 4)), tmp.File("keep.nnef.tgz")));
        Assert.Throws<InvalidOperationException>(() => NnefArchive.Write(g, tmp.File("keep.nnef.tgz"), new NnefWriteOptions { Overwrite = true }));
        Assert.Equal(before, File.ReadAllBytes(tmp.File("keep.nnef.tgz")));
        NnefArchive.Write(Small(Floats(3, 4)), tmp.File("keep.nnef.tgz"), new NnefWriteOptions { Overwrite = true });
        Assert.NotEqual(before, File.ReadAllBytes(tmp.File("keep.nnef.tgz")));
        Assert.Single(Directory.EnumerateFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void AnExistingDirectoryIsReplacedWholeOnOverwrite()
    {
        using var tmp = new TempDir();
        string dest = tmp.File("m");
        NnefArchive.Write(Small(Floats(1, 2), "old_label"), dest);
        NnefArchive.Write(Small(Floats(3, 4), "new_label"), dest, new NnefWriteOptions { Overwrite = true });
        Assert.Equal(["graph.nnef", "new_label.dat"], Directory.EnumerateFiles(dest).Select(Path.GetFileName).Order());
        Assert.Single(Directory.EnumerateFileSystemEntries(tmp.Path));
    }

    [Fact]
    public void VariablesSharingALabelAreWrittenOnceOrRejectedWhenTheyDiffer()
    {
        TensorSource shared = Floats(1, 2);
        Graph g = Small(shared);
        g.AddVariable("w2", "w", Floats(1, 2));
        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("ok"));
        Assert.Single(Directory.EnumerateFiles(tmp.File("ok"), "*.dat"));
        Graph bad = Small(shared);
        bad.AddVariable("w2", "w", Floats(5, 6));
        var e = Assert.Throws<InvalidGraphException>(() => NnefArchive.Write(bad, tmp.File("bad")));
        Assert.Contains("shares the label 'w'", e.Message);
    }

    [Fact]
    public void DataTheTargetCannotHoldIsRejected()
    {
        var bf16 = TensorSource.FromTensor(Tensor.Allocate(DType.BF16, Shape.Of(2)));
        using var tmp = new TempDir();
        var e = Assert.Throws<UnsupportedFeatureException>(() => NnefArchive.Write(Small(bf16), tmp.File("o")));
        Assert.Contains("bf16", e.Message);
        Assert.Empty(Directory.EnumerateFileSystemEntries(tmp.Path));
        var bad = new Graph();
        bad.Nodes.Add(new Node(Graph.VariableOp, "v").With("label", Arg.String("v")).With("shape", Arg.Ints(1)));
        Assert.Throws<InvalidGraphException>(() => NnefArchive.Write(bad, tmp.File("o")));
    }

    [Fact]
    public void BooleansAreWrittenBitPackedAndReadBack()
    {
        var t = Tensor.FromSpan<byte>(DType.Bool, Shape.Of(11), [1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1]);
        Graph g = Small(TensorSource.FromTensor(t));
        using var tmp = new TempDir();
        NnefArchive.Write(g, tmp.File("o.nnef.tgz"));
        Graph back = NnefArchive.Read(tmp.File("o.nnef.tgz"));
        Assert.Equal("logical", back.FindProducer("w")!.Generic);
        using Tensor b = back.Variables["w"].Source.Open();
        Assert.Equal(t.Bytes.ToArray(), b.Bytes.ToArray());
        Assert.Equal(2, ((DatTensorSource)back.Variables["w"].Source).Header.DataSize);
    }

    public static TheoryData<string> Q40Cases()
    {
        var data = new TheoryData<string>();
        using JsonDocument m = JsonDocument.Parse(File.ReadAllText(Golden.File("q40", "manifest.json")));
        foreach (JsonElement c in m.RootElement.GetProperty("cases").EnumerateArray())
        {
            data.Add(c.GetProperty("id").GetString()!);
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Q40Cases))]
    public void Q40IsWrittenInTheTargetsNibbleOrder(string id)
    {
        string ggml = Golden.File("q40", id + ".tract-0.21.13.dat");
        string legacy = Golden.File("q40", id + ".tract-0.21.10.dat");
        using var tmp = new TempDir();
        foreach ((string from, string to, TractVersion target) in new[]
        {
            (ggml, legacy, new TractVersion(0, 21, 10)),
            (legacy, ggml, new TractVersion(0, 21, 13)),
            (ggml, ggml, new TractVersion(0, 22, 0)),
        })
        {
            using Tensor t = DatFile.Read(from);
            string dest = tmp.File(Guid.NewGuid().ToString("N"));
            if (target.UsesGgmlQ40Order || t.Shape.Rank == 2)
            {
                NnefArchive.Write(Small(TensorSource.FromTensor(t), id), dest, new NnefWriteOptions { TractVersion = target });
                Assert.Equal(File.ReadAllBytes(to), File.ReadAllBytes(Path.Combine(dest, id + ".dat")));
            }
            else
            {
                // tract <= 0.21.10 reads rank-2 Q4_0 only.
                var e = Assert.Throws<UnsupportedFeatureException>(
                    () => NnefArchive.Write(Small(TensorSource.FromTensor(t), id), dest, new NnefWriteOptions { TractVersion = target }));
                Assert.Contains("rank-2", e.Message);
            }
        }
    }

    [Fact]
    public void CompressionLevelIsValidated()
    {
        using var tmp = new TempDir();
        Assert.Throws<ArgumentOutOfRangeException>(() => NnefArchive.Write(Small(Floats(1)), tmp.File("o.tgz"), new NnefWriteOptions { CompressionLevel = 10 }));
        NnefArchive.Write(Small(Floats(1)), tmp.File("o.tgz"), new NnefWriteOptions { CompressionLevel = 9 });
        using var gz = new GZipStream(File.OpenRead(tmp.File("o.tgz")), CompressionMode.Decompress);
        using var tar = new TarReader(gz);
        var names = new List<string>();
        while (tar.GetNextEntry() is TarEntry e)
        {
            names.Add(e.Name);
        }

        Assert.Equal("graph.nnef", names[^1]);
    }
}
