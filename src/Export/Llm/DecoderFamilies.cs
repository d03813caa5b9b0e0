using TorchToNnef.Errors;
using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Export.Llm;

/// <summary>
/// The decoder families the exporter knows, one row each (transformers' modeling files are the source of each
/// row's facts). Adding a family that shares the Llama skeleton is adding a row here.
/// </summary>
public static class DecoderFamilies
{
    /// <summary>All known families, by <c>model_type</c>.</summary>
    public static readonly IReadOnlyList<DecoderFamily> All =
    [
        // LlamaAttention: bias=config.attention_bias on q/k/v/o; LlamaMLP: bias=config.mlp_bias.
        new() { ModelType = "llama", QkvBias = c => c.AttentionBias, OutputBias = c => c.AttentionBias, MlpBias = c => c.MlpBias },

        // Mistral: Llama without biases (its config has no attention_bias/mlp_bias), sliding window from the config.
        new() { ModelType = "mistral" },

        // Qwen2Attention: q/k/v always biased, o_proj never.
        new() { ModelType = "qwen2", QkvBias = _ => true },

        // Qwen3Attention: per-head RMS norms on q and k; bias=config.attention_bias on q/k/v/o.
        new()
        {
            ModelType = "qwen3",
            QkNorms = ("self_attn.q_norm", "self_attn.k_norm"),
            QkvBias = c => c.AttentionBias,
            OutputBias = c => c.AttentionBias,
        },

        // Phi3: fused qkv_proj ([q; k; v] rows) and gate_up_proj ([gate; up] rows), no biases.
        new()
        {
            ModelType = "phi3",
            QkvProjections = ["self_attn.qkv_proj"],
            GateUpProjections = ["mlp.gate_up_proj"],
            DefaultRmsNormEps = 1e-5,
        },
    ];

    /// <summary>The family of <paramref name="config"/>.</summary>
    /// <exception cref="UnsupportedFeatureException">Unknown <c>model_type</c> (the message lists the known ones).</exception>
    public static DecoderFamily For(DecoderConfig config) =>
        All.FirstOrDefault(f => f.ModelType == config.ModelType)
        ?? throw new UnsupportedFeatureException(config.Path, null,
            $"model_type '{config.ModelType}' is not supported (supported: {string.Join(", ", All.Select(f => f.ModelType))})");
}
