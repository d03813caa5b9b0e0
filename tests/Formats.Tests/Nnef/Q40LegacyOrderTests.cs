using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Nnef.Archive;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Formats.Tests.Nnef;

/// <summary>
/// The legacy Q4_0 nibble order exists only as a <c>.dat</c> encoding: converted from and to the in-memory GGML
/// order, whole or streamed, and read back as <see cref="DType.Q40"/>.
/// </summary>
public class Q40LegacyOrderTests
{
    // q40.md's worked example: the same block in both orders (scale 0xB2CD, codes 7 10 6 8 4 15 ...).
    private static readonly byte[] WorkedGgml = Convert.FromHexString("cdb2777ac628a48f57b84cd365899618c57e");
    private static readonly byte[] WorkedLegacy = Convert.FromHexString("cdb2a786f4873c9586e5772c8ab5d486197c");

    [Fact]
    public void WorkedExampleConvertsBothWays()
    {
        byte[] b = [.. WorkedGgml];
        Q40LegacyOrder.FromGgml(b);
        Assert.Equal(WorkedLegacy, b);
        Q40LegacyOrder.ToGgml(b);
        Assert.Equal(WorkedGgml, b);
    }

    [Fact]
    public void ConversionFollowsBothDefinitionsOnRandomCodes()
    {
        var rng = new Random(17);
        const int Blocks = 50;
        byte[] ggml = new byte[Blocks * 18];
        byte[] legacy = new byte[Blocks * 18];
        for (int g = 0; g < Blocks; g++)
        {
            byte[] codes = [.. Enumerable.Range(0, 32).Select(_ => (byte)rng.Next(16))];
            ggml[g * 18] = legacy[g * 18] = (byte)rng.Next(256);
            ggml[(g * 18) + 1] = legacy[(g * 18) + 1] = (byte)rng.Next(256);
            for (int j = 0; j < 16; j++)
            {
                ggml[(g * 18) + 2 + j] = (byte)(codes[j] | (codes[j + 16] << 4));
                legacy[(g * 18) + 2 + j] = (byte)(codes[2 * j] | (codes[(2 * j) + 1] << 4));
            }
        }

        byte[] converted = [.. ggml];
        Q40LegacyOrder.FromGgml(converted);
        Assert.Equal(legacy, converted);
        Q40LegacyOrder.ToGgml(converted);
        Assert.Equal(ggml, converted);
        Assert.Throws<ArgumentException>(() => Q40LegacyOrder.ToGgml(new byte[19]));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void StreamingConversionIsTheSameWhateverTheWriteSizes(bool toLegacy)
    {
        var rng = new Random(3);
        byte[] blocks = new byte[18 * 20_000]; // more than one conversion window
        rng.NextBytes(blocks);
        byte[] expected = [.. blocks];
        if (toLegacy)
        {
            Q40LegacyOrder.FromGgml(expected);
        }
        else
        {
            Q40LegacyOrder.ToGgml(expected);
        }

        using var output = new MemoryStream();
        var convert = new Q40LegacyOrder.ConvertingStream(output, toLegacy);
        int at = 0;
        foreach (int size in new[] { 1, 17, 19, 5, 100_000, 7 })
        {
            int n = Math.Min(size, blocks.Length - at);
            convert.Write(blocks, at, n);
            at += n;
        }

        convert.Write(blocks, at, blocks.Length - at);
        convert.Complete();
        Assert.Equal(expected, output.ToArray());

        var partial = new Q40LegacyOrder.ConvertingStream(Stream.Null, toLegacy);
        partial.Write(new byte[20]);
        Assert.Throws<InvalidDataException>(partial.Complete);
    }

    [Theory]
    [InlineData("s32x32_f32_normal")]
    [InlineData("s64x96_f16_large6e4")]
    public void ALegacyDatInAnArchiveIsReadAsGgmlBlocks(string id)
    {
        byte[] legacyFile = File.ReadAllBytes(Golden.File("q40", id + ".tract-0.21.10.dat"));
        byte[] ggmlFile = File.ReadAllBytes(Golden.File("q40", id + ".tract-0.21.13.dat"));
        DatHeader header = DatHeader.Parse(legacyFile.AsSpan(0, DatHeader.Size), id, "w");
        Assert.True(header.IsLegacyQ40Order);
        Assert.Equal(DType.Q40, header.DType);

        using var tmp = new TempDir();
        string dir = tmp.File("model");
        Directory.CreateDirectory(dir);
        File.WriteAllBytes(Path.Combine(dir, "w.dat"), legacyFile);
        File.WriteAllText(Path.Combine(dir, "graph.nnef"), $$"""
            version 1.0;

            graph network() -> (w)
            {
                w = variable(label = 'w', shape = [{{header.Shape[0]}}, {{header.Shape[1]}}]);
            }

            """);
        Graph g = NnefArchive.Read(dir);
        var source = (DatTensorSource)g.Variables["w"].Source;
        Assert.Equal(DType.Q40, source.DType);

        using (Tensor opened = source.Open())
        {
            Assert.True(opened.Bytes.SequenceEqual(ggmlFile.AsSpan(DatHeader.Size)));
        }

        using var streamed = new MemoryStream();
        source.WriteTo(streamed);
        Assert.True(streamed.ToArray().AsSpan().SequenceEqual(ggmlFile.AsSpan(DatHeader.Size)));
        using var raw = new MemoryStream();
        source.CopyRawPayloadTo(raw);
        Assert.True(raw.ToArray().AsSpan().SequenceEqual(legacyFile.AsSpan(DatHeader.Size)));

        // Written back for the same target: the file's bytes again; for a newer one: the GGML file.
        foreach ((TractVersion target, byte[] expected) in new[] { (new TractVersion(0, 21, 10), legacyFile), (TractVersion.Latest, ggmlFile) })
        {
            using var ms = new MemoryStream();
            DatFile.Write(ms, source, DatHeader.For(DType.Q40, source.Shape, legacyQ40Order: !target.UsesGgmlQ40Order));
            Assert.Equal(expected, ms.ToArray());
        }
    }
}
