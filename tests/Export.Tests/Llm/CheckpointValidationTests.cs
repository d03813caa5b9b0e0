using System.Text.Json;
using System.Text.Json.Nodes;
using TorchToNnef.Errors;
using TorchToNnef.Export.Llm;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>Checkpoints that do not fit their config, and configs the exporter does not implement, are errors before anything is written.</summary>
public class CheckpointValidationTests
{
    [Theory]
    [InlineData("llama")]
    [InlineData("llama_tied")]
    [InlineData("qwen2")]
    [InlineData("phi3")]
    [InlineData("qwen3")]
    [InlineData("llama32")]
    public void EveryGoldenCheckpointMatchesItsFamilyTable(string model)
    {
        using LlmCheckpoint c = LlmCheckpoint.OpenDirectory(GoldenCheckpoints.Dir(model));
        using JsonDocument reference = JsonDocument.Parse(File.ReadAllText(Golden.File("llm", model, "reference", "reference.json")));
        Assert.Equal(reference.RootElement.GetProperty("n_params").GetInt64(), c.Summary.ParameterCount);
        Assert.Equal(DType.F32, c.Summary.MainWeightDType);
        Assert.Equal(c.Architecture.Tensors.Count, c.Weights.Entries.Count);
        Assert.Equal(model is "llama_tied" or "llama32", c.Architecture.TiedEmbeddings);
    }

    [Fact]
    public void FamilyRowsDescribeTheirVariants()
    {
        Dictionary<string, ExpectedTensor> Tensors(string model)
        {
            using LlmCheckpoint c = LlmCheckpoint.OpenDirectory(GoldenCheckpoints.Dir(model));
            return c.Architecture.Tensors.ToDictionary(t => t.Name);
        }

        Assert.Equal([32L], Tensors("qwen2")["model.layers.1.self_attn.v_proj.bias"].Shape);
        Assert.DoesNotContain("model.layers.0.self_attn.o_proj.bias", Tensors("qwen2").Keys);
        Assert.Equal([16L], Tensors("qwen3")["model.layers.0.self_attn.k_norm.weight"].Shape);
        Assert.Equal([128L, 64], Tensors("phi3")["model.layers.0.self_attn.qkv_proj.weight"].Shape);
        Assert.Equal([256L, 64], Tensors("phi3")["model.layers.0.mlp.gate_up_proj.weight"].Shape);
        Assert.DoesNotContain("lm_head.weight", Tensors("llama_tied").Keys);

        using LlmCheckpoint phi3 = LlmCheckpoint.OpenDirectory(GoldenCheckpoints.Dir("phi3"));
        DecoderLayerWeights layer = phi3.Architecture.Layers[0];
        Assert.Equal((0, 64, 64, 32, 96, 32), (layer.Query.Offset, layer.Query.Size, layer.Key.Offset, layer.Key.Size, layer.Value.Offset, layer.Value.Size));
        Assert.Equal((0, 128, 128, 128), (layer.Gate.Offset, layer.Gate.Size, layer.Up.Offset, layer.Up.Size));
        Assert.Single(layer.QkvLinears);
    }

    [Fact]
    public void MissingMisshapenNonFloatAndUnexpectedTensorsAreAllListed()
    {
        using var dir = new TempDir();
        string path = Rewrite("llama", dir.File("m"), tensors =>
        {
            tensors.Remove("model.layers.1.mlp.up_proj.weight");
            tensors["model.layers.0.self_attn.k_proj.weight"] = Tensor.Allocate(DType.F32, new Shape(64, 64));
            tensors["model.norm.weight"] = Tensor.Allocate(DType.I32, new Shape(64));
            tensors["model.layers.0.self_attn.q_proj.bias"] = Tensor.Allocate(DType.F32, new Shape(64));
        });
        var e = Assert.Throws<InvalidInputFileException>(() => LlmCheckpoint.OpenDirectory(path));
        Assert.Contains("tensor 'model.layers.1.mlp.up_proj.weight' is missing (expected shape [128, 64])", e.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'model.layers.0.self_attn.k_proj.weight' has shape [64, 64], the config implies [32, 64]", e.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'model.norm.weight' is i32; weights must be f32, f16 or bf16", e.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'model.layers.0.self_attn.q_proj.bias' is not part of a llama model", e.Message, StringComparison.Ordinal);
        Assert.StartsWith(Path.Combine(path), e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfigWithMoreLayersThanTheWeightsIsAnError()
    {
        using var dir = new TempDir();
        string path = GoldenCheckpoints.CopyWithConfig("llama", dir.File("m"), c => c["num_hidden_layers"] = 3);
        var e = Assert.Throws<InvalidInputFileException>(() => LlmCheckpoint.OpenDirectory(path));
        Assert.Contains("tensor 'model.layers.2.input_layernorm.weight' is missing", e.Message, StringComparison.Ordinal);
        Assert.Contains("tensor 'model.layers.2.mlp.down_proj.weight' is missing", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RotaryBuffersAndALmHeadSavedBesideTiedEmbeddingsAreIgnored()
    {
        using var dir = new TempDir();
        string path = Rewrite("llama_tied", dir.File("m"), tensors =>
        {
            tensors["model.layers.0.self_attn.rotary_emb.inv_freq"] = Tensor.Allocate(DType.F32, new Shape(8));
            tensors["lm_head.weight"] = Tensor.Allocate(DType.F32, new Shape(512, 64));
        });
        using LlmCheckpoint c = LlmCheckpoint.OpenDirectory(path);
        Assert.Equal("model.embed_tokens.weight", c.Architecture.LmHead);
    }

    [Theory]
    [InlineData("model_type", "\"gpt2\"", "model_type 'gpt2' is not supported (supported: llama, mistral, qwen2, qwen3, phi3)")]
    [InlineData("hidden_act", "\"gelu\"", "hidden_act 'gelu' is not supported")]
    [InlineData("partial_rotary_factor", "0.5", "partial_rotary_factor 0.5 is not supported")]
    [InlineData("rope_parameters", "{\"rope_type\": \"yarn\", \"rope_theta\": 10000.0, \"factor\": 4.0}", "type 'yarn' is not supported")]
    public void UnsupportedConfigsAreErrors(string field, string value, string message)
    {
        using var dir = new TempDir();
        string path = GoldenCheckpoints.CopyWithConfig("llama", dir.File("m"), c => c[field] = JsonNode.Parse(value));
        var e = Assert.Throws<UnsupportedFeatureException>(() => LlmCheckpoint.OpenDirectory(path));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
        Assert.Contains("config.json", e.Message, StringComparison.Ordinal);
    }

    /// <summary>Copies a golden checkpoint with its tensors edited (the dictionary's tensors are written in any order).</summary>
    internal static string Rewrite(string model, string target, Action<Dictionary<string, Tensor>> edit)
    {
        GoldenCheckpoints.CopyWithConfig(model, target, _ => { });
        string file = Path.Combine(target, "model.safetensors");
        Dictionary<string, Tensor> tensors;
        using (var source = SafetensorsCheckpoint.Open(GoldenCheckpoints.Dir(model)))
        {
            tensors = source.Entries.ToDictionary(e => e.Name, e => source.GetTensor(e.Name).Clone());
        }

        edit(tensors);
        SafetensorsWriter.Write(file, tensors.Select(kv => (kv.Key, kv.Value)));
        foreach (Tensor t in tensors.Values)
        {
            t.Dispose();
        }

        return target;
    }
}
