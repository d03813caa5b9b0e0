using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Cli.Tests;

public class CompressCommandTests
{
    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [Fact]
    public void CompressingTheF32CnnReproducesTheReferenceQ40Archive()
    {
        using var tmp = new TempDir();
        string output = tmp.File("cnn_q40.nnef.tgz");
        (int code, string stdout, string stderr) = Run("compress", "-i", Golden.File("export_cnn_f32", "model.nnef.tgz"), "-o", output, "-c", "min_max_q4_0_all");
        Assert.Equal(0, code);
        Assert.Contains("3 weight(s) to Q4_0", stdout);
        Assert.Contains("tract 0.21.13", stdout);
        Assert.Contains("warning: 'conv1.weight' stays float", stderr);

        Graph ours = NnefArchive.Read(output);
        Graph reference = NnefArchive.Read(Golden.File("export_cnn_q40", "model.nnef.tgz"));
        GraphAssert.Equal(reference, ours);
    }

    [Fact]
    public void TheTargetVersionDecidesTheQ40LayoutAndIsRecorded()
    {
        using var tmp = new TempDir();
        string output = tmp.File("out");
        (int code, _, string stderr) = Run(
            "compress", "-i", Golden.File("export_mlp_q40", "nnef"), "-o", output, "-c", "min_max_q4_0", "--tract-version", "0.21.10");
        Assert.True(code == 0, stderr);
        Graph g = NnefArchive.Read(output);
        Assert.Equal("0.21.10", g.GetProperty("tract_target_version"));
        // Already-Q4_0 weights are re-encoded for the older target (bytes: the test below, against the golden .dat):
        // the same Q4_0 tensor in memory, stored with the legacy item type.
        Assert.Equal(DType.Q40, g.Variables["fc1_weight"].DType);
        byte[] head = File.ReadAllBytes(Path.Combine(output, g.Variables["fc1_weight"].Label + ".dat"))[..DatHeader.Size];
        Assert.True(DatHeader.Parse(head, null, null).IsLegacyQ40Order);
    }

    [Theory]
    [InlineData("s32x32_f32_normal")]
    [InlineData("s64x96_f16_large6e4")]
    [InlineData("s32x32_f32_halfway")]
    public void ForTract0_21_10BothNewAndRelaidWeightsAreTheGoldenLegacyDatBytes(string id)
    {
        // One linear reads the case's float input, another the reference's Q4_0 .dat for tract 0.21.13: compressing for
        // 0.21.10 must give, for both, exactly the reference's legacy .dat (item type 0x2040, legacy nibble order).
        using var tmp = new TempDir();
        string dir = tmp.File("in");
        Directory.CreateDirectory(dir);
        using (SafetensorsFile input = SafetensorsFile.Open(Golden.File("q40", id + ".input.safetensors")))
        using (Tensor w = input.GetTensor("weight"))
        using (FileStream f = File.Create(Path.Combine(dir, "fresh.dat")))
        {
            DatFile.Write(f, TensorSource.FromTensor(w));
            string dtype = w.DType == DType.F32 ? "f32" : "f16";
            Assert.Equal(2, w.Shape.Rank);
            (long rows, long cols) = (w.Shape[0], w.Shape[1]);
            File.WriteAllText(Path.Combine(dir, "graph.nnef"), $$"""
                version 1.0;

                extension tract_registry tract_core;

                graph network(x) -> (y, z)
                {
                    x = tract_core_external(shape = [1, {{cols}}], datum_type = '{{dtype}}');
                    fresh = variable<scalar>(label = 'fresh', shape = [{{rows}}, {{cols}}]);
                    relaid = variable(label = 'relaid', shape = [{{rows}}, {{cols}}]);
                    y = linear(x, fresh, 0.0);
                    z = linear(x, relaid, 0.0);
                }

                """);
        }

        File.Copy(Golden.File("q40", id + ".tract-0.21.13.dat"), Path.Combine(dir, "relaid.dat"));
        (int code, string stdout, string stderr) = Run("compress", "-i", dir, "-o", tmp.File("out"), "-c", "min_max_q4_0", "--tract-version", "0.21.10");
        Assert.True(code == 0, stdout + stderr);
        byte[] legacy = File.ReadAllBytes(Golden.File("q40", id + ".tract-0.21.10.dat"));
        Assert.Equal(0x2040, legacy[0x30] | (legacy[0x31] << 8)); // the golden really is the legacy layout
        foreach (string name in new[] { "fresh", "relaid" })
        {
            byte[] ours = File.ReadAllBytes(Path.Combine(tmp.File("out"), name + ".dat"));
            Assert.True(legacy.AsSpan().SequenceEqual(ours), $"{id}: {name}.dat differs from the golden tract-0.21.10 .dat");
        }
    }

    [Theory]
    [InlineData(new[] { "compress", "-o", "x", "-c", "min_max_q4_0" }, "option '--input' is required")]
    [InlineData(new[] { "compress", "-i", "x", "-c", "min_max_q4_0" }, "option '--output' is required")]
    [InlineData(new[] { "compress", "-i", "x", "-o", "y" }, "option '--compression' is required")]
    [InlineData(new[] { "compress", "-i", "x", "-o", "y", "-c", "nope" }, "unknown compression method 'nope'")]
    [InlineData(new[] { "compress", "-i", "x", "-o", "x", "-c", "min_max_q4_0" }, "is the input x of this run")]
    [InlineData(new[] { "compress", "-i", "x", "-o", "y", "-c", "min_max_q4_0", "--tract-version", "abc" }, "not a tract version")]
    [InlineData(new[] { "compress", "-i", "x", "-o", "y", "-c", "min_max_q4_0", "--compression-level", "12" }, "0 to 9")]
    [InlineData(new[] { "compress", "-i", "x", "-o", "y", "-c", "min_max_q4_0", "--bogus" }, "unknown option")]
    public void BadUsageIsExitCode2WithTheReason(string[] args, string message)
    {
        (int code, _, string stderr) = Run(args);
        Assert.Equal(2, code);
        Assert.Contains(message, stderr);
    }

    [Fact]
    public void ABadInputIsExitCode3AndLeavesNoOutput()
    {
        using var tmp = new TempDir();
        File.WriteAllText(tmp.File("broken.nnef.tgz"), "not an archive");
        (int code, _, string stderr) = Run("compress", "-i", tmp.File("broken.nnef.tgz"), "-o", tmp.File("o.nnef.tgz"), "-c", "min_max_q4_0");
        Assert.Equal(CliApp.InputError, code);
        Assert.Contains("broken.nnef.tgz", stderr);
        Assert.Equal(["broken.nnef.tgz"], Directory.EnumerateFileSystemEntries(tmp.Path).Select(Path.GetFileName));
    }

    [Fact]
    public void AnExistingOutputIsKeptUnlessOverwriteIsGivenAndItIsAnNnefArchive()
    {
        using var tmp = new TempDir();
        string output = tmp.File("o.nnef.tgz");
        File.WriteAllText(output, "keep me");
        string input = Golden.File("export_cnn_f32", "model.nnef.tgz");
        (int code, _, string stderr) = Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0");
        Assert.Equal(2, code);
        Assert.Contains("use --overwrite", stderr);
        (code, _, stderr) = Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0", "--overwrite");
        Assert.Equal(2, code);
        Assert.Contains("is not an NNEF archive", stderr);
        Assert.Equal("keep me", File.ReadAllText(output));

        File.Copy(input, output, overwrite: true);
        Assert.Equal(0, Run("compress", "-i", input, "-o", output, "-c", "min_max_q4_0", "--overwrite").Code);
        Assert.Equal(DType.Q40, NnefArchive.Read(output).Variables["fc1_weight"].DType);
    }
}
