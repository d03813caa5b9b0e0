using System.Text.Json.Nodes;
using TorchToNnef.Export.Llm;
using TorchToNnef.Formats.HuggingFace;
using TorchToNnef.Tensors;
using TorchToNnef.TestSupport;

namespace TorchToNnef.Export.Tests.Llm;

/// <summary>Small synthetic checkpoints of every family, with shapes the goldens do not cover.</summary>
internal static class SyntheticModels
{
    /// <summary>
    /// A config of <paramref name="modelType"/>: hidden 48, 3 layers, 6 query heads of dimension 12 over 2 KV heads
    /// (head_dim differs from hidden/heads = 8), MLP 40, vocabulary 96.
    /// </summary>
    public static JsonObject Config(string modelType) => new()
    {
        ["model_type"] = modelType,
        ["hidden_size"] = 48,
        ["intermediate_size"] = 40,
        ["num_hidden_layers"] = 3,
        ["num_attention_heads"] = 6,
        ["num_key_value_heads"] = 2,
        ["head_dim"] = 12,
        ["vocab_size"] = 96,
        ["max_position_embeddings"] = 64,
        ["rms_norm_eps"] = 1e-5,
        ["rope_theta"] = 1000.0,
        ["tie_word_embeddings"] = false,
    };

    /// <summary>Writes a checkpoint for <paramref name="config"/> into <paramref name="directory"/> and returns it.</summary>
    public static string Write(string directory, JsonObject config, DType dtype = DType.F32, int shards = 1, ulong seed = 1)
    {
        Directory.CreateDirectory(directory);
        string configPath = Path.Combine(directory, "config.json");
        string json = config.ToJsonString();
        File.WriteAllText(configPath, json);
        DecoderArchitecture arch = DecoderArchitecture.Resolve(DecoderConfig.Read(configPath));
        SyntheticCheckpoint.Write(directory, json, arch.Tensors.Select(t => (t.Name, t.Shape)).ToList(), dtype, shards, seed);
        return directory;
    }
}
