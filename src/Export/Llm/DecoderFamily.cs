using TorchToNnef.Formats.HuggingFace;

namespace TorchToNnef.Export.Llm;

/// <summary>
/// How one Hugging Face decoder family (<c>model_type</c>) lays out its weights and which variant of each block it
/// uses: tensor names, which projections are fused, biases, extra norms, activation. Every family shares the
/// Llama skeleton (pre-norm residual blocks, RMS norm, rotary attention with grouped KV heads, gated MLP), so a
/// family is a small record in <see cref="DecoderFamilies"/>; <see cref="DecoderArchitecture"/> turns it and a
/// config into the exact tensors to expect.
/// </summary>
public sealed record DecoderFamily
{
    /// <summary>The <c>model_type</c> this describes.</summary>
    public required string ModelType { get; init; }

    /// <summary>Token embedding table <c>[vocab, hidden]</c>.</summary>
    public string Embedding { get; init; } = "model.embed_tokens.weight";

    /// <summary>Final RMS norm weight <c>[hidden]</c>.</summary>
    public string FinalNorm { get; init; } = "model.norm.weight";

    /// <summary>Output projection <c>[vocab, hidden]</c> (absent when embeddings are tied).</summary>
    public string LmHead { get; init; } = "lm_head.weight";

    /// <summary>Prefix of layer <c>{0}</c>'s tensors.</summary>
    public string LayerPrefix { get; init; } = "model.layers.{0}.";

    /// <summary>RMS norm before attention (module name inside the layer).</summary>
    public string AttentionNorm { get; init; } = "input_layernorm";

    /// <summary>RMS norm before the MLP (module name inside the layer).</summary>
    public string MlpNorm { get; init; } = "post_attention_layernorm";

    /// <summary>
    /// Query/key/value projection modules: three names (q, k, v), or one name for a fused projection whose output
    /// rows are q, then k, then v.
    /// </summary>
    public IReadOnlyList<string> QkvProjections { get; init; } = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj"];

    /// <summary>Attention output projection module.</summary>
    public string OutputProjection { get; init; } = "self_attn.o_proj";

    /// <summary>
    /// Gate/up projection modules: two names (gate, up), or one name for a fused projection whose output rows are
    /// gate then up.
    /// </summary>
    public IReadOnlyList<string> GateUpProjections { get; init; } = ["mlp.gate_proj", "mlp.up_proj"];

    /// <summary>MLP down projection module.</summary>
    public string DownProjection { get; init; } = "mlp.down_proj";

    /// <summary>Per-head RMS norms on queries and keys before rotary (Qwen 3), or null.</summary>
    public (string Query, string Key)? QkNorms { get; init; }

    /// <summary>Whether q/k/v projections have biases, given the config.</summary>
    public Func<DecoderConfig, bool> QkvBias { get; init; } = _ => false;

    /// <summary>Whether the attention output projection has a bias.</summary>
    public Func<DecoderConfig, bool> OutputBias { get; init; } = _ => false;

    /// <summary>Whether gate/up/down projections have biases.</summary>
    public Func<DecoderConfig, bool> MlpBias { get; init; } = _ => false;

    /// <summary><c>hidden_act</c> values the gated MLP accepts (all mean SiLU).</summary>
    public IReadOnlyList<string> Activations { get; init; } = ["silu", "swish"];

    /// <summary><c>rms_norm_eps</c> when the config omits it (the family's transformers default).</summary>
    public double DefaultRmsNormEps { get; init; } = 1e-6;

    /// <summary>Checkpoint tensors that carry nothing the model needs (buffers older exports saved), by name suffix.</summary>
    public IReadOnlyList<string> IgnoredSuffixes { get; init; } = [".rotary_emb.inv_freq"];
}
