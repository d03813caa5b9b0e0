using System.Text.Json;
using System.Text.Json.Serialization;

namespace TorchToNnef.Formats.HuggingFace;

/// <summary>
/// The fields of a Hugging Face <c>config.json</c> a decoder export reads, as written (every field optional; other
/// fields are ignored). Validated and resolved into <see cref="DecoderConfig"/>.
/// </summary>
internal sealed class HfConfigJson
{
    [JsonPropertyName("model_type")]
    public string? ModelType { get; set; }

    [JsonPropertyName("architectures")]
    public string[]? Architectures { get; set; }

    [JsonPropertyName("hidden_size")]
    public long? HiddenSize { get; set; }

    [JsonPropertyName("intermediate_size")]
    public long? IntermediateSize { get; set; }

    [JsonPropertyName("num_hidden_layers")]
    public long? NumHiddenLayers { get; set; }

    [JsonPropertyName("num_attention_heads")]
    public long? NumAttentionHeads { get; set; }

    [JsonPropertyName("num_key_value_heads")]
    public long? NumKeyValueHeads { get; set; }

    [JsonPropertyName("head_dim")]
    public long? HeadDim { get; set; }

    [JsonPropertyName("vocab_size")]
    public long? VocabSize { get; set; }

    [JsonPropertyName("max_position_embeddings")]
    public long? MaxPositionEmbeddings { get; set; }

    [JsonPropertyName("tie_word_embeddings")]
    public bool? TieWordEmbeddings { get; set; }

    [JsonPropertyName("rms_norm_eps")]
    public double? RmsNormEps { get; set; }

    [JsonPropertyName("hidden_act")]
    public string? HiddenAct { get; set; }

    [JsonPropertyName("attention_bias")]
    public bool? AttentionBias { get; set; }

    [JsonPropertyName("mlp_bias")]
    public bool? MlpBias { get; set; }

    [JsonPropertyName("rope_theta")]
    public double? RopeTheta { get; set; }

    [JsonPropertyName("rope_scaling")]
    public HfRopeJson? RopeScaling { get; set; }

    [JsonPropertyName("rope_parameters")]
    public HfRopeJson? RopeParameters { get; set; }

    [JsonPropertyName("partial_rotary_factor")]
    public double? PartialRotaryFactor { get; set; }

    [JsonPropertyName("sliding_window")]
    public long? SlidingWindow { get; set; }

    [JsonPropertyName("use_sliding_window")]
    public bool? UseSlidingWindow { get; set; }

    [JsonPropertyName("layer_types")]
    public string[]? LayerTypes { get; set; }

    [JsonPropertyName("torch_dtype")]
    public string? TorchDtype { get; set; }

    [JsonPropertyName("dtype")]
    public string? Dtype { get; set; }
}

/// <summary>
/// A rotary settings object: transformers 4's <c>rope_scaling</c> (<c>type</c> or <c>rope_type</c>, theta given
/// apart) or transformers 5's <c>rope_parameters</c> (theta inside). Keys not listed land in <see cref="Other"/> so
/// that a setting we do not implement is reported instead of ignored.
/// </summary>
internal sealed class HfRopeJson
{
    [JsonPropertyName("rope_type")]
    public string? RopeType { get; set; }

    [JsonPropertyName("type")]
    public string? Type { get; set; }

    [JsonPropertyName("rope_theta")]
    public double? RopeTheta { get; set; }

    [JsonPropertyName("factor")]
    public double? Factor { get; set; }

    [JsonPropertyName("low_freq_factor")]
    public double? LowFreqFactor { get; set; }

    [JsonPropertyName("high_freq_factor")]
    public double? HighFreqFactor { get; set; }

    [JsonPropertyName("original_max_position_embeddings")]
    public long? OriginalMaxPositionEmbeddings { get; set; }

    [JsonPropertyName("partial_rotary_factor")]
    public double? PartialRotaryFactor { get; set; }

    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Other { get; set; }
}

/// <summary>Source-generated (reflection-free, AOT-safe) JSON metadata for the Hugging Face files we read.</summary>
[JsonSourceGenerationOptions(ReadCommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = false, MaxDepth = 64)]
[JsonSerializable(typeof(HfConfigJson))]
internal sealed partial class HfJsonContext : JsonSerializerContext;
