using System.Text;
using TorchToNnef.Formats.Safetensors;
using TorchToNnef.Ir;
using TorchToNnef.Tensors;

namespace TorchToNnef.SampleGen;

/// <summary>
/// A tiny Llama-family checkpoint in Hugging Face layout (hidden 64, 2 layers, 4 heads, 2 KV heads, vocab 256,
/// f32) with deterministic pseudo-random weights, small enough to ship in the repository (about 430 KB).
/// Values use only exact arithmetic on a SplitMix64 stream, so every machine produces the same bytes.
/// </summary>
public static class TinyLlamaSample
{
    /// <summary>Hidden size.</summary>
    public const int Hidden = 64;

    /// <summary>Decoder layers.</summary>
    public const int Layers = 2;

    /// <summary>Attention heads.</summary>
    public const int Heads = 4;

    /// <summary>Key/value heads (grouped-query attention).</summary>
    public const int KvHeads = 2;

    /// <summary>MLP inner size.</summary>
    public const int Intermediate = 128;

    /// <summary>Vocabulary size.</summary>
    public const int Vocab = 256;

    private const ulong Seed = 20_240_601;

    /// <summary>Writes <c>config.json</c> and <c>model.safetensors</c> into <paramref name="directory"/>.</summary>
    public static void Generate(string directory)
    {
        Directory.CreateDirectory(directory);
        File.WriteAllText(Path.Combine(directory, "config.json"), ConfigJson, new UTF8Encoding(false));
        var metadata = new Dictionary<string, string> { ["format"] = "pt" };
        SafetensorsWriter.Write(Path.Combine(directory, "model.safetensors"), Tensors(), metadata);
    }

    /// <summary>The tensors with their Hugging Face names, each produced on demand.</summary>
    public static IEnumerable<(string Name, TensorSource Source)> Tensors()
    {
        int headDim = Hidden / Heads;
        yield return Weight("model.embed_tokens.weight", Vocab, Hidden);
        for (int i = 0; i < Layers; i++)
        {
            string p = $"model.layers.{i}.";
            yield return Norm(p + "input_layernorm.weight");
            yield return Weight(p + "self_attn.q_proj.weight", Heads * headDim, Hidden);
            yield return Weight(p + "self_attn.k_proj.weight", KvHeads * headDim, Hidden);
            yield return Weight(p + "self_attn.v_proj.weight", KvHeads * headDim, Hidden);
            yield return Weight(p + "self_attn.o_proj.weight", Hidden, Heads * headDim);
            yield return Norm(p + "post_attention_layernorm.weight");
            yield return Weight(p + "mlp.gate_proj.weight", Intermediate, Hidden);
            yield return Weight(p + "mlp.up_proj.weight", Intermediate, Hidden);
            yield return Weight(p + "mlp.down_proj.weight", Hidden, Intermediate);
        }

        yield return Norm("model.norm.weight");
        yield return Weight("lm_head.weight", Vocab, Hidden);
    }

    /// <summary>The model configuration, as transformers writes it for a LlamaForCausalLM.</summary>
    public static string ConfigJson => """
        {
          "architectures": [
            "LlamaForCausalLM"
          ],
          "attention_bias": false,
          "attention_dropout": 0.0,
          "bos_token_id": 1,
          "eos_token_id": 2,
          "head_dim": 16,
          "hidden_act": "silu",
          "hidden_size": 64,
          "initializer_range": 0.02,
          "intermediate_size": 128,
          "max_position_embeddings": 256,
          "mlp_bias": false,
          "model_type": "llama",
          "num_attention_heads": 4,
          "num_hidden_layers": 2,
          "num_key_value_heads": 2,
          "pretraining_tp": 1,
          "rms_norm_eps": 1e-05,
          "rope_scaling": null,
          "rope_theta": 10000.0,
          "tie_word_embeddings": false,
          "torch_dtype": "float32",
          "transformers_version": "4.46.0",
          "use_cache": true,
          "vocab_size": 256
        }

        """;

    // Linear and embedding weights: uniform in [-0.0625, 0.0625) (a power of two, so scaling is exact).
    private static (string, TensorSource) Weight(string name, int rows, int cols) =>
        (name, Source(name, Shape.Of(rows, cols), u => (float)((u - 0.5) * 0.125)));

    // RMSNorm weights: 1 + uniform in [-0.125, 0.125), so an exporter cannot fold them away as ones.
    private static (string, TensorSource) Norm(string name) =>
        (name, Source(name, Shape.Of(Hidden), u => (float)(1 + (u - 0.5) * 0.25)));

    private static TensorSource Source(string name, Shape shape, Func<double, float> map) =>
        TensorSource.Computed(DType.F32, shape, () =>
        {
            // Each tensor has its own stream, seeded from its name, so adding a tensor changes no other.
            ulong state = Seed ^ Fnv1a(name);
            var values = new float[shape.ElementCount];
            for (int i = 0; i < values.Length; i++)
            {
                values[i] = map((SplitMix64(ref state) >> 11) * (1.0 / (1UL << 53)));
            }

            return Tensor.FromFloats(shape, values);
        });

    private static ulong SplitMix64(ref ulong state)
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private static ulong Fnv1a(string s)
    {
        ulong h = 0xCBF29CE484222325UL;
        foreach (byte b in Encoding.UTF8.GetBytes(s))
        {
            h = (h ^ b) * 0x100000001B3UL;
        }

        return h;
    }
}
