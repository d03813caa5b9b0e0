using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Llm;
using TorchToNnef.Export.Llm.Exporting;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;
using Xunit.Abstractions;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>
/// <see cref="LlmExporter"/> end to end on the golden checkpoints: the export folder has the reference tool's files
/// and properties, its default verification passes for f32, Q4_0 and f16 exports, and a failure leaves nothing behind.
/// </summary>
public class LlmExporterTests(ITestOutputHelper log)
{
    // Properties describing the machine, the moment or the Python environment of an export, not the model.
    private static readonly HashSet<string> EnvironmentKeys =
        ["torch_to_nnef_version", "torch_version", "transformers_version", "py_version", "os", "hostname", "user", "export_date", "export_cmd", "exporter", "name_or_path"];

    [Theory]
    [InlineData("llama", "export_f32", null, null, false)]
    [InlineData("llama_tied", "export_min_max_q4_0_with_embeddings", null, "min_max_q4_0_with_embeddings", false)]
    [InlineData("qwen2", "export_f16_f32attn_min_max_q4_0_all", "f16", "min_max_q4_0_all", true)]
    [InlineData("phi3", "export_f16_f32attn_min_max_q4_0_all", "f16", "min_max_q4_0_all", true)]
    [InlineData("qwen3", "export_min_max_q4_0_with_embeddings", null, "min_max_q4_0_with_embeddings", false)]
    public void ExportHasTheReferenceFilesPropertiesAndPassesItsVerification(string model, string golden, string? dtype, string? method, bool f32Attention)
    {
        using var temp = new TempDir();
        string dir = temp.File("export");
        LlmExportResult result = Export(model, Options(dir) with
        {
            ForceDType = dtype == "f16" ? DType.F16 : null,
            ForceF32Attention = f32Attention,
            Compression = method is null ? null : CompressionRegistry.Default.Get(method),
            DumpTokenizerAndConfig = true,
        });

        string reference = Golden.File("llm", model, golden);
        Assert.Equal(Files(reference), Files(dir));
        Assert.Equal(File.ReadAllText(Path.Combine(reference, "modes.json")), File.ReadAllText(Path.Combine(dir, "modes.json")));
        // The checkpoint's own tokenizer file (the reference tool re-serializes it, so bytes may differ from its copy).
        Assert.Equal(File.ReadAllBytes(Golden.File("llm", model, "hf", "tokenizer.json")), File.ReadAllBytes(Path.Combine(dir, "tokenizer", "tokenizer.json")));

        Graph ours = NnefArchive.Read(result.Archive);
        Graph theirs = NnefArchive.Read(Path.Combine(reference, "model", "model.nnef.tgz"));
        Assert.Equal(ModelProperties(theirs), ModelProperties(ours));
        Assert.Equal(theirs.Inputs, ours.Inputs);
        Assert.Equal(theirs.Outputs, ours.Outputs);

        Assert.Equal(4, result.Checks.Count);
        Assert.All(result.Checks, c => Assert.True(c.Passed, c.Mode));
        log.WriteLine($"{model}/{golden}: write {result.WriteTime.TotalMilliseconds:F0} ms, verify {result.VerifyTime.TotalMilliseconds:F0} ms, {result.QuantizedTensors} Q4_0");

        // The tests/*.npz bundles hold what the archive computes: replaying them through the archive passes exactly.
        // The check-io ran its four modes on one evaluator that reuses the previous mode's output storage; a fresh
        // evaluator per mode, whose outputs are new arrays, gives the same bits.
        foreach (string mode in new[] { "prompt", "prompt_with_past", "text_generation", "export" })
        {
            List<NamedTensor> bundle = IoBundle.ReadNpz(Path.Combine(dir, "tests", mode + "_io.npz"));
            Assert.Equal(Names(reference, mode), bundle.Select(t => t.Name));
            Assert.True(GraphVerifier.Verify(ours, bundle, Approximation.Close).Passed, mode);
            var fresh = new GraphEvaluator(ours, new EvaluationOptions { ReuseOutputStorage = false });
            IReadOnlyList<NamedTensor> replayed = fresh.Run([.. bundle.Where(t => ours.Inputs.Contains(t.Name))]);
            foreach (NamedTensor output in replayed)
            {
                float[] written = bundle.Single(t => t.Name == output.Name).Value.ToFloats();
                Assert.Equal(written.Select(BitConverter.SingleToInt32Bits), output.Value.ToFloats().Select(BitConverter.SingleToInt32Bits));
            }
        }
    }

    [Fact]
    public void Llama32ExportsInF16AndPassesItsVerification()
    {
        // The reference tool cannot export it in f16 (its rotary frequencies become NaN).
        using var temp = new TempDir();
        LlmExportResult result = Export("llama32", Options(temp.File("export")) with
        {
            ForceDType = DType.F16,
            ForceF32Attention = true,
            Compression = CompressionRegistry.Default.Get("min_max_q4_0_all"),
        });
        Assert.All(result.Checks, c => Assert.True(c.Passed, c.Mode));
        Assert.All(result.Checks.SelectMany(c => c.Outputs), o => Assert.Equal("F16", o.ComparedAs.ToString()));
    }

    [Fact]
    public void FlatLayoutPutsTheArchiveAndTokenizerAtTheTop()
    {
        using var temp = new TempDir();
        string dir = temp.File("export");
        Export("llama", Options(dir) with { DirStruct = LlmExportDirStruct.Flat, DumpTokenizerAndConfig = true, Verify = false });
        Assert.Equal(
            ["config.json", "model.nnef.tgz", "modes.json", "tokenizer.json", "tokenizer_config.json"],
            Files(dir));
    }

    /// <summary>
    /// A broken graph fails at the default tolerance of its float type: <c>approximate</c> for f32, and the looser
    /// <c>very</c> of f16 exports (<see cref="LlmExportOptions.DefaultTolerance"/>) still catches it.
    /// </summary>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AMismatchFailsTheExportAndLeavesNothing(bool f16)
    {
        using var temp = new TempDir();
        string dir = temp.File("export");

        // Break the graph on purpose: the first layer's residual loses its attention branch.
        LlmExportOptions options = Options(dir) with
        {
            EditGraph = g => BreakFirstResidual(g),
            ForceDType = f16 ? DType.F16 : null,
            ForceF32Attention = f16,
            Compression = f16 ? CompressionRegistry.Default.Get("min_max_q4_0_all") : null,
        };
        var e = Assert.Throws<LlmVerificationException>(() => Export("llama", options));
        log.WriteLine(e.Message);
        Assert.Contains(f16 ? "at 'very'" : "at 'approximate'", e.Message, StringComparison.Ordinal);
        Assert.Contains("outputs", e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(dir));
        Assert.Empty(Directory.GetFileSystemEntries(temp.Path));
    }

    [Fact]
    public void AnExistingFolderIsKeptUnlessItIsAnExportAndReplacingIsAsked()
    {
        using var temp = new TempDir();
        string dir = temp.File("export");
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "notes.txt"), "mine");
        Assert.Throws<OutputRefusedException>(() => Export("llama", Options(dir) with { ReplaceExisting = true, Verify = false }));
        Assert.Equal("mine", File.ReadAllText(Path.Combine(dir, "notes.txt")));

        Directory.Delete(dir, true);
        Export("llama", Options(dir) with { Verify = false });
        Assert.Throws<OutputRefusedException>(() => Export("llama", Options(dir) with { Verify = false }));
        Export("llama", Options(dir) with { Verify = false, ReplaceExisting = true, DirStruct = LlmExportDirStruct.Flat });
        Assert.True(File.Exists(Path.Combine(dir, "model.nnef.tgz")));
        Assert.False(Directory.Exists(Path.Combine(dir, "model")));
    }

    [Fact]
    public void LogitsToKeepZeroKeepsEveryPosition()
    {
        using var temp = new TempDir();
        LlmExportResult result = Export("qwen2", Options(temp.File("export")) with { NumLogitsToKeep = 0 });
        Assert.All(result.Checks, c => Assert.True(c.Passed, c.Mode));
        List<NamedTensor> prompt = IoBundle.ReadNpz(Path.Combine(result.ExportDirectory, "tests", "prompt_io.npz"));
        Assert.Equal([1, 6, 512], prompt.Single(t => t.Name == "outputs").Value.Shape.ToArray());
    }

    private static LlmExportOptions Options(string dir) => new() { ExportDirectory = dir, IdentityProperties = false };

    private static LlmExportResult Export(string model, LlmExportOptions options)
    {
        using LlmCheckpoint checkpoint = LlmCheckpoint.OpenDirectory(Golden.File("llm", model, "hf"));
        return LlmExporter.Export(checkpoint, options);
    }

    private static string[] Files(string dir) =>
        [.. Directory.GetFiles(dir, "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/'))
            .Where(f => !f.StartsWith("model/nnef/", StringComparison.Ordinal)) // the goldens also hold the archive extracted
            .Order(StringComparer.Ordinal)];

    private static List<KeyValuePair<string, string>> ModelProperties(Graph g) =>
        [.. g.Properties.Where(p => !EnvironmentKeys.Contains(p.Key)).Select(p => KeyValuePair.Create(p.Key, g.GetProperty(p.Key)!))];

    private static IEnumerable<string> Names(string reference, string mode) =>
        IoBundle.ReadNpz(Path.Combine(reference, "tests", mode + "_io.npz")).Select(t => t.Name);

    private static void BreakFirstResidual(Graph g)
    {
        Node residual = g.Nodes.First(n => n.Op == "add" && n.Outputs.Any(o => o.Contains("layer0_attn_residual", StringComparison.Ordinal)));
        residual.Inputs[1] = Arg.Float(0.0);
    }
}
