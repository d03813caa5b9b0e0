using TorchToNnef.Errors;
using TorchToNnef.Export.Evaluation;
using TorchToNnef.Export.Verification;
using TorchToNnef.Formats.Nnef;
using TorchToNnef.Formats.Numpy;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests;

/// <summary>The checks must fail when the reference or the model is wrong.</summary>
public class NegativeControlTests
{
    [Theory]
    [InlineData("export_f32", "outputs", 3e-4f)]
    [InlineData("export_f32", "out_cache_value_1", 5e-4f)]
    [InlineData("export_min_max_q4_0_with_embeddings", "outputs", 3e-4f)]
    [InlineData("export_f16_f32attn_min_max_q4_0_all", "outputs", 2e-2f)]
    public void APerturbedExpectedOutputFails(string export, string output, float delta)
    {
        Graph graph = NnefArchive.Read(Golden.File("llm", "llama", export, "model", "model.nnef.tgz"));
        List<NamedTensor> bundle = [.. GoldenLlmTests.ReadBundle(Golden.File("llm", "llama", export, "tests", "prompt_io.npz"))];
        int index = bundle.FindIndex(t => t.Name == output);
        float[] values = bundle[index].Value.Span<float>().ToArray();
        values[values.Length / 2] += delta;
        bundle[index] = new NamedTensor(output, TensorValue.F32(bundle[index].Value.Shape, values));

        VerificationReport report = GraphVerifier.Verify(graph, bundle, Approximation.Approximate);
        Assert.False(report.Passed);
        OutputComparison failed = Assert.Single(report.Outputs, o => !o.Passed);
        Assert.Equal(output, failed.Name);
        Assert.Equal(1, failed.Outliers);
    }

    [Theory]
    [InlineData("qwen3", "export_f32")]
    [InlineData("qwen3", "export_min_max_q4_0_with_embeddings")]
    [InlineData("llama", "export_f32")]
    public void AnotherExportOfTheSameModelFailsTheF16Q40Bundles(string model, string other)
    {
        // The f16 / Q4_0 bundles tell the model they came from from the same weights exported otherwise (unquantized,
        // or Q4_0 without f16): at `approximate` every mode rejects it (at `very` several outputs would pass).
        Graph graph = NnefArchive.Read(Golden.File("llm", model, other, "model", "model.nnef.tgz"));
        foreach (string mode in new[] { "export", "prompt", "prompt_with_past", "text_generation" })
        {
            IReadOnlyList<NamedTensor> bundle = GoldenLlmTests.ReadBundle(Golden.File("llm", model, "export_f16_f32attn_min_max_q4_0_all", "tests", $"{mode}_io.npz"));
            VerificationReport report = GraphVerifier.Verify(graph, bundle, Approximation.Approximate);
            Assert.False(report.Passed, $"{model}/{other} passes the f16 Q4_0 {mode} bundle");
            Assert.Contains(report.Outputs, o => o.Name == "outputs" && !o.Passed);
        }
    }

    [Fact]
    public void ACorruptedWeightFails()
    {
        Graph graph = NnefArchive.Read(Golden.File("llm", "llama", "export_f32", "model", "model.nnef.tgz"));
        IReadOnlyList<NamedTensor> bundle = GoldenLlmTests.ReadBundle(Golden.File("llm", "llama", "export_f32", "tests", "prompt_io.npz"));
        Assert.True(GraphVerifier.Verify(graph, bundle, Approximation.Approximate).Passed);

        // Flip the sign of one value of the second layer's up projection.
        Variable up = graph.Variables.Values.Single(v => v.Label == "model.model.layers.1.mlp.up_proj.weight");
        using Tensor original = up.Source.Open();
        float[] w = original.ToFloatArray();
        w[7] = -w[7] + 0.05f;
        using Tensor corrupted = Tensor.FromFloats(original.Shape, w);
        up.Source = TensorSource.FromTensor(corrupted);

        VerificationReport report = GraphVerifier.Verify(graph, bundle, Approximation.Approximate);
        Assert.False(report.Passed);
        Assert.Contains(report.Outputs, o => o.Name == "outputs" && !o.Passed);
    }

    [Fact]
    public void ACorruptedQ40BlockFails()
    {
        Graph graph = NnefArchive.Read(Golden.File("export_mlp_q40", "model.nnef.tgz"));
        Variable head = graph.Variables.Values.Single(v => v.Label == "head.weight");
        using Tensor original = head.Source.Open();
        byte[] blocks = original.Bytes.ToArray();
        blocks[2 + 5] ^= 0x33; // two codes of the first block
        using Tensor corrupted = new(original.DType, original.Shape, OwnedTensorData.CopyOf(blocks));
        head.Source = TensorSource.FromTensor(corrupted);
        using Tensor ids = NpyFile.Read(Golden.File("export_mlp_q40", "input_ids.npy"));
        using Tensor logits = NpyFile.Read(Golden.File("export_mlp_q40", "output_logits.npy"));
        VerificationReport report = GraphVerifier.Verify(graph, [new("ids", TensorValue.FromTensor(ids)), new("logits", TensorValue.FromTensor(logits))], Approximation.Approximate);
        Assert.False(report.Passed);
    }

    [Fact]
    public void AMissingReferenceOutputIsAnError()
    {
        Graph graph = NnefArchive.Read(Golden.File("llm", "llama", "export_f32", "model", "model.nnef.tgz"));
        List<NamedTensor> bundle = [.. GoldenLlmTests.ReadBundle(Golden.File("llm", "llama", "export_f32", "tests", "prompt_io.npz"))];
        bundle.RemoveAll(t => t.Name == "out_cache_key_0");
        var e = Assert.Throws<InvalidGraphException>(() => GraphVerifier.Verify(graph, bundle, Approximation.Approximate));
        Assert.Contains("out_cache_key_0", e.Message);
    }

    [Fact]
    public void ABrokenAssertionIsReported()
    {
        // S + P < 256 must hold: a cache of 300 positions is rejected before anything runs.
        Graph graph = NnefArchive.Read(Golden.File("llm", "llama", "export_f32", "model", "model.nnef.tgz"));
        var inputs = new List<NamedTensor> { new("input_ids", TensorValue.Create(DatumType.I64, [1, 1], new long[] { 3 })) };
        foreach (string name in new[] { "in_cache_key_0", "in_cache_value_0", "in_cache_key_1", "in_cache_value_1" })
        {
            inputs.Add(new NamedTensor(name, TensorValue.Zeros(DatumType.F32, [1, 2, 300, 16])));
        }

        var e = Assert.Throws<InvalidGraphException>(() => new GraphEvaluator(graph).Run(inputs));
        Assert.Contains("S+P < 256", e.Message);
    }
}
