using TorchToNnef.Export.Compression;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Ir;
using TorchToNnef.Quant.Registry;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Compression;

public class GraphCompressorGoldenTests
{
    [Fact]
    public void CnnWithMinMaxAllGivesTheReferenceQ40FilesAndGraph()
    {
        Graph f32 = NnefArchive.Read(Golden.File("export_cnn_f32", "model.nnef.tgz"));
        CompressionResult r = GraphCompressor.Compress(f32, CompressionRegistry.Default.Get("min_max_q4_0_all"));

        Assert.Equal(["conv2.weight", "fc1.weight", "fc2.weight"], r.Quantized.Select(q => q.Label).Order());
        // conv1 has 3*3*3 = 27 values per output channel: not a multiple of 32 (torch_to_nnef refuses it too).
        SkippedWeight conv1 = Assert.Single(r.Skipped);
        Assert.Equal("conv1.weight", conv1.Label);
        Assert.Contains("27", conv1.Reason);
        Assert.Equal([WeightKind.Conv2d], r.Quantized.Single(q => q.Label == "conv2.weight").Kinds);

        using var tmp = new TempDir();
        NnefArchive.Write(r.Graph, tmp.File("out"));
        string golden = Golden.File("export_cnn_q40", "nnef");
        string[] goldenDats = [.. Directory.EnumerateFiles(golden, "*.dat").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(GoldenManifest.FilesEndingWith(".dat", "export_cnn_q40/nnef").Select(Path.GetFileName), goldenDats);
        Assert.Equal(goldenDats, Directory.EnumerateFiles(tmp.File("out"), "*.dat").Select(Path.GetFileName).Order(StringComparer.Ordinal));
        foreach (string dat in Directory.EnumerateFiles(golden, "*.dat"))
        {
            string name = Path.GetFileName(dat);
            Assert.True(File.ReadAllBytes(dat).AsSpan().SequenceEqual(File.ReadAllBytes(Path.Combine(tmp.File("out"), name))), name);
        }

        // The only graph change torch_to_nnef makes for this model is dropping '<scalar>' on the Q4_0 variables.
        // Byte for byte, blank lines included.
        Assert.Equal(File.ReadAllText(Path.Combine(golden, "graph.nnef")), File.ReadAllText(Path.Combine(tmp.File("out"), "graph.nnef")));
        // The input graph is untouched.
        Assert.Equal(DType.F32, f32.Variables["fc1_weight"].DType);
        Assert.Equal("scalar", f32.FindProducer("fc1_weight")!.Generic);
    }

    public static TheoryData<string> Llms => ["llama", "llama_tied", "llama32", "phi3", "qwen2", "qwen3"];

    [Theory]
    [MemberData(nameof(Llms))]
    public void LlmF32WithEmbeddingsGivesTheReferenceQ40Files(string model)
    {
        string f32Path = Golden.File("llm", model, "export_f32", "model", "model.nnef.tgz");
        string goldenDir = Golden.File("llm", model, "export_min_max_q4_0_with_embeddings", "model", "nnef");
        Graph f32 = NnefArchive.Read(f32Path);
        Graph reference = NnefArchive.Read(goldenDir);
        CompressionResult r = GraphCompressor.Compress(f32, CompressionRegistry.Default.Get("min_max_q4_0_with_embeddings"));
        Assert.Empty(r.Skipped);

        using var tmp = new TempDir();
        string outDir = tmp.File("out");
        NnefArchive.Write(r.Graph, outDir);
        Graph ours = NnefArchive.Read(outDir);

        // torch_to_nnef names a tied weight after one of its modules, picked from an unordered set, so the f32 export
        // of llama_tied calls the table 'model.lm_head.weight' and the compressed one 'model.model.embed_tokens.weight'.
        string Canonical(string label) =>
            model == "llama_tied" && label == "model.lm_head.weight" ? "model.model.embed_tokens.weight" : label;

        var refByLabel = reference.Variables.Values.ToDictionary(v => Canonical(v.Label));
        Assert.Equal(refByLabel.Keys.Order(), ours.Variables.Values.Select(v => Canonical(v.Label)).Order());
        int q40 = 0;
        foreach (Variable v in ours.Variables.Values)
        {
            Variable expected = refByLabel[Canonical(v.Label)];
            Assert.Equal(expected.DType, v.DType);
            Assert.Equal(expected.Shape, v.Shape);
            Assert.True(GraphAssert.SameBytes(expected.Source, v.Source), $"{model}: {v.Label} differs from the reference");
            q40 += v.DType == DType.Q40 ? 1 : 0;
        }

        Assert.Equal(reference.Variables.Values.Count(v => v.DType == DType.Q40), q40);
        Assert.Equal(q40, r.Quantized.Count);

        // Graph changes: Q4_0 variables lose their generic, the embedding gather gets datum_type = 'f32'.
        Assert.All(ours.Nodes.Where(n => n.Op == Graph.VariableOp), n => Assert.Equal(ours.Variables[n.Name].DType == DType.Q40 ? null : "scalar", n.Generic));
        Node gather = ours.Nodes.Single(n => n.Op == "tract_core_gather");
        Assert.Equal(Arg.String("f32"), gather.GetAttribute("datum_type"));
        Assert.Equal(reference.Nodes.Count, ours.Nodes.Count);
        Assert.Equal(
            reference.Nodes.GroupBy(n => n.Op).ToDictionary(g => g.Key, g => g.Count()),
            ours.Nodes.GroupBy(n => n.Op).ToDictionary(g => g.Key, g => g.Count()));
    }
}
